use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_app::modules::credits::state::{CreditsRead, remint_pool_address};
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_primitives::Amount;
use groundwork_testkit::{GenesisBuilder, TestNode};

/// Epochs of 10 blocks, and 25% of each epoch's credit burns re-minted at its end into the
/// re-mint pool (net emissions): 3 tokens burned for credits in epoch 0 put 0.75 tokens in the
/// pool after block 9; the supply's minted counter grows by exactly that, and an epoch without
/// credit burns re-mints nothing.
#[test]
fn remint_pays_part_of_last_epochs_burns() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .oracles(1)
            .reports_params(ReportsParams {
                epoch_blocks: 10,
                ..ReportsParams::default()
            })
            .credits_params(CreditsParams {
                remint_bps: 2_500,
                ..CreditsParams::default()
            })
            .build(),
    )
    .unwrap();
    let pool = remint_pool_address();
    assert_eq!(node.submit_price(0, 1_000_000).unwrap().code, 0);
    assert_eq!(
        node.mint_credits(0, Amount(100_000_000), None)
            .unwrap()
            .code,
        0
    );
    assert_eq!(
        node.mint_credits(1, Amount(200_000_000), None)
            .unwrap()
            .code,
        0
    );
    let minted_before = node.supply().unwrap().minted;
    while node.height().unwrap() < 8 {
        node.produce_block().unwrap();
    }
    assert_eq!(node.balance(pool).unwrap(), Amount::ZERO);

    // Block 9 ends epoch 0.
    let last = node.produce_block().unwrap();

    assert_eq!(node.height().unwrap(), 9);
    assert_eq!(node.balance(pool).unwrap(), Amount(75_000_000));
    assert_eq!(
        node.supply().unwrap().minted,
        Amount(minted_before.0 + 75_000_000)
    );
    let event = &last.results.block_events[0];
    assert_eq!(event.kind, "tokens_reminted");
    let values: Vec<(&str, &str)> = event
        .attributes
        .iter()
        .map(|a| (a.key.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(
        values[..3],
        [
            ("epoch", "0"),
            ("credit_burns", "300000000"),
            ("reminted", "75000000")
        ]
    );
    let snapshot = node.store().snapshot().unwrap();
    assert_eq!(snapshot.epoch_credit_burns(0).unwrap(), Amount::ZERO);
    assert_eq!(
        snapshot.credit_totals().unwrap().tokens_reminted,
        Amount(75_000_000)
    );

    // Epoch 1 burns nothing for credits: its end re-mints nothing.
    while node.height().unwrap() < 19 {
        let block = node.produce_block().unwrap();
        assert!(block.results.block_events.is_empty());
    }
    assert_eq!(node.balance(pool).unwrap(), Amount(75_000_000));
}
