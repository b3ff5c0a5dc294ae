//! `App::check_txs`, the batched admission check, against `App::check_tx` one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use groundwork_app::genesis::{
    Genesis, GenesisAccount, GenesisParams, GenesisValidator, TokenInfo,
};
use groundwork_app::tx::{build_signed_tx, transfer_message};
use groundwork_app::{App, TxError};
use groundwork_primitives::{Address, Amount, SigningKey};
use groundwork_state::Store;

const CHAIN_ID: &str = "batch-check";

fn funded(i: u8) -> SigningKey {
    SigningKey::from_seed([i; 32])
}

fn app(directory: &std::path::Path) -> App {
    let store = Store::open(&directory.join("state.redb")).unwrap();
    let mut app = App::open(store).unwrap();
    let validator = SigningKey::from_seed([0xee; 32]).public_key();
    app.init_chain(&Genesis {
        makers: Vec::new(),
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: 1_700_000_000_000,
        token: TokenInfo::default(),
        params: GenesisParams::default(),
        accounts: (1..=40)
            .map(|i| GenesisAccount {
                address: Address::from_public_key(&funded(i).public_key()),
                balance: Amount(10_000_000),
            })
            .collect(),
        validators: vec![GenesisValidator {
            name: "v0".into(),
            public_key: hex::encode(validator.as_bytes()),
            power: 1,
        }],
    })
    .unwrap();
    app
}

#[test]
fn a_batch_check_gives_each_transaction_the_verdict_of_its_single_check() {
    let directory = tempfile::tempdir().unwrap();
    let app = app(directory.path());
    let to = Address([3; 20]);
    let fee = Amount(1_000);
    // Enough valid transactions that the signatures are checked in several batches over
    // threads, with every kind of refusal mixed in.
    let mut txs: Vec<Vec<u8>> = Vec::new();
    for i in 1..=40u8 {
        for nonce in 0..8 {
            txs.push(build_signed_tx(
                &funded(i),
                CHAIN_ID,
                nonce,
                fee,
                vec![transfer_message(&to, Amount(1))],
                "",
            ));
        }
    }
    let mut bad_signature = txs[5].clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    txs.insert(7, bad_signature);
    txs.insert(100, b"not a transaction".to_vec());
    txs.insert(
        200,
        build_signed_tx(
            &funded(1),
            "another-chain",
            0,
            fee,
            vec![transfer_message(&to, Amount(1))],
            "",
        ),
    );
    txs.insert(
        250,
        build_signed_tx(
            &funded(2),
            CHAIN_ID,
            0,
            fee,
            vec![transfer_message(&to, Amount(1_000_000_000))],
            "",
        ),
    );
    txs.insert(
        300,
        build_signed_tx(
            &funded(99),
            CHAIN_ID,
            0,
            fee,
            vec![transfer_message(&to, Amount(1))],
            "unfunded",
        ),
    );

    let batch = app.check_txs(&txs).unwrap();
    assert_eq!(batch.len(), txs.len());
    let mut refused = Vec::new();
    for (i, (tx, verdict)) in txs.iter().zip(&batch).enumerate() {
        let single = app.check_tx(tx).unwrap();
        match (verdict, &single) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.tx.hash, b.tx.hash);
                assert_eq!(a.account_nonce, b.account_nonce);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.code(), b.code(), "transaction {i}");
                refused.push((i, a.code()));
            }
            _ => panic!("transaction {i}: batch {verdict:?}, single {single:?}"),
        }
    }
    assert_eq!(
        refused,
        [(7, 2), (100, 1), (200, 3), (250, 6), (300, 6)],
        "bad signature, malformed, wrong chain, cannot pay, unfunded"
    );
    assert!(matches!(batch[7], Err(TxError::BadSignature)));
}
