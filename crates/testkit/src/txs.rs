//! Building transactions, well-formed or deliberately not.

use groundwork_app::tx::{build_signed_tx, transfer_message};
use groundwork_primitives::{Address, Amount, SigningKey};
use groundwork_proto::Message as _;
use groundwork_proto::v1;

/// A signed transaction with one transfer: the encoded envelope bytes.
pub fn sign_transfer(
    key: &SigningKey,
    chain_id: &str,
    nonce: u64,
    fee: Amount,
    to: Address,
    amount: Amount,
) -> Vec<u8> {
    build_signed_tx(
        key,
        chain_id,
        nonce,
        fee,
        vec![transfer_message(&to, amount)],
        "",
    )
}

/// The same transaction with one bit of its signature flipped: it still decodes, names the same
/// signer and body, and fails only the signature check. Bytes that are not an envelope come
/// back unchanged.
pub fn tamper_signature(envelope: &[u8]) -> Vec<u8> {
    let Ok(mut decoded) = v1::TxEnvelope::decode(envelope) else {
        return envelope.to_vec();
    };
    if let Some(first) = decoded.signature.first_mut() {
        *first ^= 0x01;
    }
    decoded.encode_to_vec()
}
