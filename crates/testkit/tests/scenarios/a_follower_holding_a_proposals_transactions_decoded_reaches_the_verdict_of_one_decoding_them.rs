use std::sync::Arc;

use groundwork_app::{BlockLimits, PooledTx};
use groundwork_primitives::Amount;
use groundwork_testkit::tamper_signature;

use crate::node;

fn pooled(bytes: &[u8]) -> Arc<PooledTx> {
    Arc::new(PooledTx::decode(bytes.to_vec()).unwrap())
}

/// A follower takes the proposal's transactions it already holds decoded (its mempool's, found
/// by hash) instead of decoding the block's bytes. It must reach the header, results and verdict
/// a follower decoding everything reaches: a held transaction whose bytes are not the block's
/// is ignored, and a forged signature is caught though the transaction arrived decoded.
#[test]
fn a_follower_holding_a_proposals_transactions_decoded_reaches_the_verdict_of_one_decoding_them() {
    let mut leader = node();
    let mut decoding = node();
    let mut holding = node();
    let bob = leader.address(1);
    let carol = leader.address(2);
    let first = leader.transfer(0, bob, Amount(1_000)).unwrap();
    let second = leader.transfer(1, carol, Amount(2_000)).unwrap();
    let other = leader.transfer(2, carol, Amount(3)).unwrap();

    let chosen = leader
        .app_mut()
        .prepare_pooled(&[pooled(&first), pooled(&second)], BlockLimits::default())
        .unwrap();
    assert_eq!(chosen, vec![first.clone(), second]);
    let input = leader.next_block_input(chosen).unwrap();
    let built = leader.app_mut().finalize_block(input).unwrap().clone();

    assert_eq!(
        decoding.app_mut().process_proposal(&built.block).unwrap(),
        Ok(())
    );
    // Held: the first as the block has it; in the second's place, another transaction.
    let known = vec![Some(pooled(&first)), Some(pooled(&other))];
    assert_eq!(
        holding
            .app_mut()
            .process_proposal_with(&built.block, known)
            .unwrap(),
        Ok(())
    );
    let led = leader.app_mut().commit().unwrap();
    assert_eq!(decoding.app_mut().commit().unwrap(), led);
    assert_eq!(holding.app_mut().commit().unwrap(), led);
    assert_eq!(holding.results(1).unwrap(), leader.results(1).unwrap());

    // A forged signature: the leader's own execution records the failure (a leader that
    // skipped admission), and every follower refuses a block carrying it, held decoded or not.
    let forged = tamper_signature(&leader.transfer(0, bob, Amount(5)).unwrap());
    let chosen = leader
        .app_mut()
        .prepare_pooled(&[pooled(&forged)], BlockLimits::default())
        .unwrap();
    let input = leader.next_block_input(chosen).unwrap();
    let built = leader.app_mut().finalize_block(input).unwrap().clone();
    assert_eq!(built.results.tx_results[0].code, 2, "bad signature");
    let refused = decoding.app_mut().process_proposal(&built.block).unwrap();
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        holding
            .app_mut()
            .process_proposal_with(&built.block, vec![Some(pooled(&forged))])
            .unwrap(),
        refused
    );
}
