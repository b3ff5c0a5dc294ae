use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{TestDevice, sensor_reading};

use crate::{device_node, join, verdict};

#[test]
fn an_implausible_sensor_reading_is_refused() {
    let mut node = device_node();
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None);

    let hotter_than_death_valley = sensor_reading(&[(MeasurementKind::TemperatureC, 75_000)]);
    let wetter_than_water = sensor_reading(&[
        (MeasurementKind::TemperatureC, 21_000),
        (MeasurementKind::HumidityPercent, 100_001),
    ]);
    let ordinary = sensor_reading(&[(MeasurementKind::Co2Ppm, 420_000)]);
    let reports = vec![
        node.report(&mut sensor, hotter_than_death_valley).unwrap(),
        node.report(&mut sensor, wetter_than_water).unwrap(),
        node.report(&mut sensor, ordinary).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(
        verdict(&results[0]),
        (
            18,
            "implausible sensor reading: TemperatureMilliCelsius 75000 is outside [-90000, 60000]"
        )
    );
    assert_eq!(
        verdict(&results[1]),
        (
            18,
            "implausible sensor reading: RelativeHumidityMilliPercent 100001 is outside [0, 100000]"
        )
    );
    assert_eq!(verdict(&results[2]), (0, ""));
}
