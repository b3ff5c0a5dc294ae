//! Keys and signed messages: device keys from seeds, onboarding messages, signed reports and
//! countersigned data receipts, byte for byte as `docs/protocol.md` and the app define them.

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::{Address, DeviceId, SigningKey, domain, sha256};
use groundwork_proto::Message as _;
use groundwork_proto::v1;

/// What a key is for, mixed into its seed so that the streams never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// A simulated device.
    Device,
    /// A device owner funded through the faucet.
    Owner,
    /// A simulated user who pays for data.
    Payer,
}

impl KeyRole {
    fn label(self) -> &'static [u8] {
        match self {
            KeyRole::Device => b"device",
            KeyRole::Owner => b"owner",
            KeyRole::Payer => b"payer",
        }
    }
}

/// The deterministic key number `index` of `role` for a fleet seed:
/// `SHA-256("groundwork-agents/" ‖ role ‖ seed (u64 BE) ‖ index (u64 BE))` as the ed25519 seed.
pub fn fleet_key(role: KeyRole, seed: u64, index: u64) -> SigningKey {
    let material = [
        b"groundwork-agents/".as_slice(),
        role.label(),
        &seed.to_be_bytes(),
        &index.to_be_bytes(),
    ]
    .concat();
    SigningKey::from_seed(sha256(&material).0)
}

/// The key of device `index` in the fleet with `seed`.
pub fn device_key(seed: u64, index: u64) -> SigningKey {
    fleet_key(KeyRole::Device, seed, index)
}

/// An `OnboardDevice` message: the maker attests the device key and kind, the device accepts
/// its owner. The owner signs the transaction that carries it.
#[allow(clippy::too_many_arguments)]
pub fn onboard_message(
    chain_id: &str,
    maker: &SigningKey,
    device: &SigningKey,
    kind: DeviceKind,
    owner: &Address,
    cell: Option<u64>,
    antenna_gain_dbi_x10: i32,
    elevation_m: i32,
) -> v1::Message {
    let device_key = device.public_key();
    let mut attested = device_key.tagged_bytes();
    // The kind's wire value is 1..=5: it fits the one byte the attestation gives it.
    attested.push(kind.to_proto() as u8);
    let maker_signature = maker.sign(domain::MAKER_ATTESTATION, chain_id, &attested);
    let device_signature = device.sign(domain::DEVICE_ONBOARDING, chain_id, owner.as_bytes());
    v1::Message {
        kind: Some(v1::message::Kind::OnboardDevice(v1::OnboardDevice {
            device_key: Some(groundwork_app::proto_public_key(&device_key)),
            kind: kind.to_proto(),
            maker: Address::from_public_key(&maker.public_key())
                .as_bytes()
                .to_vec(),
            maker_signature: maker_signature.0.to_vec(),
            device_signature: device_signature.0.to_vec(),
            h3_cell: cell.unwrap_or(0),
            antenna_gain_dbi_x10,
            elevation_m,
        })),
    }
}

/// An `AssertLocation` message for a device already onboarded.
pub fn assert_location_message(
    device: &DeviceId,
    cell: u64,
    antenna_gain_dbi_x10: i32,
    elevation_m: i32,
) -> v1::Message {
    v1::Message {
        kind: Some(v1::message::Kind::AssertLocation(v1::AssertLocation {
            device: device.as_bytes().to_vec(),
            h3_cell: cell,
            antenna_gain_dbi_x10,
            elevation_m,
        })),
    }
}

/// Encodes and signs a report: the `ReportEnvelope` bytes to send.
pub fn sign_report(
    key: &SigningKey,
    chain_id: &str,
    counter: u64,
    timestamp_ms: u64,
    kind: v1::report_body::Kind,
) -> Vec<u8> {
    let body = v1::ReportBody {
        chain_id: chain_id.to_string(),
        counter,
        timestamp_ms,
        kind: Some(kind),
    }
    .encode_to_vec();
    let signature = key.sign(domain::DEVICE_REPORT, chain_id, &body);
    let device = DeviceId::from_public_key(&key.public_key());
    v1::ReportEnvelope {
        body,
        device: device.as_bytes().to_vec(),
        signature: signature.0.to_vec(),
    }
    .encode_to_vec()
}

