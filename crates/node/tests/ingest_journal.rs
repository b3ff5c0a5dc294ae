//! The report queue's journal: reports a node accepted survive a crash (the queue is dropped
//! without any shutdown, as a SIGKILL would leave it) and come back on restart; once a committed
//! block includes them they are forgotten, and a restart brings back nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use groundwork_app::ChainInfo;
use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_node::ingest::ReportQueue;
use groundwork_proto::v1::MeasurementKind;
use groundwork_state::Store;
use groundwork_testkit::{GenesisBuilder, TestDevice, TestNode, sensor_reading};

/// A chain with two funded accounts and a maker allowed `allowance` devices, and what a report
/// queue needs of it.
fn node_with_maker(allowance: u64) -> (TestNode, ChainInfo, Store) {
    let node = TestNode::start(
        GenesisBuilder::new()
            .accounts(2, groundwork_primitives::Amount(1_000_000_000_000_000))
            .maker(allowance)
            .build(),
    )
    .unwrap();
    let chain = node.app().chain_info().unwrap().clone();
    let store = node.store().clone();
    (node, chain, store)
}

/// A sensor onboarded by account 0 (the onboarding must succeed).
fn onboarded_sensor(node: &mut TestNode, seed: u64) -> TestDevice {
    let sensor = TestDevice::ed25519(seed, DeviceKind::Sensor);
    let joined = node.onboard_device(0, &sensor, 0).unwrap();
    assert_eq!((joined.code, joined.error.as_str()), (0, ""));
    sensor
}

#[test]
fn accepted_reports_survive_a_crash_and_are_forgotten_once_committed() {
    let (mut node, chain, store) = node_with_maker(10);
    let mut sensor = onboarded_sensor(&mut node, 7);
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
    let (mut node, chain, store) = node_with_maker(10);
    let mut sensor = onboarded_sensor(&mut node, 8);
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

#[test]
fn batches_checked_one_after_the_other_join_the_queue_in_that_order_whichever_is_durable_first() {
    let (mut node, chain, store) = node_with_maker(10);
    let mut sensor = onboarded_sensor(&mut node, 9);
    let reading = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);
    let older = vec![node.report(&mut sensor, reading(20_000)).unwrap()];
    let newer = vec![node.report(&mut sensor, reading(20_100)).unwrap()];
    let now = node.next_block_time().unwrap();
    let (mut queue, _) =
        ReportQueue::with_journal(1, store.clone(), &store.snapshot().unwrap()).unwrap();

    let first = queue
        .check(&store.snapshot().unwrap(), &chain, older.clone(), now, 1)
        .unwrap();
    // The first batch holds the only place in the queue and its counter while it is journaled.
    let full = queue.check(&store.snapshot().unwrap(), &chain, newer.clone(), now, 1);
    assert!(
        matches!(full, Err(groundwork_node::ingest::AdmitError::Full(_))),
        "{full:?}"
    );
    let (mut queue, _) = {
        drop(first);
        ReportQueue::with_journal(2, store.clone(), &store.snapshot().unwrap()).unwrap()
    };
    let first = queue
        .check(&store.snapshot().unwrap(), &chain, older.clone(), now, 1)
        .unwrap();
    let replay = queue
        .check(&store.snapshot().unwrap(), &chain, older.clone(), now, 1)
        .unwrap();
    assert_eq!(replay.outcome().accepted, 0, "a counter held in flight");
    assert!(replay.outcome().rejected[0].reason.contains("replay"));
    assert_eq!(queue.enqueue(replay).accepted, 0);
    let second = queue
        .check(&store.snapshot().unwrap(), &chain, newer.clone(), now, 1)
        .unwrap();
    second.save(&store).unwrap();
    assert_eq!(queue.enqueue(second).accepted, 1);
    // Durable, answered, but behind the older batch still being journaled.
    assert!(queue.is_empty());
    first.save(&store).unwrap();
    assert_eq!(queue.enqueue(first).accepted, 1);
    assert_eq!(queue.candidates(10), [older, newer].concat());
}

#[test]
fn a_batch_whose_journal_write_failed_gives_back_its_place_and_its_counters() {
    let (mut node, chain, store) = node_with_maker(10);
    let mut sensor = onboarded_sensor(&mut node, 10);
    let reading = |milli| sensor_reading(&[(MeasurementKind::TemperatureC, milli)]);
    let batch = vec![
        node.report(&mut sensor, reading(20_000)).unwrap(),
        node.report(&mut sensor, reading(20_100)).unwrap(),
    ];
    let now = node.next_block_time().unwrap();
    let (mut queue, _) =
        ReportQueue::with_journal(2, store.clone(), &store.snapshot().unwrap()).unwrap();
    let failed = queue
        .check(&store.snapshot().unwrap(), &chain, batch.clone(), now, 1)
        .unwrap();
    assert_eq!(failed.outcome().accepted, 2);
    queue.abandon(failed);
    assert!(queue.is_empty());
    // Sent again, the same reports are neither replays nor over capacity.
    let outcome = queue
        .admit(&store.snapshot().unwrap(), &chain, batch.clone(), now, 1)
        .unwrap();
    assert_eq!((outcome.accepted, outcome.rejected.len()), (2, 0));
    assert_eq!(queue.candidates(10), batch);
    assert_eq!(store.ingest_load().unwrap().len(), 2);
}

