//! Keys and signatures.
//!
//! Accounts sign with ed25519. Devices may sign with ed25519 or with P-256 ECDSA (the curve of
//! secure elements such as the ATECC608 and of TPM 2.0). Every signature covers
//! [`signed_message`]`(domain tag, chain id, body)`, never bare bytes.
//!
//! Canonical forms, so that one key or signature has exactly one encoding:
//! - ed25519 public keys are 32 bytes; small-order ("weak") keys are refused.
//! - P-256 public keys are 33-byte compressed SEC1 points.
//! - Both signature kinds are 64 bytes: ed25519 `R || s`; P-256 `r || s` big-endian with low `s`
//!   (a high-`s` signature is refused rather than normalised).

use std::fmt;

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use zeroize::Zeroize;

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The public key bytes are not a valid point of the named curve.
    #[error("not a valid {kind} public key: {reason}")]
    InvalidPublicKey {
        /// `ed25519` or `p256`.
        kind: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The signature did not have 64 bytes.
    #[error("a signature has 64 bytes, this one has {0}")]
    SignatureLength(usize),
    /// A P-256 signature with a high `s` value (not canonical).
    #[error("P-256 signatures must use the low-s form")]
    HighS,
    /// The signature does not verify for this key and message.
    #[error("the signature does not match the key and the signed bytes")]
    BadSignature,
    /// A secret key had the wrong length.
    #[error("a secret key has 32 bytes, this one has {0}")]
    SecretLength(usize),
}

/// Builds the bytes a signature covers: `tag || u8(len(chain_id)) || chain_id || body`.
///
/// Chain ids are at most 255 bytes (genesis enforces 1..=64); a longer id is cut at 255 bytes,
/// which cannot collide with a shorter id because the length byte differs.
pub fn signed_message(domain: &[u8], chain_id: &str, body: &[u8]) -> Vec<u8> {
    let chain = &chain_id.as_bytes()[..chain_id.len().min(255)];
    let mut message = Vec::with_capacity(domain.len() + 1 + chain.len() + body.len());
    message.extend_from_slice(domain);
    message.push(chain.len() as u8);
    message.extend_from_slice(chain);
    message.extend_from_slice(body);
    message
}

/// The memo digest ([`crate::ed25519::signature_digest`]) of an ed25519 signature over
/// [`signed_message`]`(domain, chain_id, body)`, without building the message.
pub fn signed_message_digest(
    key: &[u8; 32],
    domain: &[u8],
    chain_id: &str,
    body: &[u8],
    signature: &Signature,
) -> [u8; 32] {
    let chain = &chain_id.as_bytes()[..chain_id.len().min(255)];
    crate::ed25519::signature_digest_of_parts(
        key,
        &[domain, &[chain.len() as u8], chain, body],
        &signature.0,
    )
}

/// A public key of either supported kind.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PublicKey {
    /// An ed25519 key (accounts, most devices).
    Ed25519([u8; 32]),
    /// A compressed SEC1 P-256 key (devices with secure elements).
    P256([u8; 33]),
}

