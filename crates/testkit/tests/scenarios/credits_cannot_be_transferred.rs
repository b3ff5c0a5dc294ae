use groundwork_primitives::Amount;
use groundwork_proto::Message as _;
use groundwork_testkit::{GenesisBuilder, TestNode};

use crate::MIN_FEE;

/// Credits go to the beneficiary named when they are minted and stay there: no message moves
/// them. A transfer moves tokens only, and a hand-made "credit transfer" (a message kind the
/// protocol does not have) is refused as invalid before it costs anything.
#[test]
fn credits_cannot_be_transferred() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(3, Amount(1_000_000_000_000))
            .min_fee(MIN_FEE)
            .oracles(1)
            .build(),
    )
    .unwrap();
    assert_eq!(node.submit_price(0, 1_000_000).unwrap().code, 0);
    let (buyer, user, other) = (node.address(0), node.address(1), node.address(2));

    // Account 0 buys credits for account 1: they belong to account 1 from the start.
    let minted = node
        .mint_credits(0, Amount(100_000_000), Some(user))
        .unwrap();
    assert_eq!((minted.code, minted.error.as_str()), (0, ""));
    assert_eq!(node.credits(user).unwrap(), 100_000);
    assert_eq!(node.credits(buyer).unwrap(), 0);

    // A token transfer from the credit holder leaves its credits alone.
    let tx = node.transfer(1, other, Amount(5_000)).unwrap();
    node.submit(tx).unwrap().unwrap();
    assert_eq!(node.produce_block().unwrap().results.tx_results[0].code, 0);
    assert_eq!(node.credits(user).unwrap(), 100_000);
    assert_eq!(node.credits(other).unwrap(), 0);

    // A message of a kind the protocol lacks (field 12 of `Message`, next to MintCredits,
    // carrying an address and an amount) does not decode into any action.
    let mut unknown_kind = Vec::new();
    let mut inner = Vec::new();
    inner.extend_from_slice(&[0x0a, 20]);
    inner.extend_from_slice(other.as_bytes());
    inner.extend_from_slice(&[0x10, 0x64]);
    unknown_kind.push((12 << 3) | 2);
    unknown_kind.push(inner.len() as u8);
    unknown_kind.extend_from_slice(&inner);
    let message = groundwork_proto::v1::Message::decode(unknown_kind.as_slice()).unwrap();
    let tx = node.sign_tx(1, vec![message]).unwrap();
    let refused = node.submit(tx).unwrap().unwrap_err();
    assert_eq!(refused.code(), 7);
    assert!(refused.to_string().contains("names no action"), "{refused}");
    node.produce_block().unwrap();
    assert_eq!(node.credits(user).unwrap(), 100_000);
    assert_eq!(node.credits(other).unwrap(), 0);
}
