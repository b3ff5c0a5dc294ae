//! Transactions: decoding with limits, the stateless checks, hashes and the transaction root.
//!
//! A transaction's hash is SHA-256 of its encoded `TxEnvelope`. The transaction root of a block
//! is a binary Merkle tree over the hashes: leaves are `SHA-256(0x00 ‖ tx hash)`, inner nodes
//! `SHA-256(0x01 ‖ left ‖ right)`, an odd node is carried up unchanged, and an empty block has
//! the all-zero root.

use groundwork_primitives::{
    Address, Amount, Hash, PublicKey, Signature, domain, sha256, signed_message,
};
use groundwork_proto::v1::{self, message::Kind, public_key::Key};
use groundwork_proto::{MAX_MEMO_BYTES, MAX_MESSAGES_PER_TX, MAX_TX_BYTES, decode_bounded};

use crate::error::TxError;
use crate::modules::accounts::msgs::Transfer;
use crate::modules::credits::msgs::{MintCredits, SubmitPrice};
use crate::modules::devices::msgs::{
    AssertLocation, DecommissionDevice, OnboardDevice, TransferDevice,
};
use crate::modules::staking::msgs::WithdrawUnbonded;
use crate::modules::storage::msgs::StorageMsg;

/// A typed, statelessly checked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Accounts: a transfer.
    Transfer(Transfer),
    /// Devices: onboard a device.
    OnboardDevice(OnboardDevice),
    /// Devices: assert a location.
    AssertLocation(AssertLocation),
    /// Devices: hand a device to a new owner.
    TransferDevice(TransferDevice),
    /// Devices: retire a device.
    DecommissionDevice(DecommissionDevice),
    /// Staking: withdraw released stake.
    WithdrawUnbonded(WithdrawUnbonded),
    /// Credits: an oracle's token price.
    SubmitPrice(SubmitPrice),
    /// Credits: burn tokens for credits.
    MintCredits(MintCredits),
    /// Storage: offers, deals, proofs, termination, repair.
    Storage(StorageMsg),
}

impl Msg {
    fn from_proto(message: &v1::Message) -> Result<Msg, String> {
        match &message.kind {
            Some(Kind::Transfer(transfer)) => Transfer::from_proto(transfer).map(Msg::Transfer),
            Some(Kind::OnboardDevice(m)) => OnboardDevice::from_proto(m).map(Msg::OnboardDevice),
            Some(Kind::AssertLocation(m)) => AssertLocation::from_proto(m).map(Msg::AssertLocation),
            Some(Kind::TransferDevice(m)) => TransferDevice::from_proto(m).map(Msg::TransferDevice),
            Some(Kind::DecommissionDevice(m)) => {
                DecommissionDevice::from_proto(m).map(Msg::DecommissionDevice)
            }
            Some(Kind::WithdrawUnbonded(_)) => Ok(Msg::WithdrawUnbonded(WithdrawUnbonded)),
            Some(Kind::SubmitPrice(m)) => SubmitPrice::from_proto(m).map(Msg::SubmitPrice),
            Some(Kind::MintCredits(m)) => MintCredits::from_proto(m).map(Msg::MintCredits),
            Some(
                kind @ (Kind::RegisterStorageProvider(_)
                | Kind::UpdateStorageProvider(_)
                | Kind::WithdrawStorageProvider(_)
                | Kind::CreateDeal(_)
                | Kind::SubmitStorageProof(_)
                | Kind::TerminateDeal(_)
                | Kind::RepairDeal(_)),
            ) => StorageMsg::from_proto(kind).map(Msg::Storage),
            None => Err("the message names no action (unknown or empty kind)".into()),
        }
    }

    /// Tokens this message takes from the sender's liquid balance, for the mempool's funds check.
    pub fn spends(&self) -> Amount {
        match self {
            Msg::Transfer(t) => t.amount,
            Msg::MintCredits(m) => m.amount,
            // Stake and location fees depend on state; execution checks them.
            _ => Amount::ZERO,
        }
    }
}

