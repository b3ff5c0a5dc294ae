//! The report queue's journal: reports a node accepted survive a crash (the queue is dropped
//! without any shutdown, as a SIGKILL would leave it) and come back on restart; once a committed
//! block includes them they are forgotten, and a restart brings back nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_node::ingest::ReportQueue;
use groundwork_proto::v1::MeasurementKind;
use groundwork_testkit::{GenesisBuilder, TestDevice, TestNode, sensor_reading};

#[test]
fn accepted_reports_survive_a_crash_and_are_forgotten_once_committed() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(2, groundwork_primitives::Amount(1_000_000_000_000_000))
            .maker(10)
            .build(),
    )
    .unwrap();
    let mut sensor = TestDevice::ed25519(7, DeviceKind::Sensor);
    let joined = node.onboard_device(0, &sensor, 0).unwrap();
    assert_eq!((joined.code, joined.error.as_str()), (0, ""));
    let chain = node.app().chain_info().unwrap().clone();
    let store = node.store().clone();
    let reading = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);
    let reports: Vec<Vec<u8>> = (0..3)
        .map(|i| node.report(&mut sensor, reading(20_000 + i)).unwrap())
        .collect();
    let now = node.next_block_time().unwrap();

    // Accept three reports, then "crash": the queue is dropped with nothing flushed.
    {
        let (mut queue, restored) =
            ReportQueue::with_journal(100, store.clone(), &store.snapshot().unwrap()).unwrap();
        assert_eq!(restored, 0);
        let outcome = queue
            .admit(&store.snapshot().unwrap(), &chain, reports.clone(), now, 1)
            .unwrap();
        assert_eq!((outcome.accepted, outcome.rejected.len()), (3, 0));
    }

    // The restarted queue holds them again, in order, and still refuses their replays.
    let (mut queue, restored) =
        ReportQueue::with_journal(100, store.clone(), &store.snapshot().unwrap()).unwrap();
    assert_eq!(restored, 3);
    assert_eq!(queue.candidates(10), reports);
    let again = queue
        .admit(
            &store.snapshot().unwrap(),
            &chain,
            vec![reports[2].clone()],
            now,
            1,
        )
        .unwrap();
    assert_eq!(again.accepted, 0);
    assert!(
        again.rejected[0].reason.contains("duplicate or replay"),
        "{again:?}"
    );

    // A block includes them: the queue and the journal forget them.
    // Every one is in the block with a verdict (three readings dated alike: the first is valid,
    // the others are judged implausible; what matters here is that none was lost).
    let block = node
        .produce_block_with_reports(queue.candidates(10))
        .unwrap();
    let counters: Vec<u64> = block
        .results
        .report_results
        .iter()
        .map(|r| r.counter)
        .collect();
    assert_eq!(counters, vec![1, 2, 3]);
    let included: Vec<_> = reports
        .iter()
        .map(|r| groundwork_primitives::sha256(r))
        .collect();
    queue.after_block(&included, &store.snapshot().unwrap());
    assert!(queue.is_empty());
    drop(queue);
    let (queue, restored) =
        ReportQueue::with_journal(100, store.clone(), &store.snapshot().unwrap()).unwrap();
    assert_eq!((restored, queue.len()), (0, 0));
    assert!(store.ingest_load().unwrap().is_empty());
}

#[test]
fn a_journaled_report_the_chain_has_superseded_is_forgotten_on_restart() {
    let mut node = TestNode::start(
        GenesisBuilder::new()
            .accounts(2, groundwork_primitives::Amount(1_000_000_000_000_000))
            .maker(10)
            .build(),
    )
    .unwrap();
    let mut sensor = TestDevice::ed25519(8, DeviceKind::Sensor);
    node.onboard_device(0, &sensor, 0).unwrap();
    let chain = node.app().chain_info().unwrap().clone();
    let store = node.store().clone();
    let reading = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);
    let first = node.report(&mut sensor, reading(20_000)).unwrap();
    let now = node.next_block_time().unwrap();
    {
        let (mut queue, _) =
            ReportQueue::with_journal(100, store.clone(), &store.snapshot().unwrap()).unwrap();
        queue
            .admit(
                &store.snapshot().unwrap(),
                &chain,
                vec![first.clone()],
                now,
                1,
            )
            .unwrap();
    }
    // Another node's block carried it (and a later report) before this node came back.
    let second = node.report(&mut sensor, reading(20_100)).unwrap();
    node.produce_block_with_reports(vec![first, second])
        .unwrap();
    let (queue, restored) =
        ReportQueue::with_journal(100, store.clone(), &store.snapshot().unwrap()).unwrap();
    assert_eq!((restored, queue.len()), (0, 0));
    assert!(store.ingest_load().unwrap().is_empty());
}
