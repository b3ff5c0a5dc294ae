use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::params::ReportsParams;
use groundwork_app::modules::reports::state::{EpochCounts, ReportsRead};
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{TestDevice, TestNode, sensor_reading};

use crate::{device_genesis, device_reports_params, join, verdict};

const EPOCH_BLOCKS: u64 = 5;

#[test]
fn epoch_counts_are_saved_when_the_epoch_ends() {
    let genesis = device_genesis().reports_params(ReportsParams {
        epoch_blocks: EPOCH_BLOCKS,
        ..device_reports_params()
    });
    let mut node = TestNode::start(genesis.build()).unwrap();
    let mut sensor = TestDevice::ed25519(1, DeviceKind::Sensor);
    join(&mut node, 0, &sensor, None); // block 1
    let id = sensor.id();
    let temperature = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);

    // Block 2: a valid reading; block 3: a replay of it.
    let reading = node.report(&mut sensor, temperature(20_000)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![reading.clone()]).unwrap()[0]),
        (0, "")
    );
    assert_eq!(node.judge_reports(vec![reading]).unwrap()[0].code, 6);
    assert_eq!(node.height().unwrap(), 3);
    let epoch_counts = |node: &TestNode, epoch| {
        node.store()
            .snapshot()
            .unwrap()
            .epoch_counts(epoch, &id)
            .unwrap()
    };
    assert_eq!(epoch_counts(&node, 0), None);

    // Block 4 ends epoch 0 (blocks 0 to 4): its counts are saved.
    let reading = node.report(&mut sensor, temperature(20_050)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![reading]).unwrap()[0]),
        (0, "")
    );
    assert_eq!(node.height().unwrap(), EPOCH_BLOCKS - 1);
    assert_eq!(
        epoch_counts(&node, 0),
        Some(EpochCounts {
            epoch: 0,
            sensor_readings: 2,
            invalid: 1,
            ..EpochCounts::default()
        })
    );
    // And the device starts epoch 1 from zero.
    let activity = node.store().snapshot().unwrap().activity(&id).unwrap();
    assert_eq!(
        activity.counts,
        EpochCounts {
            epoch: 1,
            ..EpochCounts::default()
        }
    );

    // Epoch 1's reading is saved only when epoch 1 ends, at block 9.
    let reading = node.report(&mut sensor, temperature(20_100)).unwrap();
    assert_eq!(
        verdict(&node.judge_reports(vec![reading]).unwrap()[0]),
        (0, "")
    );
    while node.height().unwrap() < 2 * EPOCH_BLOCKS - 2 {
        node.produce_block().unwrap();
    }
    assert_eq!(epoch_counts(&node, 1), None);
    node.produce_block().unwrap();
    assert_eq!(
        epoch_counts(&node, 1),
        Some(EpochCounts {
            epoch: 1,
            sensor_readings: 1,
            ..EpochCounts::default()
        })
    );
    // Epoch 0's summary is still there.
    assert_eq!(epoch_counts(&node, 0).unwrap().sensor_readings, 2);
}