impl PublicKey {
    /// Checks and wraps 32 ed25519 key bytes.
    pub fn ed25519(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| KeyError::InvalidPublicKey {
            kind: "ed25519",
            reason: format!("expected 32 bytes, got {}", bytes.len()),
        })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&array).map_err(|e| {
            KeyError::InvalidPublicKey {
                kind: "ed25519",
                reason: e.to_string(),
            }
        })?;
        if key.is_weak() {
            return Err(KeyError::InvalidPublicKey {
                kind: "ed25519",
                reason: "small-order (weak) key".into(),
            });
        }
        Ok(PublicKey::Ed25519(array))
    }

    /// Checks and wraps a 33-byte compressed SEC1 P-256 key.
    pub fn p256(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 33] = bytes.try_into().map_err(|_| KeyError::InvalidPublicKey {
            kind: "p256",
            reason: format!("expected 33 compressed bytes, got {}", bytes.len()),
        })?;
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&array).map_err(|e| {
            KeyError::InvalidPublicKey {
                kind: "p256",
                reason: e.to_string(),
            }
        })?;
        Ok(PublicKey::P256(array))
    }

    /// The key's name: `ed25519` or `p256`.
    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::P256(_) => "p256",
        }
    }

    /// The raw key bytes (32 or 33).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(b) => b,
            PublicKey::P256(b) => b,
        }
    }

    /// `type byte || key bytes`: 0x01 for ed25519, 0x02 for P-256. Addresses and device ids hash this.
    pub fn tagged_bytes(&self) -> Vec<u8> {
        let (tag, bytes) = match self {
            PublicKey::Ed25519(b) => (1u8, &b[..]),
            PublicKey::P256(b) => (2u8, &b[..]),
        };
        let mut out = Vec::with_capacity(1 + bytes.len());
        out.push(tag);
        out.extend_from_slice(bytes);
        out
    }

    /// Verifies `signature` over [`signed_message`]`(domain, chain_id, body)`.
    pub fn verify(
        &self,
        domain: &[u8],
        chain_id: &str,
        body: &[u8],
        signature: &Signature,
    ) -> Result<(), KeyError> {
        self.verify_message(&signed_message(domain, chain_id, body), signature)
    }

    /// Verifies `signature` over an already-built signed message.
    pub fn verify_message(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        match self {
            PublicKey::Ed25519(bytes) => {
                let key = crate::ed25519::Ed25519Key::decode(bytes).ok_or(
                    KeyError::InvalidPublicKey {
                        kind: "ed25519",
                        reason: "not a point of the curve, or a small-order point".into(),
                    },
                )?;
                if crate::ed25519::verify(&key, message, &signature.0) {
                    Ok(())
                } else {
                    Err(KeyError::BadSignature)
                }
            }
            PublicKey::P256(bytes) => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(|e| {
                    KeyError::InvalidPublicKey {
                        kind: "p256",
                        reason: e.to_string(),
                    }
                })?;
                let sig = p256::ecdsa::Signature::from_slice(&signature.0)
                    .map_err(|_| KeyError::BadSignature)?;
                if sig.normalize_s() != sig {
                    return Err(KeyError::HighS);
                }
                key.verify(message, &sig)
                    .map_err(|_| KeyError::BadSignature)
            }
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), hex::encode(self.as_bytes()))
    }
}

/// `ed25519:<hex>` or `p256:<hex>`.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), hex::encode(self.as_bytes()))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = KeyError;
    /// Parses `ed25519:<hex>` or `p256:<hex>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| KeyError::InvalidPublicKey {
            kind: "key",
            reason,
        };
        let (kind, hex_key) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| bad("write keys as ed25519:<hex> or p256:<hex>".into()))?;
        let bytes = hex::decode(hex_key).map_err(|e| bad(format!("not hex: {e}")))?;
        match kind {
            "ed25519" => PublicKey::ed25519(&bytes),
            "p256" => PublicKey::p256(&bytes),
            other => Err(bad(format!(
                "unknown key kind {other:?}: use ed25519 or p256"
            ))),
        }
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A 64-byte signature (ed25519 `R || s`, or P-256 `r || s`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Reads a signature from exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: [u8; 64] = bytes
            .try_into()
            .map_err(|_| KeyError::SignatureLength(bytes.len()))?;
        Ok(Signature(array))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// An ed25519 secret key (accounts, validators, and ed25519 devices). Zeroed when dropped.
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let key = Self::from_seed(seed);
        seed.zeroize();
        key
    }

    /// The key whose 32-byte secret seed is `seed` (deterministic: tests, devnets, key import).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey {
            inner: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// Reads a 32-byte secret seed.
    pub fn from_seed_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::SecretLength(bytes.len()))?;
        Ok(Self::from_seed(seed))
    }

    /// The secret seed. Handle with care: whoever has it controls the account.
    pub fn seed(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::Ed25519(self.inner.verifying_key().to_bytes())
    }

    /// Signs bytes already built with [`signed_message`].
    pub fn sign_message(&self, message: &[u8]) -> Signature {
        Signature(self.inner.sign(message).to_bytes())
    }

    /// Signs [`signed_message`]`(domain, chain_id, body)`.
    pub fn sign(&self, domain: &[u8], chain_id: &str, body: &[u8]) -> Signature {
        Signature(
            self.inner
                .sign(&signed_message(domain, chain_id, body))
                .to_bytes(),
        )
    }
}

impl Clone for SigningKey {
    fn clone(&self) -> Self {
        Self::from_seed(self.seed())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?})", self.public_key())
    }
}

