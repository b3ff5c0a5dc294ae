use groundwork_app::modules::credits::state::CreditsRead;
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::state::ReportsRead;
use groundwork_primitives::{Address, Amount, SigningKey};
use groundwork_testkit::{TestDevice, data_transfer};

use crate::{device_node, join, verdict};

/// A payer with no credits countersigns a receipt: the hotspot carried the data, but nobody paid
/// for it, so the receipt is invalid with code 19 and counts for nothing. Once the payer holds
/// credits, a new report of the same session is valid and spends one credit per started 24
/// bytes, recorded in the device's epoch counts as `credits_spent`.
#[test]
fn a_receipt_from_a_payer_without_credits_is_judged_insufficient_credits() {
    let mut node = device_node();
    let mut hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    join(&mut node, 0, &hotspot, None);
    let id = hotspot.id();
    let chain_id = node.chain_id().to_string();
    let payer_key = SigningKey::from_seed([0x42; 32]);
    let payer = Address::from_public_key(&payer_key.public_key());

    let unpaid = node
        .report(
            &mut hotspot,
            data_transfer(&payer_key, &chain_id, &id, 1, 2_400),
        )
        .unwrap();
    let results = node.judge_reports(vec![unpaid]).unwrap();
    let expected =
        format!("insufficient credits: payer {payer} holds 0 credits, the receipt costs 100");
    assert_eq!(verdict(&results[0]), (19, expected.as_str()));
    let counts = node
        .store()
        .snapshot()
        .unwrap()
        .activity(&id)
        .unwrap()
        .counts;
    assert_eq!(
        (counts.data_transfers, counts.credits_spent, counts.invalid),
        (0, 0, 1)
    );

    // Account 1 buys 150 credits for the payer ($0.0015 at $1 per token: 150,000 base units).
    assert_eq!(node.submit_price(0, 1_000_000).unwrap().code, 0);
    let minted = node.mint_credits(1, Amount(150_000), Some(payer)).unwrap();
    assert_eq!((minted.code, minted.error.as_str()), (0, ""));
    assert_eq!(node.credits(payer).unwrap(), 150);

    // The same session, reported again: 2,400 bytes are 100 packets of 24 bytes. A second,
    // larger session then costs more than the 50 credits left.
    let paid = node
        .report(
            &mut hotspot,
            data_transfer(&payer_key, &chain_id, &id, 1, 2_400),
        )
        .unwrap();
    let too_big = node
        .report(
            &mut hotspot,
            data_transfer(&payer_key, &chain_id, &id, 2, 1_201),
        )
        .unwrap();
    let results = node.judge_reports(vec![paid, too_big]).unwrap();
    assert_eq!(verdict(&results[0]), (0, ""));
    let expected =
        format!("insufficient credits: payer {payer} holds 50 credits, the receipt costs 51");
    assert_eq!(verdict(&results[1]), (19, expected.as_str()));
    assert_eq!(node.credits(payer).unwrap(), 50);
    let snapshot = node.store().snapshot().unwrap();
    let counts = snapshot.activity(&id).unwrap().counts;
    assert_eq!(
        (
            counts.data_transfers,
            counts.data_bytes,
            counts.credits_spent,
            counts.invalid
        ),
        (1, 2_400, 100, 2)
    );
    let totals = snapshot.credit_totals().unwrap();
    assert_eq!((totals.credits_minted, totals.credits_spent), (150, 100));
}
