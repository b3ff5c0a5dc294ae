use groundwork_proto::v1::report_body::Kind;

use crate::{BRANDENBURG_GATE, beacon, device_node, hotspot_at, payload, verdict, witness};

#[test]
fn a_device_cannot_witness_itself() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        node.report(
            &mut beaconer,
            Kind::Witness(witness(&id, payload(1), -300, sent_at)),
        )
        .unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(
        verdict(&results[1]),
        (
            16,
            "invalid witness: a device cannot witness its own beacon"
        )
    );
}
