use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{TestDevice, sensor_reading};

use crate::{device_node, join, verdict};

#[test]
fn a_sensor_value_changing_too_fast_is_refused() {
    let mut node = device_node();
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None);
    let temperature = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);

    let first = node.report(&mut sensor, temperature(20_000)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![first]).unwrap()[0]),
        (0, "")
    );

    // One second (one block) later, 10 °C warmer: 600 °C a minute, the limit is 15.
    let jump = node.report(&mut sensor, temperature(30_000)).unwrap();
    let results = node.judge_reports(vec![jump]).unwrap();
    assert_eq!(
        verdict(&results[0]),
        (
            18,
            "implausible sensor reading: TemperatureMilliCelsius changed by 600000 per minute (at most 15000)"
        )
    );

    // The refused reading is not remembered: a small step from the last valid one passes.
    let step = node.report(&mut sensor, temperature(20_100)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![step]).unwrap()[0]),
        (0, "")
    );
}
