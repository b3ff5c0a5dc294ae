//! The ed25519 verification rule of Groundwork, identical for one signature and for a batch.
//!
//! Signing is plain RFC 8032 ed25519 (`ed25519-dalek`). Verification follows the rules of
//! Zcash's ZIP-215, which were written so that batch verification and single verification accept
//! exactly the same signatures (the RFC leaves the edge cases open, and common libraries disagree
//! among themselves and between their own batch and single paths):
//!
//! - `s` must be canonical (below the group order `ℓ`);
//! - `A` and `R` are decoded as points (a non-canonical encoding is not an error; `k` hashes the
//!   bytes as sent);
//! - the check is the *cofactored* equation `[8](s·B − k·A − R) = 0` with
//!   `k = SHA-512(R ‖ A ‖ M) mod ℓ`.
//!
//! Groundwork adds two refusals that ZIP-215 does not make, both cheap and identical on both
//! paths: a small-order ("weak") public key never verifies (every signature under it would be
//! forgeable), and neither does a signature whose `R` has small order.
//!
//! Because a batch accepts exactly when every signature in it would be accepted alone (up to a
//! 2⁻¹²⁸ chance, with coefficients derived from the whole batch by hashing), a signature's verdict
//! never depends on which other signatures share its batch. That is what lets a node remember
//! signatures it already checked ([`crate::keys`] callers keep such a memo) without any risk of
//! two validators judging one report differently.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use sha2::{Digest as _, Sha512};

/// An ed25519 public key decoded once: its point and its bytes (which `k` hashes).
#[derive(Clone, Copy)]
pub struct Ed25519Key {
    point: EdwardsPoint,
    bytes: [u8; 32],
}

impl Ed25519Key {
    /// Decodes `bytes`; `None` when they are no point or the point has small order.
    pub fn decode(bytes: &[u8; 32]) -> Option<Ed25519Key> {
        let point = CompressedEdwardsY(*bytes).decompress()?;
        if point.is_small_order() {
            return None;
        }
        Some(Ed25519Key {
            point,
            bytes: *bytes,
        })
    }

