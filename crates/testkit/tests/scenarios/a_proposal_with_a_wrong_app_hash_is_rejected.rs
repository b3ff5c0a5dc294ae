use groundwork_primitives::Amount;
use groundwork_testkit::{GenesisBuilder, TestNode};

use crate::{MIN_FEE, START};

#[test]
fn a_proposal_with_a_wrong_app_hash_is_rejected() {
    let genesis = GenesisBuilder::new()
        .accounts(3, START)
        .min_fee(MIN_FEE)
        .build();
    let mut proposer = TestNode::start(genesis.clone()).unwrap();
    let mut follower = TestNode::start(genesis).unwrap();
    let bob = proposer.address(1);
    let tx = proposer.transfer(0, bob, Amount(9_999)).unwrap();
    proposer.submit(tx).unwrap().unwrap();
    let honest = proposer.produce_block().unwrap().block;

    let mut tampered = honest.clone();
    let header = tampered.header.as_mut().unwrap();
    header.app_hash[0] ^= 0xff;

    let tip_before = follower.tip().unwrap();
    let verdict = follower.app_mut().process_proposal(&tampered).unwrap();
    assert_eq!(
        verdict,
        Err("the block's header disagrees with its execution in: app_hash".to_string())
    );
    // Nothing was committed, nor is anything waiting to be.
    assert!(matches!(
        follower.app_mut().commit(),
        Err(groundwork_app::AppError::NothingToCommit)
    ));
    assert_eq!(follower.tip().unwrap(), tip_before);
    assert_eq!(follower.balance(bob).unwrap(), START);
    assert_eq!(follower.store().block(1).unwrap(), None);
    assert!(follower.app_mut().apply_block(&tampered).is_err());
    assert_eq!(follower.tip().unwrap(), tip_before);

    // The honest block is accepted and gives the proposer's state.
    assert_eq!(
        follower.app_mut().process_proposal(&honest).unwrap(),
        Ok(())
    );
    let tip = follower.app_mut().commit().unwrap();
    follower.assert_invariants();
    assert_eq!(tip, proposer.tip().unwrap());
    assert_eq!(follower.balance(bob).unwrap(), Amount(START.0 + 9_999));
}
