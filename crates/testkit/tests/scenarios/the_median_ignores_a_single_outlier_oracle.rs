use groundwork_primitives::Amount;
use groundwork_testkit::{GenesisBuilder, TestNode};

/// One of three oracles reports a price 500 times too high (faulty or malicious); the median of
/// $1.00, $1.02 and $500 is $1.02, so minting is priced as the honest majority says.
#[test]
fn the_median_ignores_a_single_outlier_oracle() {
    let mut node = TestNode::start(GenesisBuilder::new().oracles(3).build()).unwrap();
    for (oracle, price) in [(0, 1_000_000), (1, 500_000_000), (2, 1_020_000)] {
        assert_eq!(node.submit_price(oracle, price).unwrap().code, 0);
    }

    let result = node.mint_credits(0, Amount(100_000_000), None).unwrap();

    assert_eq!((result.code, result.error.as_str()), (0, ""));
    // One token at $1.02 buys 102,000 credits of $0.00001, not the 50,000,000 the outlier implies.
    assert_eq!(node.credits(node.address(0)).unwrap(), 102_000);

    // A fourth opinion is not needed for the outlier to lose: the outlier alone moving further
    // changes nothing.
    assert_eq!(node.submit_price(1, u64::MAX).unwrap().code, 0);
    assert_eq!(
        node.mint_credits(1, Amount(100_000_000), None)
            .unwrap()
            .code,
        0
    );
    assert_eq!(node.credits(node.address(1)).unwrap(), 102_000);
}
