//! The test vector of `docs/protocol.md`, checked three ways: the Rust builder produces exactly the
//! bytes the page prints; the page's byte-by-byte protobuf encoding of the body is those bytes;
//! and `docs/examples/build_tx.py`, written from the page alone, produces them too.
//!
//! If one of these fails, the page or the code changed the wire contract: fix whichever is wrong,
//! and change the vector only on purpose (every client that signs transactions depends on it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use groundwork_app::genesis::{
    Genesis, GenesisAccount, GenesisParams, GenesisValidator, TokenInfo,
};
use groundwork_app::modules::accounts::state::{AccountsRead, account_key};
use groundwork_app::tx::{build_signed_tx, mint_credits_message, transfer_message, tx_root};
use groundwork_app::{App, BlockLimits, SignedTx, TxError};
use groundwork_primitives::{Address, Amount, Hash, SigningKey, domain, sha256, signed_message};
use groundwork_proto::Message as _;
use groundwork_proto::v1;
use groundwork_state::{StateRead, Store};

const CHAIN_ID: &str = "groundwork-devnet";
const SENDER_SEED: [u8; 32] = [0x01; 32];
const RECIPIENT_SEED: [u8; 32] = [0x02; 32];
const NONCE: u64 = 0;
const FEE: Amount = Amount(1_000);
const AMOUNT: Amount = Amount(1_250_000_000);

const PUBLIC_KEY: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const SENDER: &str = "gw16twkaqdqqxms5ymq0ahmhva398lnvuskjkyxv4";
const RECIPIENT: &str = "gw1k74d30a4m753yydru0cmuxn9hnjs8f7y39cqls";
const RECIPIENT_BYTES: &str = "b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c4";
const BODY: &str = "0a1167726f756e64776f726b2d6465766e65741a043130303022240a220a14b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c4120a31323530303030303030";
const SIGNED_MESSAGE: &str = "67726f756e64776f726b2f76312f74781167726f756e64776f726b2d6465766e65740a1167726f756e64776f726b2d6465766e65741a043130303022240a220a14b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c4120a31323530303030303030";
const SIGNATURE: &str = "f28707d5891510082aa70f63d58b01777c2cfd8cbc34742b5d44cec63c9a10a7da28dbd06151bcd76f110c9a08fcec544cd492c7898449356f8f0666c8c4270e";
const ENVELOPE: &str = "0a3f0a1167726f756e64776f726b2d6465766e65741a043130303022240a220a14b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c4120a3132353030303030303012220a208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c1a40f28707d5891510082aa70f63d58b01777c2cfd8cbc34742b5d44cec63c9a10a7da28dbd06151bcd76f110c9a08fcec544cd492c7898449356f8f0666c8c4270e";
const TX_HASH: &str = "cef814d961a9ae2e9d672d9e6b0f13567fde9ff0455d7f0629a67b4fb920b7ac";

/// The body written out field by field, exactly as the table in docs/protocol.md shows it.
/// Field 2 (nonce = 0) and field 5 (memo = "") hold their default values, so proto3 leaves them out.
const BODY_BY_HAND: &[&str] = &[
    "0a",                                       // field 1 chain_id, wire type 2 (length-delimited)
    "11",                                       // length 17
    "67726f756e64776f726b2d6465766e6574",       // "groundwork-devnet"
    "1a",                                       // field 3 fee, wire type 2
    "04",                                       // length 4
    "31303030",                                 // "1000"
    "22",                                       // field 4 messages, wire type 2
    "24",                                       // length 36: the Message below
    "0a",                                       //   Message field 1 transfer, wire type 2
    "22",                                       //   length 34: the Transfer below
    "0a",                                       //     Transfer field 1 to, wire type 2
    "14",                                       //     length 20
    "b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c4", // the recipient's 20 address bytes
    "12",                                       //     Transfer field 2 amount, wire type 2
    "0a",                                       //     length 10
    "31323530303030303030",                     //     "1250000000"
];

fn sender_key() -> SigningKey {
    SigningKey::from_seed(SENDER_SEED)
}

fn recipient() -> Address {
    Address::from_public_key(&SigningKey::from_seed(RECIPIENT_SEED).public_key())
}

fn vector_envelope() -> Vec<u8> {
    build_signed_tx(
        &sender_key(),
        CHAIN_ID,
        NONCE,
        FEE,
        vec![transfer_message(&recipient(), AMOUNT)],
        "",
    )
}

