use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_primitives::{Address, SigningKey};
use groundwork_testkit::{TestDevice, data_transfer};

use crate::{buy_credits_for, device_node, join, verdict};

#[test]
fn a_data_session_counted_twice_is_refused() {
    let mut node = device_node();
    let mut hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    join(&mut node, 0, &hotspot, None);
    let id = hotspot.id();
    let chain_id = node.chain_id().to_string();
    let payer = SigningKey::from_seed([0x42; 32]);
    let other_payer = SigningKey::from_seed([0x44; 32]);
    for key in [&payer, &other_payer] {
        buy_credits_for(&mut node, Address::from_public_key(&key.public_key()), 1);
    }

    let first = node
        .report(
            &mut hotspot,
            data_transfer(&payer, &chain_id, &id, 7, 10_000),
        )
        .unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![first]).unwrap()[0]),
        (0, "")
    );

    // The same session again (a new report, a new counter), in a later block and twice in one.
    let again = node
        .report(
            &mut hotspot,
            data_transfer(&payer, &chain_id, &id, 7, 10_000),
        )
        .unwrap();
    let fresh_session = node
        .report(
            &mut hotspot,
            data_transfer(&payer, &chain_id, &id, 8, 20_000),
        )
        .unwrap();
    let fresh_again = node
        .report(
            &mut hotspot,
            data_transfer(&payer, &chain_id, &id, 8, 20_000),
        )
        .unwrap();
    // Another payer may use the same session number.
    let other = node
        .report(
            &mut hotspot,
            data_transfer(&other_payer, &chain_id, &id, 7, 30_000),
        )
        .unwrap();
    let results = node
        .judge_reports(vec![again, fresh_session, fresh_again, other])
        .unwrap();

    assert_eq!(
        verdict(&results[0]),
        (
            17,
            "invalid data transfer receipt: session 7 with this payer was already counted"
        )
    );
    assert_eq!(verdict(&results[1]), (0, ""));
    assert_eq!(
        verdict(&results[2]),
        (
            17,
            "invalid data transfer receipt: session 8 with this payer was already counted"
        )
    );
    assert_eq!(verdict(&results[3]), (0, ""));

    let counts = node
        .store()
        .snapshot()
        .unwrap()
        .activity(&id)
        .unwrap()
        .counts;
    assert_eq!(
        (counts.data_transfers, counts.data_bytes, counts.invalid),
        (3, 60_000, 2)
    );
    // Each counted receipt spent one credit per started 24 bytes; the refused ones nothing.
    assert_eq!(
        counts.credits_spent,
        10_000u64.div_ceil(24) + 20_000u64.div_ceil(24) + 30_000u64.div_ceil(24)
    );
}
