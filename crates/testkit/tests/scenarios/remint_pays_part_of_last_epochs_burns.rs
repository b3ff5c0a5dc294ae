use groundwork_app::modules::credits::params::CreditsParams;
use groundwork_app::modules::credits::state::CreditsRead;
use groundwork_app::modules::rewards::params::default_treasury;
use groundwork_primitives::Amount;
use groundwork_testkit::TestNode;
use groundwork_tokenomics::ProofKind;

use crate::{
    EPOCH_EMISSION, REWARD_EPOCH_BLOCKS, finish_epoch, pool, rewards_genesis, rewards_params,
    summary_of,
};

/// 25% of each epoch's credit burns is re-minted with that epoch's rewards (net emissions):
/// 3 tokens burned for credits in epoch 0 add 0.75 tokens to what epoch 0's rewards pay out. No
/// device qualifies here, so the whole epoch (emission and re-mint) goes to the treasury; the
/// supply's minted counter grows by exactly that, and an epoch without credit burns re-mints
/// nothing.
#[test]
fn remint_pays_part_of_last_epochs_burns() {
    let mut node = TestNode::start(
        rewards_genesis(rewards_params(
            vec![pool(ProofKind::Uptime, 10_000, false)],
            1,
        ))
        .credits_params(CreditsParams {
            remint_bps: 2_500,
            ..CreditsParams::default()
        })
        .build(),
    )
    .unwrap();
    assert_eq!(node.submit_price(0, 1_000_000).unwrap().code, 0);
    for (account, tokens) in [(0, 1), (1, 2)] {
        let minted = node
            .mint_credits(account, Amount(tokens * 100_000_000), None)
            .unwrap();
        assert_eq!((minted.code, minted.error.as_str()), (0, ""));
    }
    let minted_before = node.supply().unwrap().minted;

    let epoch = finish_epoch(&mut node);

    assert_eq!(epoch, 0);
    let last = node.results(REWARD_EPOCH_BLOCKS - 1).unwrap();
    let event = &last.block_events[0];
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
    let summary = summary_of(&node, 0);
    assert_eq!(summary.carried_in, Amount(75_000_000));
    assert_eq!(
        node.balance(default_treasury()).unwrap(),
        Amount(EPOCH_EMISSION + 75_000_000)
    );
    assert_eq!(
        node.supply().unwrap().minted,
        Amount(minted_before.0 + EPOCH_EMISSION + 75_000_000)
    );
    let snapshot = node.store().snapshot().unwrap();
    assert_eq!(snapshot.epoch_credit_burns(0).unwrap(), Amount::ZERO);
    assert_eq!(
        snapshot.credit_totals().unwrap().tokens_reminted,
        Amount(75_000_000)
    );

    // Epoch 1 burns nothing for credits: its rewards carry nothing in.
    assert_eq!(finish_epoch(&mut node), 1);
    assert_eq!(summary_of(&node, 1).carried_in, Amount::ZERO);
    assert_eq!(
        node.balance(default_treasury()).unwrap(),
        Amount(2 * EPOCH_EMISSION + 75_000_000)
    );
}