#[test]
fn keys_and_addresses_match_the_vector() {
    let public = sender_key().public_key();
    assert_eq!(hex::encode(public.as_bytes()), PUBLIC_KEY);
    // address = SHA-256(0x01 || key)[0..20]
    let mut tagged = vec![0x01];
    tagged.extend_from_slice(public.as_bytes());
    assert_eq!(
        Address::from_public_key(&public).as_bytes()[..],
        sha256(&tagged).0[..20]
    );
    assert_eq!(Address::from_public_key(&public).to_string(), SENDER);
    assert_eq!(recipient().to_string(), RECIPIENT);
    assert_eq!(hex::encode(recipient().as_bytes()), RECIPIENT_BYTES);
    assert_eq!(RECIPIENT.parse::<Address>().unwrap(), recipient());
}

#[test]
fn the_builder_produces_the_vector_byte_for_byte() {
    let envelope_bytes = vector_envelope();
    assert_eq!(hex::encode(&envelope_bytes), ENVELOPE);

    let envelope = v1::TxEnvelope::decode(envelope_bytes.as_slice()).unwrap();
    assert_eq!(hex::encode(&envelope.body), BODY);
    assert_eq!(hex::encode(&envelope.signature), SIGNATURE);
    assert_eq!(
        envelope.signer,
        Some(v1::PublicKey {
            key: Some(v1::public_key::Key::Ed25519(
                hex::decode(PUBLIC_KEY).unwrap()
            ))
        })
    );

    let message = signed_message(domain::TRANSACTION, CHAIN_ID, &envelope.body);
    assert_eq!(hex::encode(&message), SIGNED_MESSAGE);
    // "groundwork/v1/tx" || u8(17) || "groundwork-devnet" || body
    let mut by_rule = b"groundwork/v1/tx".to_vec();
    by_rule.push(CHAIN_ID.len() as u8);
    by_rule.extend_from_slice(CHAIN_ID.as_bytes());
    by_rule.extend_from_slice(&envelope.body);
    assert_eq!(message, by_rule);

    // ed25519 is deterministic (RFC 8032): the same key and message always give this signature.
    assert_eq!(
        hex::encode(
            sender_key()
                .sign(domain::TRANSACTION, CHAIN_ID, &envelope.body)
                .0
        ),
        SIGNATURE
    );
    assert_eq!(sha256(&envelope_bytes).to_hex(), TX_HASH);

    let tx = SignedTx::decode(&envelope_bytes).unwrap();
    assert_eq!(tx.hash.to_hex(), TX_HASH);
    assert_eq!(tx.sender.to_string(), SENDER);
    assert_eq!(tx.signed_message(), message);
    tx.verify_signature().unwrap();
}

#[test]
fn the_hand_encoding_on_the_page_is_the_body() {
    let by_hand: String = BODY_BY_HAND.concat();
    assert_eq!(by_hand, BODY);
    let body = v1::TxBody::decode(hex::decode(&by_hand).unwrap().as_slice()).unwrap();
    assert_eq!(body.chain_id, CHAIN_ID);
    assert_eq!(body.nonce, NONCE);
    assert_eq!(body.fee, "1000");
    assert_eq!(body.memo, "");
    assert_eq!(body.messages, vec![transfer_message(&recipient(), AMOUNT)]);
}

#[test]
fn the_envelope_layout_on_the_page_is_the_envelope() {
    // 0a 3f <body, 63 bytes> 12 22 (0a 20 <public key>) 1a 40 <signature>
    let by_hand = ["0a3f", BODY, "1222", "0a20", PUBLIC_KEY, "1a40", SIGNATURE].concat();
    assert_eq!(by_hand, ENVELOPE);
    assert_eq!(BODY.len() / 2, 0x3f);
}