    /// The key's 32 bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// The parts of a signature the equation needs, decoded: `None` when `s` is not canonical or `R`
/// is no point or has small order.
struct Decoded {
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn decode(key: &Ed25519Key, message: &[u8], signature: &[u8; 64]) -> Option<Decoded> {
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&signature[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&signature[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    if r.is_small_order() {
        return None;
    }
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(key.bytes)
        .chain_update(message)
        .finalize()
        .into();
    Some(Decoded {
        r,
        s,
        k: Scalar::from_bytes_mod_order_wide(&digest),
    })
}

/// Verifies one signature under the rule above.
pub fn verify(key: &Ed25519Key, message: &[u8], signature: &[u8; 64]) -> bool {
    let Some(d) = decode(key, message, signature) else {
        return false;
    };
    // s·B − k·A, then compare with R up to the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&d.k, &-key.point, &d.s);
    (sb_minus_ka - d.r).mul_by_cofactor().is_identity()
}

/// Whether every signature of the batch verifies (an empty batch does). When it says `false`, at
/// least one does not, and callers check them one by one to find which.
pub fn verify_batch(items: &[(&Ed25519Key, &[u8], &[u8; 64])]) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut decoded = Vec::with_capacity(items.len());
    // The coefficients come from a hash of the whole batch: every `k` (which covers R, A and the
    // message) and every `s`.
    let mut transcript = Sha512::new().chain_update(b"groundwork ed25519 batch v1");
    for (key, message, signature) in items {
        let Some(d) = decode(key, message, signature) else {
            return false;
        };
        transcript.update(d.k.as_bytes());
        transcript.update(d.s.as_bytes());
        decoded.push(d);
    }
    let seed: [u8; 64] = transcript.finalize().into();
    let mut coefficients = Vec::with_capacity(items.len());
    for block in 0..items.len().div_ceil(4) {
        let stream: [u8; 64] = Sha512::new()
            .chain_update(seed)
            .chain_update((block as u64).to_le_bytes())
            .finalize()
            .into();
        for lane in stream.chunks_exact(16) {
            let mut z = [0u8; 16];
            z.copy_from_slice(lane);
            coefficients.push(Scalar::from(u128::from_le_bytes(z)));
        }
    }
    coefficients.truncate(items.len());

    // [8]( −(Σ zᵢsᵢ)·B + Σ zᵢ·Rᵢ + Σ (zᵢkᵢ)·Aᵢ ) = 0
    let b_coefficient: Scalar = decoded
        .iter()
        .zip(&coefficients)
        .map(|(d, z)| z * d.s)
        .sum();
    let scalars = std::iter::once(-b_coefficient)
        .chain(coefficients.iter().copied())
        .chain(decoded.iter().zip(&coefficients).map(|(d, z)| z * d.k));
    let points = std::iter::once(ED25519_BASEPOINT_POINT)
        .chain(decoded.iter().map(|d| d.r))
        .chain(items.iter().map(|(key, _, _)| key.point));
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// A digest naming one (key, message, signature) triple, for memos of signatures already
/// verified: SHA-256 over a version tag, the key, the signature and the message.
pub fn signature_digest(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> [u8; 32] {
    signature_digest_of_parts(key, &[message], signature)
}

/// [`signature_digest`] of the message made of `parts` one after the other, without building
/// it: the same digest as over their concatenation.
pub fn signature_digest_of_parts(
    key: &[u8; 32],
    parts: &[&[u8]],
    signature: &[u8; 64],
) -> [u8; 32] {
    let mut hasher = sha2::Sha256::new()
        .chain_update(b"groundwork verified signature v1")
        .chain_update(key)
        .chain_update(signature);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::Signer as _;

    fn key(seed: u8) -> (ed25519_dalek::SigningKey, Ed25519Key) {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let public = Ed25519Key::decode(signing.verifying_key().as_bytes()).unwrap();
        (signing, public)
    }

    /// A signature whose `R` carries a torsion component: `R' = r·B + T` with `T` of order 8,
    /// `s = r + k'·a` with `k'` hashed over `R'`. The cofactored equation accepts it, the
    /// cofactorless one (ed25519-dalek's `verify_strict`) refuses it — the classic case where
    /// batch and single verification disagree in other libraries.
    fn torsioned(signing: &ed25519_dalek::SigningKey, message: &[u8], t: usize) -> [u8; 64] {
        let a = signing.to_scalar();
        let public = signing.verifying_key().to_bytes();
        let r = Scalar::from_bytes_mod_order_wide(&[7u8; 64]);
        let big_r = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[t];
        let r_bytes = big_r.compress().to_bytes();
        let digest: [u8; 64] = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(public)
            .chain_update(message)
            .finalize()
            .into();
        let k = Scalar::from_bytes_mod_order_wide(&digest);
        let s = r + k * a;
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&r_bytes);
        out[32..].copy_from_slice(s.as_bytes());
        out
    }

    #[test]
    fn an_rfc8032_signature_verifies_and_a_changed_one_does_not() {
        let (signing, public) = key(1);
        let sig = signing.sign(b"hello").to_bytes();
        assert!(verify(&public, b"hello", &sig));
        assert!(!verify(&public, b"hellO", &sig));
        let mut bad = sig;
        bad[5] ^= 1;
        assert!(!verify(&public, b"hello", &bad));
        let (_, other) = key(2);
        assert!(!verify(&other, b"hello", &sig));
    }

    #[test]
    fn a_non_canonical_s_is_refused() {
        let (signing, public) = key(3);
        let mut sig = signing.sign(b"m").to_bytes();
        // s + ℓ encodes the same residue but is not canonical.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = sig[32 + i] as u16 + l[i] as u16 + carry;
            sig[32 + i] = v as u8;
            carry = v >> 8;
        }
        assert!(!verify(&public, b"m", &sig));
        assert!(!verify_batch(&[(&public, b"m", &sig)]));
    }

    #[test]
    fn small_order_keys_and_small_order_r_are_refused() {
        for t in EIGHT_TORSION.iter() {
            assert!(Ed25519Key::decode(&t.compress().to_bytes()).is_none());
        }
        let (signing, public) = key(4);
        // R = identity-ish small order point with s = 0 style forgery attempt.
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&EIGHT_TORSION[1].compress().to_bytes());
        assert!(!verify(&public, b"m", &sig));
        let _ = signing;
    }

    #[test]
    fn a_torsioned_r_is_judged_alike_alone_and_in_any_batch() {
        let (signing, public) = key(5);
        let honest: Vec<[u8; 64]> = (0..20u8).map(|i| signing.sign(&[i]).to_bytes()).collect();
        for t in 1..8 {
            let odd = torsioned(&signing, b"odd", t);
            let alone = verify(&public, b"odd", &odd);
            // The cofactored rule accepts it; ed25519-dalek's strict check does not.
            assert!(alone, "torsion {t}");
            assert!(
                signing
                    .verifying_key()
                    .verify_strict(b"odd", &ed25519_dalek::Signature::from_bytes(&odd))
                    .is_err()
            );
            for size in [1usize, 2, 5, 21] {
                let mut items: Vec<(&Ed25519Key, &[u8], &[u8; 64])> = Vec::new();
                let messages: Vec<[u8; 1]> = (0..20u8).map(|i| [i]).collect();
                for i in 0..size.saturating_sub(1) {
                    items.push((&public, &messages[i][..], &honest[i]));
                }
                items.push((&public, b"odd", &odd));
                assert_eq!(verify_batch(&items), alone, "torsion {t}, batch of {size}");
            }
        }
    }

    #[test]
    fn a_batch_fails_when_any_member_fails_and_passes_when_all_pass() {
        let (signing, public) = key(6);
        let messages: Vec<[u8; 2]> = (0..64u16).map(|i| i.to_le_bytes()).collect();
        let sigs: Vec<[u8; 64]> = messages
            .iter()
            .map(|m| signing.sign(m).to_bytes())
            .collect();
        let items: Vec<(&Ed25519Key, &[u8], &[u8; 64])> = messages
            .iter()
            .zip(&sigs)
            .map(|(m, s)| (&public, &m[..], s))
            .collect();
        assert!(verify_batch(&items));
        assert!(verify_batch(&[]));
        for bad in [0usize, 31, 63] {
            let mut items = items.clone();
            items[bad].1 = b"other";
            assert!(!verify_batch(&items));
        }
    }
}
