use groundwork_app::modules::accounts::state::account_key;
use groundwork_primitives::Amount;
use groundwork_state::verify_proof;

use crate::{MIN_FEE, START, node, stranger};

#[test]
fn an_account_proof_verifies_against_the_app_hash() {
    let mut node = node();
    let (alice, bob) = (node.address(0), node.address(1));
    for _ in 0..2 {
        let tx = node.transfer(0, bob, Amount(1_234)).unwrap();
        node.submit(tx).unwrap().unwrap();
        node.produce_block().unwrap();
    }
    let tip = node.tip().unwrap();
    let header_app_hash = node.block(tip.height).unwrap().header.unwrap().app_hash;
    assert_eq!(header_app_hash, tip.app_hash.0.to_vec());

    let key = account_key(&alice);
    let proof = node.store().prove(&key).unwrap();
    assert_eq!((proof.root, proof.height), (tip.app_hash, tip.height));
    let value = hex::decode(proof.value.as_deref().unwrap()).unwrap();
    let proof_bytes = hex::decode(&proof.proof).unwrap();
    verify_proof(&tip.app_hash, &key, Some(&value), &proof_bytes).unwrap();

    // The proven value is alice's account: balance (u128 BE) then nonce (u64 BE).
    let balance = u128::from_be_bytes(value[..16].try_into().unwrap());
    let nonce = u64::from_be_bytes(value[16..].try_into().unwrap());
    assert_eq!(balance, START.0 - 2 * (1_234 + MIN_FEE.0));
    assert_eq!(nonce, 2);

    // Another value, another key or another root does not verify.
    let mut richer = value.clone();
    richer[15] ^= 1;
    assert!(verify_proof(&tip.app_hash, &key, Some(&richer), &proof_bytes).is_err());
    assert!(
        verify_proof(
            &tip.app_hash,
            &account_key(&bob),
            Some(&value),
            &proof_bytes
        )
        .is_err()
    );
    let parent_root = node.history().unwrap()[0].app_hash;
    assert!(verify_proof(&parent_root, &key, Some(&value), &proof_bytes).is_err());

    // An account that never existed has a proof of absence.
    let absent_key = account_key(&stranger());
    let absent = node.store().prove(&absent_key).unwrap();
    assert_eq!(absent.value, None);
    verify_proof(
        &tip.app_hash,
        &absent_key,
        None,
        &hex::decode(&absent.proof).unwrap(),
    )
    .unwrap();
}