/// A public key decompressed once, for many verifications (a device's reports in one block, say).
#[derive(Clone)]
pub enum PreparedKey {
    /// A decoded ed25519 key.
    Ed25519(crate::ed25519::Ed25519Key),
    /// A decompressed P-256 key.
    P256(p256::ecdsa::VerifyingKey),
    /// Bytes that are no valid key: every signature fails.
    Invalid,
}

impl PreparedKey {
    /// Decompresses `key`.
    pub fn new(key: &PublicKey) -> PreparedKey {
        match key {
            PublicKey::Ed25519(bytes) => crate::ed25519::Ed25519Key::decode(bytes)
                .map(PreparedKey::Ed25519)
                .unwrap_or(PreparedKey::Invalid),
            PublicKey::P256(bytes) => p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                .map(PreparedKey::P256)
                .unwrap_or(PreparedKey::Invalid),
        }
    }

    /// The ed25519 key's bytes; `None` for other kinds.
    pub fn ed25519_bytes(&self) -> Option<&[u8; 32]> {
        match self {
            PreparedKey::Ed25519(key) => Some(key.bytes()),
            _ => None,
        }
    }

    /// The single check of [`PublicKey::verify_message`].
    pub fn verify_message(&self, message: &[u8], signature: &Signature) -> bool {
        match self {
            PreparedKey::Ed25519(key) => crate::ed25519::verify(key, message, &signature.0),
            PreparedKey::P256(key) => match p256::ecdsa::Signature::from_slice(&signature.0) {
                Ok(sig) => sig.normalize_s() == sig && key.verify(message, &sig).is_ok(),
                Err(_) => false,
            },
            PreparedKey::Invalid => false,
        }
    }
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PreparedKey::Ed25519(_) => "PreparedKey::Ed25519",
            PreparedKey::P256(_) => "PreparedKey::P256",
            PreparedKey::Invalid => "PreparedKey::Invalid",
        })
    }
}

/// How many signatures [`batch_verify_ed25519`] checks together. Verdicts do not depend on the
/// batches (see [`crate::ed25519`]: a batch accepts exactly what single checks accept), so this
/// only trades speed: chosen by measurement (docs/benchmarks.md), 256 gives most of the speed of
/// larger batches while a failed batch, checked again one by one, stays small.
pub const ED25519_BATCH: usize = 256;

/// Verifies many ed25519 signatures, returning one verdict per item in order.
///
/// Items are verified in batches of [`ED25519_BATCH`]; when a batch fails, its items are checked
/// one by one so the bad ones are named. The verdicts are those of single verification (the rule
/// of [`crate::ed25519`] makes the two agree). A chunk holding a key that is not ed25519 is checked
/// item by item.
pub fn batch_verify_ed25519(items: &[(PublicKey, &[u8], Signature)]) -> Vec<bool> {
    let prepared: Vec<PreparedKey> = items.iter().map(|(k, _, _)| PreparedKey::new(k)).collect();
    let items: Vec<(&PreparedKey, &[u8], Signature)> = prepared
        .iter()
        .zip(items)
        .map(|(k, (_, m, s))| (k, *m, *s))
        .collect();
    batch_verify_prepared(&items)
}

