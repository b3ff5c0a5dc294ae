use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_primitives::Amount;
use groundwork_testkit::{GenesisBuilder, TestNode};

use crate::MIN_FEE;

/// Prices count for 5 s of block time (blocks are 1 s apart). Before any price, and once the
/// only price is older than that, minting fails (code 8, fee charged) saying why, and burns
/// nothing.
#[test]
fn a_stale_price_refuses_to_mint_with_a_clear_error() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .min_fee(MIN_FEE)
            .oracles(2)
            .credits_params(CreditsParams {
                max_price_age_ms: 5_000,
                ..CreditsParams::default()
            })
            .build(),
    )
    .unwrap();
    let buyer = node.address(0);

    let none = node.mint_credits(0, Amount(100_000_000), None).unwrap();
    assert_eq!(
        (none.code, none.error.as_str()),
        (
            8,
            "message 0 failed: no oracle price: no oracle has submitted a price yet"
        )
    );

    // Submitted in block 2 (time +2 s); still fresh in block 3.
    assert_eq!(node.submit_price(0, 1_000_000).unwrap().code, 0);
    assert_eq!(
        node.mint_credits(0, Amount(100_000_000), None)
            .unwrap()
            .code,
        0
    );
    for _ in 0..5 {
        node.produce_block().unwrap();
    }
    let before = node.balance(buyer).unwrap();
    let credits_before = node.credits(buyer).unwrap();

    // Block 9 is 7 s after the submission.
    let stale = node.mint_credits(0, Amount(100_000_000), None).unwrap();

    assert_eq!(
        (stale.code, stale.error.as_str()),
        (
            8,
            "message 0 failed: oracle price is stale: newest submission is 7000 ms old, limit 5000 ms"
        )
    );
    assert_eq!(node.balance(buyer).unwrap(), Amount(before.0 - MIN_FEE.0));
    assert_eq!(node.credits(buyer).unwrap(), credits_before);

    // A fresh submission makes minting work again.
    assert_eq!(node.submit_price(1, 1_000_000).unwrap().code, 0);
    assert_eq!(
        node.mint_credits(0, Amount(100_000_000), None)
            .unwrap()
            .code,
        0
    );
}
