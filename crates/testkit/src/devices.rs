//! Devices for tests: keys (ed25519, or P-256 as in secure elements), the messages that onboard
//! and manage them, and reports signed with a counter that goes up by one each time.

use groundwork_app::modules::devices::msgs::device_onboarding_message;
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::{data_receipt_message, report_message};
use groundwork_app::proto_public_key;
use groundwork_primitives::{Address, DeviceId, PublicKey, Signature, SigningKey, sha256};
use groundwork_proto::Message as _;
use groundwork_proto::v1::{self, message::Kind as MessageKind, report_body::Kind};

use crate::error::{TestkitError, TestkitResult};

/// The H3 resolution devices are placed at: cells of about 300 m², as real hotspots assert.
pub const DEVICE_RESOLUTION: h3o::Resolution = h3o::Resolution::Twelve;

/// A device's secret key.
#[derive(Clone)]
pub enum DeviceKey {
    /// An ed25519 key.
    Ed25519(SigningKey),
    /// A P-256 key, as secure elements hold.
    P256(p256::ecdsa::SigningKey),
}

/// A device as a test holds it: its key, its kind, and the counter of its next report.
#[derive(Clone)]
pub struct TestDevice {
    key: DeviceKey,
    kind: DeviceKind,
    next_counter: u64,
}

impl std::fmt::Debug for TestDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDevice")
            .field("id", &self.id())
            .field("kind", &self.kind)
            .field("next_counter", &self.next_counter)
            .finish()
    }
}

impl TestDevice {
    /// A device of `kind` with an ed25519 key derived from `index`; its first report has counter 1.
    pub fn ed25519(index: u64, kind: DeviceKind) -> TestDevice {
        let seed = sha256(
            &[
                b"groundwork-testkit/device/ed25519".as_slice(),
                &index.to_be_bytes(),
            ]
            .concat(),
        );
        TestDevice {
            key: DeviceKey::Ed25519(SigningKey::from_seed(seed.0)),
            kind,
            next_counter: 1,
        }
    }

    /// A device of `kind` with a P-256 key derived from `index`.
    pub fn p256(index: u64, kind: DeviceKind) -> TestDevice {
        // A SHA-256 output is a valid P-256 scalar but for odds of about 2^-32; try the next
        // attempt in that case.
        let mut attempt = 0u64;
        let secret = loop {
            let material = [
                b"groundwork-testkit/device/p256".as_slice(),
                &index.to_be_bytes(),
                &attempt.to_be_bytes(),
            ]
            .concat();
            if let Ok(secret) = p256::ecdsa::SigningKey::from_slice(&sha256(&material).0) {
                break secret;
            }
            attempt += 1;
        };
        TestDevice {
            key: DeviceKey::P256(secret),
            kind,
            next_counter: 1,
        }
    }

    /// What it is.
    pub fn kind(&self) -> DeviceKind {
        self.kind
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.key {
            DeviceKey::Ed25519(key) => key.public_key(),
            DeviceKey::P256(key) => {
                // A compressed SEC1 point is always 33 bytes.
                let point = key.verifying_key().to_sec1_point(true);
                let mut compressed = [0u8; 33];
                compressed.copy_from_slice(point.as_bytes());
                PublicKey::P256(compressed)
            }
        }
    }

    /// Its id (derived from its key).
    pub fn id(&self) -> DeviceId {
        DeviceId::from_public_key(&self.public_key())
    }

    /// Signs an already-built signed message (P-256 signatures in low-S form, as the chain wants).
    pub fn sign(&self, message: &[u8]) -> Signature {
        match &self.key {
            DeviceKey::Ed25519(key) => sign_ed25519(key, message),
            DeviceKey::P256(key) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = key.sign(message);
                let bytes = signature.normalize_s().to_bytes();
                let mut out = [0u8; 64];
                out.copy_from_slice(&bytes);
                Signature(out)
            }
        }
    }

    /// The counter its next [`TestDevice::report`] will carry.
    pub fn next_counter(&self) -> u64 {
        self.next_counter
    }

    /// A signed report envelope with the next counter (which then goes up by one).
    pub fn report(&mut self, chain_id: &str, timestamp_ms: u64, kind: Kind) -> Vec<u8> {
        let report = self.report_with_counter(chain_id, self.next_counter, timestamp_ms, kind);
        self.next_counter += 1;
        report
    }

    /// A signed report envelope with a counter chosen by the test (the device's own counter
    /// does not move).
    pub fn report_with_counter(
        &self,
        chain_id: &str,
        counter: u64,
        timestamp_ms: u64,
        kind: Kind,
    ) -> Vec<u8> {
        let body = v1::ReportBody {
            chain_id: chain_id.to_string(),
            counter,
            timestamp_ms,
            kind: Some(kind),
        }
        .encode_to_vec();
        let signature = self.sign(&report_message(chain_id, &body));
        v1::ReportEnvelope {
            body,
            device: self.id().as_bytes().to_vec(),
            signature: signature.0.to_vec(),
        }
        .encode_to_vec()
    }

    /// The onboarding message for this device and `owner`, attested by `maker`: both signatures
    /// made, no location yet (assert one with [`assert_location_message`]).
    pub fn onboarding(
        &self,
        chain_id: &str,
        owner: &Address,
        maker: &SigningKey,
    ) -> v1::OnboardDevice {
        use groundwork_app::modules::devices::msgs::maker_attestation_message;
        let device_key = self.public_key();
        let attestation = maker_attestation_message(chain_id, &device_key, self.kind);
        v1::OnboardDevice {
            device_key: Some(proto_public_key(&device_key)),
            kind: self.kind.to_proto(),
            maker: Address::from_public_key(&maker.public_key())
                .as_bytes()
                .to_vec(),
            maker_signature: sign_ed25519(maker, &attestation).0.to_vec(),
            device_signature: self
                .sign(&device_onboarding_message(chain_id, owner))
                .0
                .to_vec(),
            h3_cell: 0,
            antenna_gain_dbi_x10: 0,
            elevation_m: 0,
        }
    }
}

