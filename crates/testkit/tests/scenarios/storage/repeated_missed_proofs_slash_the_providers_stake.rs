use groundwork_app::modules::devices::params::DevicesParams;
use groundwork_primitives::Amount;

use crate::{
    make_deal, outcome, past_deadline, prove, providers, storage_node, test_file, to_window,
};

#[test]
fn repeated_missed_proofs_slash_the_providers_stake() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        5,
    );
    let start = node.deal(id).unwrap().unwrap().start_period;
    let stake = DevicesParams::default().stake_storage;
    let burned_before = node.supply().unwrap().burned;
    let lazy = devices[0].id();

    for (missed, period) in (start..start + 3).enumerate() {
        to_window(&mut node, period);
        for device in &devices[1..] {
            assert_eq!(outcome(&prove(&mut node, &file, id, &device.id())), (0, ""));
        }
        past_deadline(&mut node, period);
        let provider = node.storage_provider(&lazy).unwrap().unwrap();
        let device = node.device(&lazy).unwrap().unwrap();
        if missed < 2 {
            // Two misses in a row: reputation down, stake untouched.
            assert_eq!(provider.consecutive_failures, missed as u32 + 1);
            assert_eq!(device.stake, stake);
        } else {
            // The third in a row burns 10% of the bonded stake and restarts the count.
            let slash = Amount(stake.0 / 10);
            assert_eq!(provider.consecutive_failures, 0);
            assert_eq!(provider.slashed, slash);
            assert_eq!(device.stake, Amount(stake.0 - slash.0));
            assert_eq!(node.stake_totals().unwrap().slashed, slash);
            let fees = node.supply().unwrap().burned.0 - burned_before.0 - slash.0;
            // Fees of the six proofs and the empty blocks' nothing: only fees besides the slash.
            assert_eq!(fees, 6 * node.min_fee().unwrap().0);
            let results = node.results(node.height().unwrap()).unwrap();
            assert!(
                results
                    .block_events
                    .iter()
                    .any(|e| e.kind == "stake_slashed"),
                "{:?}",
                results.block_events
            );
        }
        assert_eq!(provider.misses, missed as u64 + 1);
    }
    // Three failures do not disqualify a provider that started fresh (41 would).
    let provider = node.storage_provider(&lazy).unwrap().unwrap();
    assert_eq!(
        provider.status,
        groundwork_app::modules::storage::state::ProviderStatus::Active
    );
    // The honest providers keep their whole stake.
    assert_eq!(node.device(&devices[1].id()).unwrap().unwrap().stake, stake);
}
