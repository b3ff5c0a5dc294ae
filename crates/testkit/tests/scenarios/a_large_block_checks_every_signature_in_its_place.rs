use groundwork_primitives::Amount;
use groundwork_testkit::{GenesisBuilder, TestNode, tamper_signature};

use crate::{MIN_FEE, stranger};

/// Big enough that signatures are checked in batches spread over threads (more than two
/// batches of 64), with malformed transactions shifting which ones decode.
const TXS: usize = 300;
const MALFORMED: [usize; 3] = [0, 1, 65];
const FORGED: [usize; 5] = [2, 63, 64, 191, 299];

#[test]
fn a_large_block_checks_every_signature_in_its_place() {
    let genesis = GenesisBuilder::new()
        .accounts(TXS, Amount(10_000))
        .min_fee(MIN_FEE)
        .seed(3);
    let mut node = TestNode::start(genesis.build()).unwrap();
    let txs: Vec<Vec<u8>> = (0..TXS)
        .map(|i| {
            let amount = if MALFORMED.contains(&i) {
                Amount::ZERO
            } else {
                Amount(i as u128 + 1)
            };
            let tx = node.transfer(i, stranger(), amount).unwrap();
            if FORGED.contains(&i) {
                tamper_signature(&tx)
            } else {
                tx
            }
        })
        .collect();

    // Validators refuse the block (it carries transactions that pay no fee), but its execution
    // shows each verdict in its place.
    let offered = node.offer_block(txs.clone()).unwrap();
    let reason = offered.verdict.unwrap_err();
    assert!(
        reason.starts_with("transaction 0 cannot pay its fee (code 7"),
        "{reason}"
    );
    for (i, result) in offered.executed.results.tx_results.iter().enumerate() {
        let expected = match i {
            _ if MALFORMED.contains(&i) => 7,
            _ if FORGED.contains(&i) => 2,
            _ => 0,
        };
        assert_eq!(result.code, expected, "transaction {i}: {}", result.error);
    }
    assert_eq!(node.height().unwrap(), 0);

    // Without them, the same large block is accepted.
    let good: Vec<Vec<u8>> = txs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !MALFORMED.contains(i) && !FORGED.contains(i))
        .map(|(_, tx)| tx)
        .collect();
    let offered = node.offer_block(good).unwrap();
    assert_eq!(offered.verdict.map(|tip| tip.height), Ok(1));
    assert!(
        offered
            .executed
            .results
            .tx_results
            .iter()
            .all(|r| r.code == 0)
    );
    let paid: u128 = (0..TXS)
        .filter(|i| !MALFORMED.contains(i) && !FORGED.contains(i))
        .map(|i| i as u128 + 1)
        .sum();
    let executed = (TXS - MALFORMED.len() - FORGED.len()) as u128;
    assert_eq!(node.balance(stranger()).unwrap(), Amount(paid));
    assert_eq!(node.supply().unwrap().burned, Amount(executed * MIN_FEE.0));
    assert_eq!(
        node.nonce(node.address(2)).unwrap(),
        0,
        "a forged transaction uses no nonce"
    );
    assert_eq!(node.nonce(node.address(3)).unwrap(), 1);
    assert_eq!(
        node.replay_into_fresh_store().unwrap(),
        node.history().unwrap()
    );
}
