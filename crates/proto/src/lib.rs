//! Groundwork's wire contract: the protobuf messages in `proto/groundwork/v1/`, compiled with
//! prost, and decoders that refuse oversized input before parsing it.
//!
//! Every decoder of untrusted bytes in Groundwork goes through [`decode_bounded`], which checks a
//! size limit first and turns every parse failure into a [`DecodeError`] (prost never panics on
//! malformed input; it also bounds nesting depth).

/// Generated types of the `groundwork.v1` protobuf package.
#[allow(missing_docs, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/groundwork.v1.rs"));
}

pub use prost::Message;

/// The largest encoded transaction envelope a node accepts (64 KiB).
pub const MAX_TX_BYTES: usize = 64 * 1024;
/// The most messages one transaction may carry.
pub const MAX_MESSAGES_PER_TX: usize = 64;
/// The longest memo, in bytes.
pub const MAX_MEMO_BYTES: usize = 256;
/// The largest encoded device report envelope (4 KiB).
pub const MAX_REPORT_BYTES: usize = 4 * 1024;
/// The most reports one ingest batch may carry.
pub const MAX_REPORTS_PER_BATCH: usize = 10_000;
/// The most transactions one submission batch (`POST /v1/txs/batch`) may carry.
pub const MAX_TXS_PER_BATCH: usize = 10_000;
/// The most transaction bytes (the envelopes, added up) one submission batch may carry (8 MiB).
pub const MAX_TX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The largest encoded block a node accepts (64 MiB).
pub const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// More bytes than the limit for this kind of message.
    #[error("{what} is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid protobuf encoding of the message.
    #[error("{what} is not valid protobuf: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The parser's explanation.
        reason: String,
    },
}

/// Decodes `bytes` as `M` after checking they are at most `limit` long.
pub fn decode_bounded<M: Message + Default>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<M, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            what,
            size: bytes.len(),
            limit,
        });
    }
    M::decode(bytes).map_err(|e| DecodeError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// Whether `message` encodes to exactly `bytes` (the canonical-encoding check of signed
/// envelopes). Encodes into a buffer kept per thread: the check runs on every transaction and
/// report a node admits or executes, and a fresh vector each time cost an allocation and a free.
pub fn encodes_to<M: Message>(message: &M, bytes: &[u8]) -> bool {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if message.encoded_len() != bytes.len() {
        return false;
    }
    BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            // Cannot fail: a vector grows to fit.
            message.encode(&mut *buffer).is_ok() && buffer.as_slice() == bytes
        }
        // Re-entered from within an encode (not possible today): a fresh vector.
        Err(_) => message.encode_to_vec() == bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use v1::TxEnvelope;

    #[test]
    fn encodes_to_says_whether_the_bytes_are_the_canonical_encoding() {
        let envelope = TxEnvelope {
            body: vec![1, 2, 3],
            signature: vec![9; 64],
            ..Default::default()
        };
        let canonical = envelope.encode_to_vec();
        assert!(encodes_to(&envelope, &canonical));
        // Same fields, another order: decodes to the same message, is not its encoding.
        let mut reordered = Vec::new();
        prost::encoding::bytes::encode(3, &envelope.signature, &mut reordered);
        prost::encoding::bytes::encode(1, &envelope.body, &mut reordered);
        let decoded = TxEnvelope::decode(reordered.as_slice()).unwrap();
        assert_eq!(decoded, envelope);
        assert!(!encodes_to(&decoded, &reordered));
        // One byte more, one byte less, one byte changed.
        let mut longer = canonical.clone();
        longer.push(0);
        assert!(!encodes_to(&envelope, &longer));
        assert!(!encodes_to(&envelope, &canonical[..canonical.len() - 1]));
        let mut changed = canonical.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(!encodes_to(&envelope, &changed));
        // Again on the same thread, after a longer message: the buffer is reused correctly.
        let long = TxEnvelope {
            body: vec![7; 500],
            ..Default::default()
        };
        assert!(encodes_to(&long, &long.encode_to_vec()));
        assert!(encodes_to(&envelope, &canonical));
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let bytes = vec![0u8; MAX_TX_BYTES + 1];
        let err = decode_bounded::<TxEnvelope>("transaction", &bytes, MAX_TX_BYTES).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { size, .. } if size == MAX_TX_BYTES + 1));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for garbage in [
            &[0xff_u8; 10][..],
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
            &[0x08],
        ] {
            let result = decode_bounded::<TxEnvelope>("transaction", garbage, MAX_TX_BYTES);
            assert!(
                matches!(result, Err(DecodeError::Malformed { .. })),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn an_envelope_round_trips() {
        let envelope = TxEnvelope {
            body: vec![1, 2, 3],
            signer: Some(v1::PublicKey {
                key: Some(v1::public_key::Key::Ed25519(vec![7; 32])),
            }),
            signature: vec![9; 64],
        };
        let bytes = envelope.encode_to_vec();
        let back: TxEnvelope = decode_bounded("transaction", &bytes, MAX_TX_BYTES).unwrap();
        assert_eq!(back, envelope);
    }
}
