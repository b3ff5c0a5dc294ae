use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::proto_public_key;
use groundwork_primitives::{Address, SigningKey};
use groundwork_proto::v1::report_body::Kind;
use groundwork_testkit::{TestDevice, data_transfer};

use crate::{buy_credits_for, device_node, join, verdict};

#[test]
fn a_data_receipt_without_the_payers_signature_is_refused() {
    let mut node = device_node();
    let mut hotspot = TestDevice::ed25519(1, DeviceKind::Hotspot);
    join(&mut node, 0, &hotspot, None);
    let id = hotspot.id();
    let chain_id = node.chain_id().to_string();
    let payer = SigningKey::from_seed([0x42; 32]);
    let impostor = SigningKey::from_seed([0x43; 32]);
    buy_credits_for(&mut node, Address::from_public_key(&payer.public_key()), 1);

    let honest = data_transfer(&payer, &chain_id, &id, 1, 65_536);
    // No countersignature at all.
    let unsigned = match data_transfer(&payer, &chain_id, &id, 2, 65_536) {
        Kind::DataTransfer(mut receipt) => {
            receipt.payer_signature.clear();
            Kind::DataTransfer(receipt)
        }
        other => other,
    };
    // Signed by someone else than the payer it names.
    let signed_by_another = match data_transfer(&impostor, &chain_id, &id, 3, 65_536) {
        Kind::DataTransfer(mut receipt) => {
            receipt.payer_key = Some(proto_public_key(&payer.public_key()));
            Kind::DataTransfer(receipt)
        }
        other => other,
    };
    // The payer signed for fewer bytes than the device claims.
    let inflated = match data_transfer(&payer, &chain_id, &id, 4, 1_024) {
        Kind::DataTransfer(mut receipt) => {
            receipt.bytes = 1_000_000;
            Kind::DataTransfer(receipt)
        }
        other => other,
    };
    let reports = vec![
        node.report(&mut hotspot, honest).unwrap(),
        node.report(&mut hotspot, unsigned).unwrap(),
        node.report(&mut hotspot, signed_by_another).unwrap(),
        node.report(&mut hotspot, inflated).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(
        verdict(&results[1]),
        (
            17,
            "invalid data transfer receipt: payer_signature must be 64 bytes"
        )
    );
    let not_verified = (
        17,
        "invalid data transfer receipt: the payer's signature does not verify",
    );
    assert_eq!(verdict(&results[2]), not_verified);
    assert_eq!(verdict(&results[3]), not_verified);
}