#[test]
fn the_tx_root_follows_the_rule_on_the_page() {
    let hash: Hash = TX_HASH.parse().unwrap();
    let leaf = |h: &Hash| {
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(&h.0);
        sha256(&bytes)
    };
    let node = |l: &Hash, r: &Hash| {
        let mut bytes = vec![0x01];
        bytes.extend_from_slice(&l.0);
        bytes.extend_from_slice(&r.0);
        sha256(&bytes)
    };
    assert_eq!(tx_root(&[]), Hash::ZERO);
    assert_eq!(tx_root(&[hash]), leaf(&hash));
    // Three transactions: the third leaf has no partner at the first level and is carried up.
    let (a, b, c) = (sha256(b"a"), sha256(b"b"), sha256(b"c"));
    assert_eq!(
        tx_root(&[a, b, c]),
        node(&node(&leaf(&a), &leaf(&b)), &leaf(&c))
    );
    assert_eq!(tx_root(&[hash]).to_hex(), TX_ROOT_OF_THE_VECTOR);
}

const TX_ROOT_OF_THE_VECTOR: &str =
    "fc8d704ce6e61f8ad0ebfbc10970a92dc581c861510356798342062f14f2c13d";

/// The genesis of the state-root vector on the page.
fn vector_genesis(validator: &groundwork_primitives::PublicKey) -> Genesis {
    Genesis {
        makers: Vec::new(),
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: GENESIS_TIME_MS,
        token: TokenInfo::default(),
        params: GenesisParams::default(),
        accounts: vec![GenesisAccount {
            address: Address::from_public_key(&sender_key().public_key()),
            balance: Amount(10_000_000_000),
        }],
        validators: vec![GenesisValidator {
            name: "v0".into(),
            public_key: hex::encode(validator.as_bytes()),
            power: 1,
        }],
    }
}

const GENESIS_TIME_MS: u64 = 1_700_000_000_000;
const BLOCK_TIME_MS: u64 = 1_700_000_001_000;
const GENESIS_APP_HASH: &str = "1b1b57ececa176fd2e371f7185776417ea1589cf2eb58154b80b591d49e2ca39";
const BLOCK_1_APP_HASH: &str = "1440698935ad770dc27804a6b3ac3a7a11e289898dcab2af4fac00372c1d9976";
const BLOCK_1_HASH: &str = "285a105f355498a9525e241116a6cd759e8f1a02f3273709e848504b6a6c61c6";

/// The state root exactly as the page defines it: a sparse binary Merkle tree over SHA-256(key),
/// most significant bit first, where a subtree with one key is that key's leaf.
fn state_root_by_the_page(pairs: &[(Vec<u8>, Vec<u8>)]) -> Hash {
    fn root(leaves: &[([u8; 32], [u8; 32])], depth: usize) -> [u8; 32] {
        match leaves {
            [] => *b"SPARSE_MERKLE_PLACEHOLDER_HASH__",
            [(key_hash, value_hash)] => {
                sha256(&[b"JMT::LeafNode", &key_hash[..], &value_hash[..]].concat()).0
            }
            _ => {
                let bit = |key_hash: &[u8; 32]| (key_hash[depth / 8] >> (7 - depth % 8)) & 1;
                let (left, right): (Vec<_>, Vec<_>) = leaves.iter().partition(|(k, _)| bit(k) == 0);
                let (left, right) = (root(&left, depth + 1), root(&right, depth + 1));
                sha256(&[b"JMT::IntrnalNode", &left[..], &right[..]].concat()).0
            }
        }
    }
    let leaves: Vec<([u8; 32], [u8; 32])> = pairs
        .iter()
        .map(|(key, value)| (sha256(key).0, sha256(value).0))
        .collect();
    Hash(root(&leaves, 0))
}

fn whole_state(app: &App) -> Vec<(Vec<u8>, Vec<u8>)> {
    app.store()
        .snapshot()
        .unwrap()
        .scan_prefix(b"", None, usize::MAX)
        .unwrap()
}

