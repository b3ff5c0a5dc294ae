use groundwork_app::BlockLimits;
use groundwork_primitives::Amount;
use groundwork_testkit::tamper_signature;

use crate::{MIN_FEE, START, node};

/// The leader executes the transactions `prepare_proposal` chose without decoding them again;
/// a follower decodes the block it receives. Both must reach the same header and results, and a
/// forged signature among the chosen candidates must still be caught by the leader's execution.
#[test]
fn a_leaders_own_proposal_executes_exactly_as_its_followers_re_execute_it() {
    let mut leader = node();
    let mut follower = node();
    let bob = leader.address(1);
    let carol = leader.address(2);
    let first = leader.transfer(0, bob, Amount(1_000)).unwrap();
    let second = leader.transfer(1, carol, Amount(2_000)).unwrap();

    // The leader's path: choose, then finalize exactly the chosen bytes.
    let chosen = leader
        .app_mut()
        .prepare_proposal(&[first.clone(), second.clone()], BlockLimits::default())
        .unwrap();
    assert_eq!(chosen, vec![first, second]);
    let input = leader.next_block_input(chosen).unwrap();
    let built = leader.app_mut().finalize_block(input).unwrap().clone();

    // The follower's path: the block as received, decoded from its bytes.
    assert_eq!(
        follower.app_mut().process_proposal(&built.block).unwrap(),
        Ok(())
    );
    let followed = follower.app_mut().commit().unwrap();
    let led = leader.app_mut().commit().unwrap();
    assert_eq!(led, followed);
    assert_eq!(leader.results(1).unwrap(), follower.results(1).unwrap());

    // A forged signature in the chosen candidates (one that never went through admission) is
    // judged by the leader's execution as it would be from the bytes.
    let forged = tamper_signature(&leader.transfer(0, bob, Amount(5)).unwrap());
    let chosen = leader
        .app_mut()
        .prepare_proposal(std::slice::from_ref(&forged), BlockLimits::default())
        .unwrap();
    assert_eq!(chosen, vec![forged.clone()]);
    let input = leader.next_block_input(chosen).unwrap();
    let built = leader.app_mut().finalize_block(input).unwrap().clone();
    let result = &built.results.tx_results[0];
    assert_eq!((result.code, result.fee_charged.as_str()), (2, "0"));
    let fresh = follower.next_block_input(vec![forged]).unwrap();
    let decoded = follower.app_mut().finalize_block(fresh).unwrap().clone();
    assert_eq!(built.header(), decoded.header());
    assert_eq!(built.results, decoded.results);
    // Bob received 1,000 and sent 2,000 plus the fee; the forged transfer changed nothing.
    assert_eq!(
        leader.balance(bob).unwrap(),
        Amount(START.0 + 1_000 - 2_000 - MIN_FEE.0)
    );
}