/// [`batch_verify_ed25519`] over keys decompressed beforehand: the same batches, the same
/// verdicts.
pub fn batch_verify_prepared(items: &[(&PreparedKey, &[u8], Signature)]) -> Vec<bool> {
    let mut verdicts = Vec::with_capacity(items.len());
    for chunk in items.chunks(ED25519_BATCH) {
        let mut batch = Vec::with_capacity(chunk.len());
        for (key, message, signature) in chunk {
            match key {
                PreparedKey::Ed25519(k) => batch.push((k, *message, &signature.0)),
                _ => break,
            }
        }
        if batch.len() == chunk.len() && crate::ed25519::verify_batch(&batch) {
            verdicts.extend(std::iter::repeat_n(true, chunk.len()));
        } else {
            verdicts.extend(
                chunk
                    .iter()
                    .map(|(key, message, sig)| key.verify_message(message, sig)),
            );
        }
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain;

    #[test]
    fn a_signature_verifies_only_for_its_domain_chain_and_body() {
        let key = SigningKey::from_seed([3; 32]);
        let public = key.public_key();
        let sig = key.sign(domain::TRANSACTION, "chain-a", b"body");
        assert_eq!(
            public.verify(domain::TRANSACTION, "chain-a", b"body", &sig),
            Ok(())
        );
        assert_eq!(
            public.verify(domain::DEVICE_REPORT, "chain-a", b"body", &sig),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            public.verify(domain::TRANSACTION, "chain-b", b"body", &sig),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            public.verify(domain::TRANSACTION, "chain-a", b"bodY", &sig),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn the_digest_built_from_parts_is_the_digest_of_the_built_message() {
        let key = SigningKey::from_seed([5; 32]);
        let PublicKey::Ed25519(bytes) = key.public_key() else {
            unreachable!("from_seed makes ed25519 keys")
        };
        let long_chain = "c".repeat(300);
        for chain in ["chain-a", "", long_chain.as_str()] {
            for body in [&b""[..], b"body", &[7u8; 1000]] {
                let signature = key.sign(domain::TRANSACTION, chain, body);
                let message = signed_message(domain::TRANSACTION, chain, body);
                assert_eq!(
                    signed_message_digest(&bytes, domain::TRANSACTION, chain, body, &signature),
                    crate::ed25519::signature_digest(&bytes, &message, &signature.0),
                    "chain of {} bytes, body of {} bytes",
                    chain.len(),
                    body.len()
                );
            }
        }
        // Each part counts: another domain, chain or body gives another digest.
        let signature = key.sign(domain::TRANSACTION, "chain-a", b"body");
        let digest =
            signed_message_digest(&bytes, domain::TRANSACTION, "chain-a", b"body", &signature);
        assert_ne!(
            digest,
            signed_message_digest(
                &bytes,
                domain::DEVICE_REPORT,
                "chain-a",
                b"body",
                &signature
            )
        );
        assert_ne!(
            digest,
            signed_message_digest(&bytes, domain::TRANSACTION, "chain-", b"abody", &signature)
        );
    }

    #[test]
    fn chain_id_length_prefix_keeps_messages_apart() {
        assert_ne!(
            signed_message(b"t", "ab", b"c"),
            signed_message(b"t", "a", b"bc")
        );
    }

    #[test]
    fn p256_signatures_from_a_secure_element_verify() {
        use p256::ecdsa::signature::Signer;
        let secret = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
        let point = secret.verifying_key().to_sec1_point(true);
        let public = PublicKey::p256(point.as_bytes()).unwrap();
        let message = signed_message(domain::DEVICE_REPORT, "c", b"reading");
        let sig: p256::ecdsa::Signature = secret.sign(&message);
        let sig = sig.normalize_s();
        let signature = Signature::from_slice(&sig.to_bytes()).unwrap();
        assert_eq!(
            public.verify(domain::DEVICE_REPORT, "c", b"reading", &signature),
            Ok(())
        );
        assert_eq!(
            public.verify(domain::DEVICE_REPORT, "c", b"other", &signature),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn malformed_keys_are_refused_with_a_reason() {
        assert!(matches!(
            PublicKey::ed25519(&[0; 31]),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        // The identity point is small-order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::ed25519(&identity),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        // x = 2^256 - 1 is above the field modulus, so no point has it.
        let mut above_modulus = [0xff; 33];
        above_modulus[0] = 2;
        assert!(matches!(
            PublicKey::p256(&above_modulus),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        assert_eq!(
            Signature::from_slice(&[0; 63]),
            Err(KeyError::SignatureLength(63))
        );
    }

    #[test]
    fn batch_verification_names_exactly_the_bad_signatures() {
        let keys: Vec<SigningKey> = (0..150u8).map(|i| SigningKey::from_seed([i; 32])).collect();
        let messages: Vec<Vec<u8>> = (0..150u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let mut items: Vec<(PublicKey, &[u8], Signature)> = keys
            .iter()
            .zip(&messages)
            .map(|(k, m)| {
                let sig = Signature(k.inner.sign(m).to_bytes());
                (k.public_key(), m.as_slice(), sig)
            })
            .collect();
        items[7].2.0[0] ^= 1;
        items[130].2.0[5] ^= 1;
        let verdicts = batch_verify_ed25519(&items);
        for (i, ok) in verdicts.iter().enumerate() {
            assert_eq!(*ok, i != 7 && i != 130, "item {i}");
        }
    }
}
