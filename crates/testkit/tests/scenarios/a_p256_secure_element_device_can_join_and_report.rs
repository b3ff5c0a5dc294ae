use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::PublicKey;
use groundwork_proto::Message as _;
use groundwork_proto::v1::{self, MeasurementKind};
use groundwork_testkit::{TestDevice, heartbeat, sensor_reading};

use crate::{device_node, join, verdict};

#[test]
fn a_p256_secure_element_device_can_join_and_report() {
    let mut node = device_node();
    let mut sensor = TestDevice::p256(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None);

    let record = node.device(&sensor.id()).unwrap().unwrap();
    assert!(matches!(record.public_key, PublicKey::P256(_)));
    assert_eq!(record.public_key, sensor.public_key());

    let beat = node.report(&mut sensor, heartbeat(3_600)).unwrap();
    let reading = node
        .report(
            &mut sensor,
            sensor_reading(&[
                (MeasurementKind::TemperatureC, 21_500),
                (MeasurementKind::HumidityPercent, 48_000),
            ]),
        )
        .unwrap();
    // The same device's next report with one bit of its signature flipped.
    let mut forged = v1::ReportEnvelope::decode(
        node.report(&mut sensor, heartbeat(3_601))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    forged.signature[10] ^= 0x01;

    let results = node
        .judge_reports(vec![beat, reading, forged.encode_to_vec()])
        .unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(verdict(&results[1]), (0, ""));
    assert_eq!(
        verdict(&results[2]),
        (4, "the signature does not match the device's key")
    );
    assert_eq!(results[1].device, sensor.id().as_bytes().to_vec());
    assert_eq!((results[0].counter, results[1].counter), (1, 2));
    assert_eq!(
        (results[0].kind.as_str(), results[1].kind.as_str()),
        ("heartbeat", "sensor")
    );
}