#[test]
fn the_vector_executes_and_the_state_root_follows_the_page() {
    let directory = tempfile::tempdir().unwrap();
    let store = Store::open(&directory.path().join("state.redb")).unwrap();
    let mut app = App::open(store).unwrap();
    let sender = Address::from_public_key(&sender_key().public_key());
    let validator = SigningKey::from_seed([0x03; 32]).public_key();
    let genesis_root = app.init_chain(&vector_genesis(&validator)).unwrap();
    assert_eq!(genesis_root.to_hex(), GENESIS_APP_HASH);
    assert_eq!(state_root_by_the_page(&whole_state(&app)), genesis_root);
    assert_eq!(
        state_root_by_the_page(&[]).0,
        *b"SPARSE_MERKLE_PLACEHOLDER_HASH__"
    );

    let envelope = vector_envelope();
    app.check_tx(&envelope).unwrap().unwrap();
    let block = app
        .produce_block(
            BLOCK_TIME_MS,
            validator,
            std::slice::from_ref(&envelope),
            BlockLimits::default(),
        )
        .unwrap();
    assert_eq!(block.results.tx_results.len(), 1);
    let result = &block.results.tx_results[0];
    assert_eq!((result.code, result.fee_charged.as_str()), (0, "1000"));
    let header = block.header();
    assert_eq!(header.parent_hash, vec![0; 32]);
    assert_eq!(
        header.tx_root,
        tx_root(&[TX_HASH.parse().unwrap()]).0.to_vec()
    );
    assert_eq!(
        header.results_hash,
        sha256(&block.results.encode_to_vec()).0.to_vec()
    );
    assert_eq!(hex::encode(&header.app_hash), BLOCK_1_APP_HASH);
    assert_eq!(block.block_hash, sha256(&header.encode_to_vec()));
    assert_eq!(block.block_hash.to_hex(), BLOCK_1_HASH);

    // The state as the page lays it out.
    let state = whole_state(&app);
    assert_eq!(state_root_by_the_page(&state).to_hex(), BLOCK_1_APP_HASH);
    let value = |key: &[u8]| {
        state
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let account_value =
        |balance: u128, nonce: u64| [&balance.to_be_bytes()[..], &nonce.to_be_bytes()].concat();
    let mut sender_key_bytes = b"accounts/a/".to_vec();
    sender_key_bytes.extend_from_slice(sender.as_bytes());
    assert_eq!(account_key(&sender), sender_key_bytes);
    assert_eq!(
        value(&sender_key_bytes),
        account_value(10_000_000_000 - 1_000 - 1_250_000_000, 1)
    );
    assert_eq!(
        value(&account_key(&recipient())),
        account_value(1_250_000_000, 0)
    );
    assert_eq!(
        value(b"accounts/supply"),
        [
            10_000_000_000u128.to_be_bytes(),
            0u128.to_be_bytes(),
            1_000u128.to_be_bytes()
        ]
        .concat()
    );
    assert_eq!(value(b"accounts/params"), br#"{"min_fee":"1000"}"#);
    assert_eq!(
        value(b"chain/last_block"),
        br#"{"height":1,"time_ms":1700000001000}"#
    );
    assert_eq!(
        value(b"chain/info"),
        br#"{"chain_id":"groundwork-devnet","token":{"symbol":"GWT","decimals":8},"genesis_time_ms":1700000000000}"#
    );
    assert_eq!(
        value(b"chain/validators"),
        format!(
            r#"[{{"name":"v0","public_key":"{}","power":1}}]"#,
            hex::encode(validator.as_bytes())
        )
        .into_bytes()
    );
    // Module parameters written at genesis, and the parent's hash kept for beacon randomness.
    for key in [
        &b"devices/params"[..],
        b"staking/params",
        b"reports/params",
        b"rewards/params",
        b"storage/params",
        b"credits/params",
    ] {
        assert!(
            value(key).starts_with(b"{"),
            "{}",
            String::from_utf8_lossy(key)
        );
    }
    assert_eq!(
        value(&[&b"chain/block_hash/"[..], &0u64.to_be_bytes()].concat()),
        vec![0; 32]
    );
    assert_eq!(state.len(), 14);
    assert_eq!(
        app.store()
            .snapshot()
            .unwrap()
            .account(&sender)
            .unwrap()
            .nonce,
        1
    );

    // Replaying the same bytes fails its nonce and costs nothing.
    assert!(matches!(
        app.check_tx(&envelope).unwrap(),
        Err(TxError::BadNonce {
            expected: 1,
            got: 0
        })
    ));
}

/// Runs `docs/examples/build_tx.py` with `args` and returns its `name: value` lines.
fn run_python_example(args: &[&str]) -> Vec<(String, String)> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/build_tx.py"
    );
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs docs/examples/build_tx.py (install Python 3 to run this test)");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "build_tx.py {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn printed(lines: &[(String, String)], name: &str) -> String {
    lines
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| panic!("build_tx.py printed no `{name}` line: {lines:?}"))
}

#[test]
fn the_python_example_reproduces_the_vector() {
    let lines = run_python_example(&[]);
    assert_eq!(printed(&lines, "public_key"), PUBLIC_KEY);
    assert_eq!(printed(&lines, "sender"), SENDER);
    assert_eq!(printed(&lines, "recipient"), RECIPIENT);
    assert_eq!(printed(&lines, "body"), BODY);
    assert_eq!(printed(&lines, "signed_message"), SIGNED_MESSAGE);
    assert_eq!(printed(&lines, "signature"), SIGNATURE);
    assert_eq!(printed(&lines, "envelope"), ENVELOPE);
    assert_eq!(printed(&lines, "tx_hash"), TX_HASH);
}

#[test]
fn the_python_example_agrees_with_the_builder_on_nonces_and_memos() {
    // A multi-byte varint nonce and a memo: the fields the vector leaves at their defaults.
    let key = SigningKey::from_seed([0x07; 32]);
    let expected = build_signed_tx(
        &key,
        "test-2",
        300,
        Amount(2_500),
        vec![transfer_message(&recipient(), Amount(7))],
        "hi",
    );
    let lines = run_python_example(&[
        "--seed",
        &hex::encode([0x07; 32]),
        "--chain-id",
        "test-2",
        "--nonce",
        "300",
        "--fee",
        "2500",
        "--to",
        RECIPIENT,
        "--amount",
        "7",
        "--memo",
        "hi",
    ]);
    assert_eq!(printed(&lines, "envelope"), hex::encode(&expected));
    assert_eq!(printed(&lines, "tx_hash"), sha256(&expected).to_hex());
}

/// The MintCredits vector on the page: the sender burns 1 token (100,000,000 base units at 8
/// decimals) for credits to the recipient, accepting no fewer than 100,000 credits, nonce 1.
const MINT_BODY: &str = "0a1167726f756e64776f726b2d6465766e657410011a043130303022275a250a093130303030303030301214b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c418a08d06";
const MINT_TX_HASH: &str = "dbe85b1a847f1091ef87f6019b9cc2f0b18b13f5996b683abc0b155c4420e694";

/// The MintCredits body written out field by field, as the page's table shows it.
const MINT_BODY_BY_HAND: &[&str] = &[
    "0a11",                                     // field 1 chain_id, length 17
    "67726f756e64776f726b2d6465766e6574",       // "groundwork-devnet"
    "1001",                                     // field 2 nonce, wire type 0: 1
    "1a04",                                     // field 3 fee, length 4
    "31303030",                                 // "1000"
    "2227",                                     // field 4 messages, length 39
    "5a25",               //   Message field 11 mint_credits (11 << 3 | 2), length 37
    "0a09",               //     MintCredits field 1 amount, length 9
    "313030303030303030", //     "100000000"
    "1214",               //     field 2 beneficiary, length 20
    "b7aad8bfb5dfa91211a3e3f1be1a65bce503a7c4", //     the recipient's address bytes
    "18a08d06",           //     field 3 min_credits, varint 100000
];

fn mint_vector_envelope() -> Vec<u8> {
    build_signed_tx(
        &sender_key(),
        CHAIN_ID,
        1,
        FEE,
        vec![mint_credits_message(
            Amount(100_000_000),
            Some(&recipient()),
            100_000,
        )],
        "",
    )
}

#[test]
fn the_mint_credits_vector_is_the_page_and_the_python_example() {
    let envelope_bytes = mint_vector_envelope();
    let envelope = v1::TxEnvelope::decode(envelope_bytes.as_slice()).unwrap();
    assert_eq!(hex::encode(&envelope.body), MINT_BODY);
    assert_eq!(MINT_BODY_BY_HAND.concat(), MINT_BODY);
    assert_eq!(sha256(&envelope_bytes).to_hex(), MINT_TX_HASH);
    let tx = SignedTx::decode(&envelope_bytes).unwrap();
    tx.verify_signature().unwrap();
    assert_eq!(tx.total_cost(), Some(Amount(100_001_000)));

    let lines = run_python_example(&[
        "--kind",
        "mint-credits",
        "--nonce",
        "1",
        "--amount",
        "100000000",
        "--to",
        RECIPIENT,
        "--min-credits",
        "100000",
    ]);
    assert_eq!(printed(&lines, "body"), MINT_BODY);
    assert_eq!(printed(&lines, "envelope"), hex::encode(&envelope_bytes));
    assert_eq!(printed(&lines, "tx_hash"), MINT_TX_HASH);
}