#[test]
fn reports_admitted_by_concurrent_workers_are_answered_only_once_journaled_and_survive_a_crash() {
    let (mut node, chain, store) = node_with_maker(20);
    let mut sensors: Vec<TestDevice> = (0..8)
        .map(|i| onboarded_sensor(&mut node, 20 + i))
        .collect();
    let now = node.next_block_time().unwrap();
    // One request per device, five readings each.
    let requests: Vec<Vec<Vec<u8>>> = sensors
        .iter_mut()
        .map(|sensor| {
            (0..5)
                .map(|i| {
                    node.report(
                        sensor,
                        sensor_reading(&[(MeasurementKind::TemperatureC, 20_000 + i)]),
                    )
                    .unwrap()
                })
                .collect()
        })
        .collect();
    let (queue, _) =
        ReportQueue::with_journal(1_000, store.clone(), &store.snapshot().unwrap()).unwrap();
    let queue = std::sync::Mutex::new(queue);
    let answered = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for request in &requests {
            let (queue, store, chain, answered) = (&queue, &store, &chain, &answered);
            scope.spawn(move || {
                let (outcome, shared) = groundwork_node::ingest::admit_shared(
                    queue,
                    &store.snapshot().unwrap(),
                    chain,
                    request.clone(),
                    now,
                    2,
                    true,
                )
                .unwrap();
                assert_eq!((outcome.accepted, outcome.rejected.len()), (5, 0));
                assert_eq!(shared.as_deref(), Some(request.as_slice()));
                // Answered: every accepted report is in the journal already.
                let journaled: Vec<Vec<u8>> = store
                    .ingest_load()
                    .unwrap()
                    .into_iter()
                    .map(|(_, _, bytes)| bytes)
                    .collect();
                assert!(request.iter().all(|r| journaled.contains(r)));
                answered.fetch_add(outcome.accepted, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    assert_eq!(answered.into_inner(), 40);
    assert_eq!(queue.lock().unwrap().len(), 40);
    // "Crash": the queue is dropped with nothing flushed; every report comes back.
    drop(queue);
    let (queue, restored) =
        ReportQueue::with_journal(1_000, store.clone(), &store.snapshot().unwrap()).unwrap();
    assert_eq!(restored, 40);
    let mut back = queue.candidates(100);
    let mut sent: Vec<Vec<u8>> = requests.concat();
    back.sort();
    sent.sort();
    assert_eq!(back, sent);
}

#[test]
fn a_report_checked_against_a_snapshot_older_than_the_block_that_included_it_is_refused_as_a_replay()
 {
    let (mut node, chain, store) = node_with_maker(10);
    let mut sensor = onboarded_sensor(&mut node, 9);
    let report = node
        .report(
            &mut sensor,
            sensor_reading(&[(MeasurementKind::TemperatureC, 20_000)]),
        )
        .unwrap();
    let now = node.next_block_time().unwrap();
    let queue = std::sync::Mutex::new(
        ReportQueue::with_journal(100, store.clone(), &store.snapshot().unwrap())
            .unwrap()
            .0,
    );
    let before = store.snapshot().unwrap();
    let admit = |snapshot: &groundwork_state::Snapshot| {
        groundwork_node::ingest::admit_shared(
            &queue,
            snapshot,
            &chain,
            vec![report.clone()],
            now,
            1,
            false,
        )
        .unwrap()
        .0
    };
    assert_eq!(admit(&before).accepted, 1);

    // A block includes it; the queue forgets it and its device's queued counter.
    let candidates = queue.lock().unwrap().candidates(10);
    node.produce_block_with_reports(candidates).unwrap();
    queue.lock().unwrap().after_block(
        &[groundwork_primitives::sha256(&report)],
        &store.snapshot().unwrap(),
    );
    assert!(queue.lock().unwrap().is_empty());

    // The same report again (a client's retry), authenticated against the snapshot taken before
    // that block, as a worker that started before the block committed would: refused.
    let again = admit(&before);
    assert_eq!(again.accepted, 0, "{again:?}");
    assert!(
        again.rejected[0].reason.contains("duplicate or replay"),
        "{again:?}"
    );
    assert!(queue.lock().unwrap().is_empty());
}
