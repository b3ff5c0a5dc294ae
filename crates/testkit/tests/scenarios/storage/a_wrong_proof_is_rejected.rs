use groundwork_app::modules::storage::state::StorageRead;
use groundwork_storage_net::commitment::ChunkProof;
use groundwork_testkit::submit_proof_message;

use crate::{
    HELPER, make_deal, outcome, owner_of, proofs_for, providers, storage_node, test_file, to_window,
};

#[test]
fn a_wrong_proof_is_rejected() {
    let mut node = storage_node();
    let devices = providers(&mut node, 3);
    let file = test_file();
    let id = make_deal(
        &mut node,
        &file,
        &[&devices[0], &devices[1], &devices[2]],
        2,
    );
    let period = node.deal(id).unwrap().unwrap().start_period;
    let owner = node.address(owner_of(0));
    to_window(&mut node, period);
    let before = node.balance(owner).unwrap();
    let provider = devices[0].id();
    let (period_due, proofs) = proofs_for(&node, &file, id, &provider);
    assert_eq!(period_due, period);

    // One flipped bit in the third proof's chunk.
    let mut corrupted = proofs.clone();
    let mut proof = ChunkProof::from_bytes(&corrupted[2]).unwrap();
    proof.chunk[0] ^= 1;
    corrupted[2] = proof.to_bytes();
    let wrong = node
        .execute(
            HELPER,
            vec![submit_proof_message(id, &provider, period, corrupted)],
        )
        .unwrap();
    assert_eq!(wrong.code, 8);
    assert!(
        wrong.error.contains("proof 2")
            && wrong.error.contains("does not lead to the committed root"),
        "{}",
        wrong.error
    );

    // A true proof of another chunk than the one challenged.
    let mut shifted = proofs.clone();
    let challenged = ChunkProof::from_bytes(&shifted[0]).unwrap().chunk_index;
    let (s, p) = {
        let view = node.challenges(id).unwrap();
        let mine = view
            .providers
            .iter()
            .find(|x| x.provider == provider)
            .unwrap();
        (
            mine.challenges[0].segment as usize,
            mine.challenges[0].piece as usize,
        )
    };
    let segment = &file.segments[s];
    let chunks = groundwork_storage_net::commitment::chunk_count(segment.pieces[p].len() as u64);
    let other = (challenged + 1) % chunks;
    shifted[0] = segment.trees[p]
        .prove(&segment.pieces[p], other)
        .unwrap()
        .to_bytes();
    let misdirected = node
        .execute(
            HELPER,
            vec![submit_proof_message(id, &provider, period, shifted)],
        )
        .unwrap();
    assert_eq!(misdirected.code, 8);
    assert!(
        misdirected.error.contains("the challenge is chunk"),
        "{}",
        misdirected.error
    );

    // Too few proofs.
    let short = node
        .execute(
            HELPER,
            vec![submit_proof_message(
                id,
                &provider,
                period,
                proofs[..3].to_vec(),
            )],
        )
        .unwrap();
    assert!(
        short.error.contains("3 proofs for 10 challenges"),
        "{}",
        short.error
    );

    // Garbage is refused before execution, by the mempool.
    let garbage = node
        .sign_tx(
            HELPER,
            vec![submit_proof_message(
                id,
                &provider,
                period,
                vec![vec![1, 2, 3]],
            )],
        )
        .unwrap();
    let refused = node.submit(garbage).unwrap().unwrap_err();
    assert!(refused.to_string().contains("proof 0"), "{refused}");

    // Nothing was paid or recorded; the right proofs still pass within the window.
    assert_eq!(node.balance(owner).unwrap(), before);
    assert!(
        node.store()
            .snapshot()
            .unwrap()
            .proof_record(id, period, &provider)
            .unwrap()
            .is_none()
    );
    let right = node
        .execute(
            HELPER,
            vec![submit_proof_message(id, &provider, period, proofs)],
        )
        .unwrap();
    assert_eq!(outcome(&right), (0, ""));
    assert_eq!(node.balance(owner).unwrap().0, before.0 + 50_048);
}
