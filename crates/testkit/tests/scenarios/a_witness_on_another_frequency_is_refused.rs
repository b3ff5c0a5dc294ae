use groundwork_proto::v1::{self, report_body::Kind};

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, EU868_HZ, beacon, cell_of, device_node, hotspot_at, payload,
    plausible_rssi, verdict, witness,
};

#[test]
fn a_witness_on_another_frequency_is_refused() {
    let mut node = device_node();
    let mut beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut near = hotspot_at(&mut node, 2, ALEXANDERPLATZ);
    let rssi = plausible_rssi(cell_of(BRANDENBURG_GATE), cell_of(ALEXANDERPLATZ));

    let sent_at = node.next_block_time().unwrap();
    let id = beaconer.id();
    // 868.3 MHz, the next EU868 channel, 200 kHz away.
    let heard = Kind::Witness(v1::Witness {
        frequency_hz: EU868_HZ + 200_000,
        ..witness(&id, payload(1), rssi, sent_at + 200)
    });
    let reports = vec![
        node.report(&mut beaconer, beacon(&node, payload(1)))
            .unwrap(),
        node.report(&mut near, heard).unwrap(),
    ];
    let results = node.judge_reports(reports).unwrap();

    assert_eq!(verdict(&results[0]), (0, ""));
    assert_eq!(
        verdict(&results[1]),
        (
            16,
            "invalid witness: frequency differs from the beacon's by 200000 Hz (at most 100000)"
        )
    );
}
