use groundwork_app::modules::credits::state::CreditsRead;
use groundwork_primitives::Amount;
use groundwork_testkit::{GenesisBuilder, TestNode};

use crate::MIN_FEE;

/// Three oracles report $1.00, $1.50 and $2.00; the median is $1.50, so burning 2 tokens
/// (8 decimals) buys 2 × 1.5 / 0.00001 = 300,000 credits, and the supply shrinks by exactly the
/// burn and the fees.
#[test]
fn minting_burns_tokens_at_the_oracle_median() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(2, Amount(1_000_000_000_000))
            .min_fee(MIN_FEE)
            .oracles(3)
            .build(),
    )
    .unwrap();
    for (oracle, price) in [(0, 1_000_000), (1, 2_000_000), (2, 1_500_000)] {
        let result = node.submit_price(oracle, price).unwrap();
        assert_eq!((result.code, result.error.as_str()), (0, ""));
    }
    let buyer = node.address(0);
    let before = node.balance(buyer).unwrap();
    let supply_before = node.supply().unwrap();
    let burn = Amount(200_000_000);

    let result = node.mint_credits(0, burn, None).unwrap();

    assert_eq!((result.code, result.error.as_str()), (0, ""));
    assert_eq!(node.credits(buyer).unwrap(), 300_000);
    assert_eq!(
        node.balance(buyer).unwrap(),
        Amount(before.0 - burn.0 - MIN_FEE.0)
    );
    let supply = node.supply().unwrap();
    assert_eq!(supply.burned.0, supply_before.burned.0 + burn.0 + MIN_FEE.0);
    assert_eq!(supply.minted, supply_before.minted);
    let minted = result
        .events
        .iter()
        .find(|e| e.kind == "credits_minted")
        .unwrap();
    let attribute = |key: &str| {
        minted
            .attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    };
    assert_eq!(attribute("credits"), Some("300000"));
    assert_eq!(attribute("micro_fiat_per_token"), Some("1500000"));
    assert_eq!(attribute("burned"), Some("200000000"));
    let totals = node.store().snapshot().unwrap().credit_totals().unwrap();
    assert_eq!(
        (totals.credits_minted, totals.tokens_burned),
        (300_000, burn)
    );
}