/// Signs an already-built message with an ed25519 key ([`SigningKey::sign`] builds the message
/// itself; the app's message builders hand us the built bytes).
fn sign_ed25519(key: &SigningKey, message: &[u8]) -> Signature {
    use ed25519_dalek::Signer as _;
    Signature(
        ed25519_dalek::SigningKey::from_bytes(&key.seed())
            .sign(message)
            .to_bytes(),
    )
}

/// Where a radio is and what antenna it has, as a location assertion records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Radio {
    /// Its H3 cell.
    pub cell: u64,
    /// Antenna gain, tenths of dBi.
    pub antenna_gain_dbi_x10: i32,
    /// Elevation, metres.
    pub elevation_m: i32,
}

/// The H3 cell at [`DEVICE_RESOLUTION`] holding a latitude and longitude, in degrees.
pub fn h3_cell(lat: f64, lng: f64) -> TestkitResult<u64> {
    let point = h3o::LatLng::new(lat, lng)
        .map_err(|e| TestkitError::Usage(format!("({lat}, {lng}) is not a place: {e}")))?;
    Ok(u64::from(point.to_cell(DEVICE_RESOLUTION)))
}

fn message(kind: MessageKind) -> v1::Message {
    v1::Message { kind: Some(kind) }
}

/// The wire message onboarding a device.
pub fn onboard_device_message(onboarding: v1::OnboardDevice) -> v1::Message {
    message(MessageKind::OnboardDevice(onboarding))
}

/// The wire message asserting a device's location and antenna.
pub fn assert_location_message(device: &DeviceId, radio: Radio) -> v1::Message {
    message(MessageKind::AssertLocation(v1::AssertLocation {
        device: device.as_bytes().to_vec(),
        h3_cell: radio.cell,
        antenna_gain_dbi_x10: radio.antenna_gain_dbi_x10,
        elevation_m: radio.elevation_m,
    }))
}

/// The wire message handing a device to a new owner.
pub fn transfer_device_message(device: &DeviceId, new_owner: &Address) -> v1::Message {
    message(MessageKind::TransferDevice(v1::TransferDevice {
        device: device.as_bytes().to_vec(),
        new_owner: new_owner.as_bytes().to_vec(),
    }))
}

/// The wire message retiring a device.
pub fn decommission_device_message(device: &DeviceId) -> v1::Message {
    message(MessageKind::DecommissionDevice(v1::DecommissionDevice {
        device: device.as_bytes().to_vec(),
    }))
}

/// The wire message withdrawing the sender's released stake.
pub fn withdraw_unbonded_message() -> v1::Message {
    message(MessageKind::WithdrawUnbonded(v1::WithdrawUnbonded {}))
}

/// A heartbeat report body.
pub fn heartbeat(uptime_s: u64) -> Kind {
    Kind::Heartbeat(v1::Heartbeat { uptime_s })
}

/// A sensor reading of `(kind, value in milli-units)` measurements.
pub fn sensor_reading(measurements: &[(v1::MeasurementKind, i64)]) -> Kind {
    Kind::Sensor(v1::SensorReading {
        measurements: measurements
            .iter()
            .map(|&(kind, value_milli)| v1::Measurement {
                kind: kind as i32,
                value_milli,
            })
            .collect(),
    })
}

/// A data transfer receipt for `bytes` carried by `device` in `session`, countersigned by `payer`.
pub fn data_transfer(
    payer: &SigningKey,
    chain_id: &str,
    device: &DeviceId,
    session: u64,
    bytes: u64,
) -> Kind {
    let signature = sign_ed25519(
        payer,
        &data_receipt_message(chain_id, device, session, bytes),
    );
    Kind::DataTransfer(v1::DataTransfer {
        payer_key: Some(proto_public_key(&payer.public_key())),
        session,
        bytes,
        payer_signature: signature.0.to_vec(),
    })
}
