use std::sync::Arc;

use groundwork_app::{BlockLimits, CheckedTx, PooledTx, SignedTx};
use groundwork_primitives::Amount;
use groundwork_testkit::tamper_signature;

use crate::node;

/// The mempool keeps what admission checked: a transaction whose signature this node's own
/// admission verified is marked so, and its block does not check that signature again. Nothing
/// else gets the mark: a transaction decoded from a proposal, or handed to the mempool checked
/// by other means, has its signature checked by execution, and a forged one still fails
/// however it arrived.
#[test]
fn transactions_a_node_admitted_are_taken_as_verified_in_its_blocks_and_no_others() {
    let mut leader = node();
    let mut follower = node();
    let bob = leader.address(1);
    let good = leader.transfer(0, bob, Amount(1_000)).unwrap();
    let forged = tamper_signature(&leader.transfer(1, bob, Amount(5)).unwrap());

    // Admission marks the one it verified, and refuses the forgery outright.
    let mut checked = leader
        .app()
        .check_txs(&[good.clone(), forged.clone()])
        .unwrap();
    assert!(checked[1].is_err(), "{:?}", checked[1]);
    let admitted = checked.remove(0).unwrap();
    assert!(admitted.signature_verified());
    let admitted = Arc::new(PooledTx::new(good.clone(), admitted).unwrap());
    assert!(admitted.signature_verified());
    assert!(!PooledTx::decode(good.clone()).unwrap().signature_verified());

    // The admitted transaction's block: the same header and results whether a follower holds
    // it as admitted or decodes it.
    let chosen = leader
        .app_mut()
        .prepare_pooled(std::slice::from_ref(&admitted), BlockLimits::default())
        .unwrap();
    assert_eq!(chosen, vec![good.clone()]);
    let input = leader.next_block_input(chosen).unwrap();
    let built = leader.app_mut().finalize_block(input).unwrap().clone();
    assert_eq!(built.results.tx_results[0].code, 0);
    let follower_checked = follower
        .app()
        .check_txs(std::slice::from_ref(&good))
        .unwrap();
    let held = PooledTx::new(good, follower_checked.into_iter().next().unwrap().unwrap()).unwrap();
    assert_eq!(
        follower
            .app_mut()
            .process_proposal_with(&built.block, vec![Some(Arc::new(held))])
            .unwrap(),
        Ok(())
    );
    let led = leader.app_mut().commit().unwrap();
    assert_eq!(follower.app_mut().commit().unwrap(), led);

    // A forgery handed to the mempool as checked elsewhere carries no mark: the leader's own
    // execution records the bad signature, and a follower holding it the same way refuses the
    // block.
    let unverified = || {
        Arc::new(
            PooledTx::new(
                forged.clone(),
                CheckedTx::unverified(SignedTx::decode(&forged).unwrap(), 1),
            )
            .unwrap(),
        )
    };
    assert!(!unverified().signature_verified());
    let chosen = leader
        .app_mut()
        .prepare_pooled(&[unverified()], BlockLimits::default())
        .unwrap();
    let input = leader.next_block_input(chosen).unwrap();
    let built = leader.app_mut().finalize_block(input).unwrap().clone();
    assert_eq!(built.results.tx_results[0].code, 2, "bad signature");
    let refused = follower
        .app_mut()
        .process_proposal_with(&built.block, vec![Some(unverified())])
        .unwrap();
    assert!(refused.is_err(), "{refused:?}");
}
