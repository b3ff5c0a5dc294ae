//! Ingest refuses each bad report with the reason of the first check it fails — registered and
//! active device, this network, a valid signature, fresh, a counter above every one seen — and
//! queues the rest of the batch. Later batches reuse the device keys decompressed for earlier
//! ones, and a forged signature is still refused then.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_node::ingest::ReportQueue;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{
    GenesisBuilder, TestDevice, TestNode, decommission_device_message, sensor_reading,
};

fn reading(milli: i64) -> groundwork_proto::v1::report_body::Kind {
    sensor_reading(&[(MeasurementKind::TemperatureC, milli)])
}

/// Flips one bit of an envelope's signature (the last field of the encoding).
fn forge(mut report: Vec<u8>) -> Vec<u8> {
    let last = report.len() - 1;
    report[last] ^= 0x01;
    report
}

#[test]
fn each_bad_report_of_a_batch_is_refused_with_the_first_check_it_fails() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(2, groundwork_primitives::Amount(1_000_000_000_000_000))
            .maker(10)
            .build(),
    )
    .unwrap();
    let mut good = TestDevice::ed25519(1, DeviceKind::Sensor);
    let mut retired = TestDevice::ed25519(2, DeviceKind::Sensor);
    let mut stranger = TestDevice::ed25519(3, DeviceKind::Sensor);
    let mut secure = TestDevice::p256(4, DeviceKind::Sensor);
    for device in [&good, &retired, &secure] {
        let joined = node.onboard_device(0, device, 0).unwrap();
        assert_eq!((joined.code, joined.error.as_str()), (0, ""));
    }
    let retire = node
        .sign_tx(0, vec![decommission_device_message(&retired.id())])
        .unwrap();
    node.submit(retire).unwrap().unwrap();
    node.produce_block().unwrap();

    let chain = node.app().chain_info().unwrap().clone();
    let store = node.store().clone();
    let now = node.next_block_time().unwrap();
    let mut queue = ReportQueue::new(100);

    let batch = vec![
        node.report(&mut good, reading(20_000)).unwrap(),
        node.report(&mut stranger, reading(20_000)).unwrap(),
        node.report(&mut retired, reading(20_000)).unwrap(),
        good.report("another-network", now, reading(20_000)),
        forge(node.report(&mut good, reading(20_000)).unwrap()),
        good.report(&chain.chain_id, now - 24 * 3_600_000, reading(20_000)),
        good.report_with_counter(&chain.chain_id, 1, now, reading(20_100)),
        b"not a report".to_vec(),
        node.report(&mut secure, reading(19_000)).unwrap(),
        node.report(&mut good, reading(20_200)).unwrap(),
    ];
    let outcome = queue
        .admit(&store.snapshot().unwrap(), &chain, batch, now, 2)
        .unwrap();
    let reasons: Vec<(usize, &str)> = outcome
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.as_str()))
        .collect();
    let expect = [
        (1, "unknown device"),
        (2, "is decommissioned"),
        (3, "is for chain \"another-network\""),
        (4, "signature does not match"),
        (5, "is not fresh"),
        (6, "duplicate or replay"),
        (7, ""),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:?}");
    for ((index, reason), (want_index, want)) in reasons.iter().zip(expect) {
        assert_eq!(*index, want_index, "{reasons:?}");
        assert!(reason.contains(want), "report {index}: {reason:?}");
    }
    assert!(!reasons[6].1.is_empty(), "undecodable bytes get a reason");
    // The good, the secure-element and the later good report are queued, in batch order.
    assert_eq!(outcome.accepted, 3);
    assert_eq!(queue.len(), 3);

    // A second batch: the keys come from the queue's cache now; a forgery is still caught and
    // an honest report still passes, for both key types.
    let second = vec![
        forge(node.report(&mut secure, reading(19_100)).unwrap()),
        node.report(&mut good, reading(20_300)).unwrap(),
        forge(node.report(&mut good, reading(20_400)).unwrap()),
        node.report(&mut secure, reading(19_200)).unwrap(),
    ];
    let outcome = queue
        .admit(&store.snapshot().unwrap(), &chain, second, now, 2)
        .unwrap();
    let refused: Vec<usize> = outcome.rejected.iter().map(|r| r.index).collect();
    assert_eq!(refused, vec![0, 2], "{:?}", outcome.rejected);
    assert!(
        outcome
            .rejected
            .iter()
            .all(|r| r.reason.contains("signature does not match"))
    );
    assert_eq!(outcome.accepted, 2);
    assert_eq!(queue.len(), 5);
}
