use groundwork_proto::v1::report_body::Kind;

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, cell_of, device_node, hotspot_at, payload, plausible_rssi,
    verdict, witness,
};

#[test]
fn a_witness_of_an_unknown_beacon_is_refused() {
    let mut node = device_node();
    // The "beaconer" is a real hotspot that never beaconed this payload.
    let beaconer = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut near = hotspot_at(&mut node, 2, ALEXANDERPLATZ);
    let rssi = plausible_rssi(cell_of(BRANDENBURG_GATE), cell_of(ALEXANDERPLATZ));

    let sent_at = node.next_block_time().unwrap();
    let invented = Kind::Witness(witness(&beaconer.id(), payload(0xab), rssi, sent_at));
    let results = node
        .judge_reports(vec![node.report(&mut near, invented).unwrap()])
        .unwrap();

    assert_eq!(
        verdict(&results[0]),
        (
            15,
            format!(
                "no live beacon with payload id {}",
                hex::encode(payload(0xab))
            )
            .as_str()
        )
    );
}