/// A decoded transaction that passed every check that needs no state, except the signature.
#[derive(Debug, Clone)]
pub struct SignedTx {
    /// SHA-256 of the envelope bytes.
    pub hash: Hash,
    /// The envelope's size in bytes.
    pub size: usize,
    /// The signer's key.
    pub signer: PublicKey,
    /// The account that sends it (derived from the key).
    pub sender: Address,
    /// The signature.
    pub signature: Signature,
    /// The signed body bytes.
    pub body_bytes: Vec<u8>,
    /// The chain id the body names.
    pub chain_id: String,
    /// The nonce.
    pub nonce: u64,
    /// The fee.
    pub fee: Amount,
    /// The messages, checked.
    pub messages: Vec<Msg>,
    /// The memo.
    pub memo: String,
    /// What the memo of verified signatures knows this signature by: see
    /// [`SignedTx::signature_digest`]. Not public: like `hash` and `size` it describes the bytes
    /// as decoded, and only [`SignedTx::decode`] makes a `SignedTx`.
    pub(crate) signature_digest: Option<[u8; 32]>,
}

impl SignedTx {
    /// Decodes envelope bytes and runs the stateless checks (sizes, key, fields, messages).
    pub fn decode(bytes: &[u8]) -> Result<SignedTx, TxError> {
        let malformed = |e: groundwork_proto::DecodeError| TxError::Malformed(e.to_string());
        let envelope: v1::TxEnvelope =
            decode_bounded("transaction", bytes, MAX_TX_BYTES).map_err(malformed)?;
        if !groundwork_proto::encodes_to(&envelope, bytes) {
            return Err(TxError::Malformed(
                "the envelope is not canonically encoded (fields in number order, no unknown fields)".into(),
            ));
        }
        let signer = match envelope.signer.and_then(|k| k.key) {
            Some(Key::Ed25519(key)) => crate::parallel::checked_ed25519(&key),
            Some(Key::P256(_)) => {
                return Err(TxError::Malformed("accounts sign with ed25519 keys".into()));
            }
            None => {
                return Err(TxError::Malformed(
                    "the signer's public key is missing".into(),
                ));
            }
        }
        .map_err(|e| TxError::Malformed(e.to_string()))?;
        let signature = Signature::from_slice(&envelope.signature)
            .map_err(|e| TxError::Malformed(e.to_string()))?;
        let body: v1::TxBody =
            decode_bounded("transaction body", &envelope.body, MAX_TX_BYTES).map_err(malformed)?;
        // One transaction, one encoding: a relayer must not be able to re-encode the envelope
        // (field order, unknown fields, padding) and so change its hash while the signature
        // stays valid. Protobuf encoders emit this canonical form by default.
        if !groundwork_proto::encodes_to(&body, &envelope.body) {
            return Err(TxError::Malformed(
                "the body is not canonically encoded (fields in number order, no unknown or default-valued fields)".into(),
            ));
        }
        let fee = Amount::parse_base_units(&body.fee)
            .map_err(|e| TxError::Malformed(format!("fee: {e}")))?;
        if body.messages.is_empty() {
            return Err(TxError::Malformed(
                "a transaction carries at least one message".into(),
            ));
        }
        if body.messages.len() > MAX_MESSAGES_PER_TX {
            return Err(TxError::Malformed(format!(
                "a transaction carries at most {MAX_MESSAGES_PER_TX} messages, this one {}",
                body.messages.len()
            )));
        }
        if body.memo.len() > MAX_MEMO_BYTES {
            return Err(TxError::Malformed(format!(
                "the memo is {} bytes, the limit is {MAX_MEMO_BYTES}",
                body.memo.len()
            )));
        }
        let messages = body
            .messages
            .iter()
            .enumerate()
            .map(|(index, m)| {
                Msg::from_proto(m).map_err(|reason| TxError::InvalidMessage { index, reason })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signature_digest = match &signer {
            PublicKey::Ed25519(key) => Some(groundwork_primitives::signed_message_digest(
                key,
                domain::TRANSACTION,
                &body.chain_id,
                &envelope.body,
                &signature,
            )),
            PublicKey::P256(_) => None,
        };
        Ok(SignedTx {
            hash: sha256(bytes),
            size: bytes.len(),
            sender: Address::from_public_key(&signer),
            signer,
            signature,
            body_bytes: envelope.body,
            chain_id: body.chain_id,
            nonce: body.nonce,
            fee,
            messages,
            memo: body.memo,
            signature_digest,
        })
    }

    /// The digest the memo of verified signatures knows this signature by
    /// (`signature_digest` over [`SignedTx::signed_message`], computed once on decoding); `None`
    /// for a key kind the memo does not keep.
    pub fn signature_digest(&self) -> Option<[u8; 32]> {
        self.signature_digest
    }

    /// The bytes the signature covers.
    pub fn signed_message(&self) -> Vec<u8> {
        signed_message(domain::TRANSACTION, &self.chain_id, &self.body_bytes)
    }

    /// Verifies the signature on its own (the mempool's path; blocks verify in batches).
    pub fn verify_signature(&self) -> Result<(), TxError> {
        self.signer
            .verify_message(&self.signed_message(), &self.signature)
            .map_err(|_| TxError::BadSignature)
    }

    /// Everything the sender must hold for this transaction: its fee plus what its messages spend.
    pub fn total_cost(&self) -> Option<Amount> {
        self.messages
            .iter()
            .try_fold(self.fee, |sum, m| sum.checked_add(m.spends()))
    }
}

/// Builds and signs a transaction: the encoded envelope bytes.
pub fn build_signed_tx(
    key: &groundwork_primitives::SigningKey,
    chain_id: &str,
    nonce: u64,
    fee: Amount,
    messages: Vec<v1::Message>,
    memo: &str,
) -> Vec<u8> {
    use groundwork_proto::Message as _;
    let body = v1::TxBody {
        chain_id: chain_id.to_string(),
        nonce,
        fee: fee.0.to_string(),
        messages,
        memo: memo.to_string(),
    }
    .encode_to_vec();
    let signature = key.sign(domain::TRANSACTION, chain_id, &body);
    v1::TxEnvelope {
        body,
        signer: Some(v1::PublicKey {
            key: Some(Key::Ed25519(key.public_key().as_bytes().to_vec())),
        }),
        signature: signature.0.to_vec(),
    }
    .encode_to_vec()
}

/// The wire form of a transfer message.
pub fn transfer_message(to: &Address, amount: Amount) -> v1::Message {
    v1::Message {
        kind: Some(Kind::Transfer(v1::Transfer {
            to: to.as_bytes().to_vec(),
            amount: amount.0.to_string(),
        })),
    }
}

/// The wire form of an oracle's price submission.
pub fn submit_price_message(micro_fiat_per_token: u64) -> v1::Message {
    v1::Message {
        kind: Some(Kind::SubmitPrice(v1::SubmitPrice {
            micro_fiat_per_token,
        })),
    }
}

/// The wire form of a credit mint: burn `amount` for credits to `beneficiary` (the signer when
/// `None`), refusing fewer than `min_credits`.
pub fn mint_credits_message(
    amount: Amount,
    beneficiary: Option<&Address>,
    min_credits: u64,
) -> v1::Message {
    v1::Message {
        kind: Some(Kind::MintCredits(v1::MintCredits {
            amount: amount.0.to_string(),
            beneficiary: beneficiary
                .map(|b| b.as_bytes().to_vec())
                .unwrap_or_default(),
            min_credits,
        })),
    }
}

/// The Merkle root of a block's transaction hashes (see the module docs).
pub fn tx_root(hashes: &[Hash]) -> Hash {
    if hashes.is_empty() {
        return Hash::ZERO;
    }
    let mut level: Vec<Hash> = hashes
        .iter()
        .map(|h| {
            let mut leaf = [0u8; 33];
            leaf[1..].copy_from_slice(&h.0);
            sha256(&leaf)
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut node = [0u8; 65];
                    node[0] = 1;
                    node[1..33].copy_from_slice(&left.0);
                    node[33..].copy_from_slice(&right.0);
                    sha256(&node)
                }
                [single] => *single,
                _ => Hash::ZERO,
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_primitives::SigningKey;
    use groundwork_proto::Message as _;

    #[test]
    fn a_signed_transfer_decodes_and_verifies() {
        let key = SigningKey::from_seed([4; 32]);
        let bytes = build_signed_tx(
            &key,
            "c",
            3,
            Amount(10),
            vec![transfer_message(&Address([2; 20]), Amount(5))],
            "hi",
        );
        let tx = SignedTx::decode(&bytes).unwrap();
        assert_eq!(tx.nonce, 3);
        assert_eq!(tx.sender, Address::from_public_key(&key.public_key()));
        assert_eq!(tx.total_cost(), Some(Amount(15)));
        tx.verify_signature().unwrap();
        // The memo digest computed on decoding is the digest of the signed message.
        let PublicKey::Ed25519(signer) = tx.signer else {
            unreachable!("accounts sign with ed25519")
        };
        assert_eq!(
            tx.signature_digest(),
            Some(groundwork_primitives::ed25519::signature_digest(
                &signer,
                &tx.signed_message(),
                &tx.signature.0
            ))
        );
    }

    #[test]
    fn a_tampered_body_fails_the_signature() {
        let key = SigningKey::from_seed([4; 32]);
        let bytes = build_signed_tx(
            &key,
            "c",
            0,
            Amount(10),
            vec![transfer_message(&Address([2; 20]), Amount(5))],
            "",
        );
        let mut envelope = v1::TxEnvelope::decode(bytes.as_slice()).unwrap();
        let mut body = v1::TxBody::decode(envelope.body.as_slice()).unwrap();
        body.fee = "11".into();
        envelope.body = body.encode_to_vec();
        let tx = SignedTx::decode(&envelope.encode_to_vec()).unwrap();
        assert_eq!(tx.verify_signature(), Err(TxError::BadSignature));
    }

    #[test]
    fn malformed_transactions_say_what_is_wrong() {
        let key = SigningKey::from_seed([4; 32]);
        let none = build_signed_tx(&key, "c", 0, Amount(10), vec![], "");
        assert!(
            matches!(SignedTx::decode(&none), Err(TxError::Malformed(m)) if m.contains("at least one"))
        );
        let zero = build_signed_tx(
            &key,
            "c",
            0,
            Amount(10),
            vec![transfer_message(&Address([2; 20]), Amount(0))],
            "",
        );
        assert!(matches!(
            SignedTx::decode(&zero),
            Err(TxError::InvalidMessage { index: 0, .. })
        ));
        let memo = build_signed_tx(
            &key,
            "c",
            0,
            Amount(10),
            vec![transfer_message(&Address([2; 20]), Amount(1))],
            &"m".repeat(300),
        );
        assert!(
            matches!(SignedTx::decode(&memo), Err(TxError::Malformed(m)) if m.contains("memo"))
        );
        assert!(matches!(
            SignedTx::decode(&[0xff, 0xff]),
            Err(TxError::Malformed(_))
        ));
    }

    #[test]
    fn a_re_encoded_envelope_is_refused_so_hashes_cannot_be_changed() {
        let key = SigningKey::from_seed([4; 32]);
        let bytes = build_signed_tx(
            &key,
            "c",
            0,
            Amount(10),
            vec![transfer_message(&Address([2; 20]), Amount(5))],
            "",
        );
        // The same fields with an unknown field 15 appended: still decodes, still signed.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0x78, 0x01]);
        assert!(
            matches!(SignedTx::decode(&padded), Err(TxError::Malformed(m)) if m.contains("canonically"))
        );
        assert!(SignedTx::decode(&bytes).is_ok());

        // The same inside the signed body: the envelope is canonical, the body it carries is not.
        let mut envelope = v1::TxEnvelope::decode(bytes.as_slice()).unwrap();
        envelope.body.extend_from_slice(&[0x78, 0x01]);
        let padded_body = envelope.encode_to_vec();
        assert!(
            matches!(SignedTx::decode(&padded_body), Err(TxError::Malformed(m)) if m.contains("body is not canonically"))
        );
    }

    #[test]
    fn the_tx_root_commits_to_order_and_content() {
        let a = sha256(b"a");
        let b = sha256(b"b");
        let c = sha256(b"c");
        assert_eq!(tx_root(&[]), Hash::ZERO);
        assert_ne!(tx_root(&[a, b]), tx_root(&[b, a]));
        assert_ne!(tx_root(&[a, b, c]), tx_root(&[a, b]));
        assert_ne!(tx_root(&[a]), a);
    }
}
