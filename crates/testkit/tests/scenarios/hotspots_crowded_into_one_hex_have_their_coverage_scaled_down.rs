use groundwork_proto::v1::report_body::Kind;
use groundwork_tokenomics::{Fixed, ProofKind};

use crate::{
    ALEXANDERPLATZ, BRANDENBURG_GATE, beacon, cell_of, finish_epoch, hotspot_at, line, payload,
    plausible_rssi, pool, rewards_genesis, rewards_of, rewards_params, verdict, witness,
};

#[test]
fn hotspots_crowded_into_one_hex_have_their_coverage_scaled_down() {
    // Coverage with HIP-17 density scaling (the default targets: one hotspot per res-8 to
    // res-10 hex).
    let params = rewards_params(vec![pool(ProofKind::Coverage, 10_000, true)], 1);
    let mut node = groundwork_testkit::TestNode::start(rewards_genesis(params).build()).unwrap();
    // Two hotspots on the same spot by the gate, one alone at Alexanderplatz.
    let mut first = hotspot_at(&mut node, 1, BRANDENBURG_GATE);
    let mut second = hotspot_at(&mut node, 2, BRANDENBURG_GATE);
    let mut alone = hotspot_at(&mut node, 3, ALEXANDERPLATZ);
    let (gate, alex) = (cell_of(BRANDENBURG_GATE), cell_of(ALEXANDERPLATZ));

    // Each crowded hotspot beacons once; the lone one hears both.
    let sent_at = node.next_block_time().unwrap();
    let reports = vec![
        node.report(&mut first, beacon(&node, payload(1))).unwrap(),
        node.report(&mut second, beacon(&node, payload(2))).unwrap(),
        node.report(
            &mut alone,
            Kind::Witness(witness(
                &first.id(),
                payload(1),
                plausible_rssi(gate, alex),
                sent_at + 300,
            )),
        )
        .unwrap(),
        node.report(
            &mut alone,
            Kind::Witness(witness(
                &second.id(),
                payload(2),
                plausible_rssi(gate, alex),
                sent_at + 350,
            )),
        )
        .unwrap(),
    ];
    for result in node.judge_reports(reports).unwrap() {
        assert_eq!(verdict(&result), (0, ""), "{result:?}");
    }
    let epoch = finish_epoch(&mut node);

    let (a, b, c) = (
        rewards_of(&node, &first.id(), epoch),
        rewards_of(&node, &second.id(), epoch),
        rewards_of(&node, &alone.id(), epoch),
    );
    let (a, b, c) = (
        line(&a, ProofKind::Coverage),
        line(&b, ProofKind::Coverage),
        line(&c, ProofKind::Coverage),
    );
    // Two in a hex whose limit is one: each counts for half.
    assert_eq!(a.density_scale, Fixed::from_bps(5_000));
    assert_eq!(b.density_scale, Fixed::from_bps(5_000));
    assert_eq!(c.density_scale, Fixed::ONE);
    // Same units (one witness each: a quarter unit), so the crowded ones weigh half as much.
    assert_eq!(a.units, Fixed::from_bps(2_500));
    assert_eq!(a.weight.0 * 2, a.units.raw());
    assert_eq!(a.amount, b.amount);
    // The lone witness: two units at full scale; weights 0.125 + 0.125 + 2 = 2.25.
    assert_eq!(c.units, Fixed::from_integer(2).unwrap());
    assert_eq!(a.amount.0, crate::EPOCH_EMISSION * 125 / 2_250);
    assert_eq!(c.amount.0, crate::EPOCH_EMISSION * 2_000 / 2_250);
    node.assert_invariants();
}