/// A data transfer receipt for `device`, countersigned by `payer`.
pub fn data_transfer(
    chain_id: &str,
    payer: &SigningKey,
    device: &DeviceId,
    session: u64,
    bytes: u64,
) -> v1::DataTransfer {
    let body = [
        device.as_bytes().as_slice(),
        &session.to_be_bytes(),
        &bytes.to_be_bytes(),
    ]
    .concat();
    let signature = payer.sign(domain::DATA_RECEIPT, chain_id, &body);
    v1::DataTransfer {
        payer_key: Some(groundwork_app::proto_public_key(&payer.public_key())),
        session,
        bytes,
        payer_signature: signature.0.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_app::modules::devices::msgs::{
        OnboardDevice, device_onboarding_message, maker_attestation_message,
    };
    use groundwork_app::modules::reports::{DecodedReport, data_receipt_message, report_message};

    const CHAIN: &str = "agents-test";

    #[test]
    fn device_keys_are_deterministic_per_seed_and_index() {
        assert_eq!(device_key(1, 5).public_key(), device_key(1, 5).public_key());
        assert_ne!(device_key(1, 5).public_key(), device_key(1, 6).public_key());
        assert_ne!(device_key(1, 5).public_key(), device_key(2, 5).public_key());
        assert_ne!(
            device_key(1, 5).public_key(),
            fleet_key(KeyRole::Payer, 1, 5).public_key()
        );
    }

    #[test]
    fn a_signed_report_decodes_and_verifies_as_the_app_reads_it() {
        let key = device_key(9, 0);
        let bytes = sign_report(
            &key,
            CHAIN,
            17,
            1_700_000_000_000,
            v1::report_body::Kind::Heartbeat(v1::Heartbeat { uptime_s: 60 }),
        );
        let report = DecodedReport::decode(&bytes).unwrap();
        assert_eq!(report.device, DeviceId::from_public_key(&key.public_key()));
        assert_eq!(report.body.counter, 17);
        assert_eq!(report.body.chain_id, CHAIN);
        assert_eq!(report.kind_name(), "heartbeat");
        key.public_key()
            .verify_message(
                &report_message(CHAIN, &report.body_bytes),
                &report.signature,
            )
            .unwrap();
        // Another chain's message does not verify.
        assert!(
            key.public_key()
                .verify_message(
                    &report_message("other", &report.body_bytes),
                    &report.signature
                )
                .is_err()
        );
    }

    #[test]
    fn onboarding_signatures_verify_with_the_apps_messages() {
        let maker = fleet_key(KeyRole::Owner, 0, 99);
        let device = device_key(3, 1);
        let owner = Address::from_public_key(&fleet_key(KeyRole::Owner, 3, 0).public_key());
        let message = onboard_message(
            CHAIN,
            &maker,
            &device,
            DeviceKind::Hotspot,
            &owner,
            Some(
                crate::placement::GeoPoint {
                    lat: 38.7223,
                    lng: -9.1393,
                }
                .cell()
                .unwrap(),
            ),
            30,
            15,
        );
        let Some(v1::message::Kind::OnboardDevice(onboard)) = message.kind else {
            panic!("not an onboarding")
        };
        let parsed = OnboardDevice::from_proto(&onboard).unwrap();
        maker
            .public_key()
            .verify_message(
                &maker_attestation_message(CHAIN, &parsed.device_key, DeviceKind::Hotspot),
                &parsed.maker_signature,
            )
            .unwrap();
        device
            .public_key()
            .verify_message(
                &device_onboarding_message(CHAIN, &owner),
                &parsed.device_signature,
            )
            .unwrap();
    }

    #[test]
    fn data_receipts_are_countersigned_as_the_app_checks() {
        let payer = fleet_key(KeyRole::Payer, 1, 0);
        let device = DeviceId::from_public_key(&device_key(1, 0).public_key());
        let receipt = data_transfer(CHAIN, &payer, &device, 4, 12_345);
        let signature =
            groundwork_primitives::Signature::from_slice(&receipt.payer_signature).unwrap();
        payer
            .public_key()
            .verify_message(&data_receipt_message(CHAIN, &device, 4, 12_345), &signature)
            .unwrap();
    }
}
