use groundwork_app::TxError;
use groundwork_testkit::{TestDevice, create_deal_message};

use crate::{CLIENT, providers, storage_node, terms, test_file};

#[test]
fn duplicate_providers_in_a_segment_are_refused() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    // Pieces 0 and 1 of the second segment both on provider 0.
    let placement: Vec<Vec<&TestDevice>> = vec![
        vec![&devices[0], &devices[1], &devices[2]],
        vec![&devices[0], &devices[0], &devices[2]],
    ];
    let deal = file.create_deal(node.chain_id(), &node.address(CLIENT), &placement, terms(2));
    let tx = node
        .sign_tx(CLIENT, vec![create_deal_message(deal)])
        .unwrap();
    let refused = node.submit(tx).unwrap().unwrap_err();
    match refused {
        TxError::InvalidMessage { index: 0, reason } => assert!(
            reason.contains("segment 1 piece 1")
                && reason.contains("already holds a piece of this segment"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(node.storage_totals().unwrap().escrowed.0, 0);
}
