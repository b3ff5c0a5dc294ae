use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_primitives::SigningKey;
use groundwork_proto::v1::report_body::Kind;
use groundwork_testkit::{TestDevice, data_transfer};

use crate::{BRANDENBURG_GATE, beacon, device_node, join, payload, verdict, witness};

#[test]
fn a_sensor_cannot_send_radio_reports() {
    let mut node = device_node();
    // Located, so that the kind is the only thing wrong.
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, Some(BRANDENBURG_GATE));
    let payer = SigningKey::from_seed([0x42; 32]);

    // One report a block: within a block, beacons are judged first and witnesses last.
    let beacon = beacon(&node, payload(1));
    let report = node.report(&mut sensor, beacon).unwrap();
    let results = node.judge_reports(vec![report]).unwrap();
    assert_eq!(
        verdict(&results[0]),
        (8, "a sensor cannot send a beacon report")
    );

    let heard = Kind::Witness(witness(&sensor.id(), payload(2), -900, 0));
    let report = node.report(&mut sensor, heard).unwrap();
    let results = node.judge_reports(vec![report]).unwrap();
    assert_eq!(
        verdict(&results[0]),
        (8, "a sensor cannot send a witness report")
    );

    let carried = data_transfer(&payer, node.chain_id(), &sensor.id(), 1, 4_096);
    let report = node.report(&mut sensor, carried).unwrap();
    let results = node.judge_reports(vec![report]).unwrap();
    assert_eq!(
        verdict(&results[0]),
        (8, "a sensor cannot send a data_transfer report")
    );
}
