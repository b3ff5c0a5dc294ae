//! Deterministic parallelism: the results never depend on the number of threads.

use groundwork_primitives::ed25519::signature_digest;
use groundwork_primitives::{
    ED25519_BATCH, PreparedKey, PublicKey, Signature, batch_verify_prepared,
};

/// Maps `f` over `items` on up to `threads` threads, keeping the order. For cheap items (a hash,
/// a decode): fewer than 256 are mapped on the calling thread.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() < 256 {
        return items.iter().map(&f).collect();
    }
    map_in_pieces(items, threads, items.len().div_ceil(threads.max(1) * 8), &f)
}

/// [`par_map`] for items each worth a thread's while (a batch of signatures, say): any two or
/// more are spread over the threads, one at a time.
pub fn par_map_each<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    map_in_pieces(items, threads, 1, &f)
}

/// Maps `f` over `items` in pieces of `piece` items, and puts the results back in input order.
///
/// The pieces run on rayon's pool (the global one, or the pool the caller runs in), whose threads
/// live as long as the process: spawning threads for every call cost a node ~5 % of its CPU in
/// thread creation and stack mappings when a block, a mempool batch and a gossip batch each
/// asked for a few. Idle threads steal pieces in turn rather than take one fixed share each, so
/// a thread the OS pauses (the cores are shared with the block producer, with other validators)
/// holds up one piece, not half the work. `threads` ≤ 1 (or a single piece) runs on the calling
/// thread.
fn map_in_pieces<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    piece: usize,
    f: &(impl Fn(&T) -> R + Sync),
) -> Vec<R> {
    use rayon::prelude::*;
    let piece = piece.max(1);
    let pieces = items.len().div_ceil(piece);
    if threads.min(pieces) <= 1 {
        return items.iter().map(f).collect();
    }
    let parts: Vec<Vec<R>> = items
        .par_chunks(piece)
        .with_max_len(1)
        .map(|chunk| chunk.iter().map(f).collect())
        .collect();
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part);
    }
    out
}

/// Drops `value` on a thread kept for that, so the caller does not spend the time freeing it
/// (a committed block's buffers, say); drops it here if that thread cannot be started.
pub fn drop_elsewhere<T: Send + 'static>(value: T) {
    type Garbage = Box<dyn Send>;
    static DROPPER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Garbage>>> =
        std::sync::OnceLock::new();
    let dropper = DROPPER.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel::<Garbage>();
        std::thread::Builder::new()
            .name("dropper".into())
            .spawn(move || {
                while let Ok(garbage) = receiver.recv() {
                    drop(garbage);
                }
            })
            .ok()
            .map(|_| sender)
    });
    let garbage: Garbage = Box::new(value);
    // Without the thread (or if it is gone), the value is dropped here.
    if let Some(sender) = dropper {
        let _ = sender.send(garbage);
    }
}

/// One signature to check: the key, the signed message and the signature (`None` for an item
/// that could not even be decoded, whose verdict is `false`).
pub type SignatureItem = Option<(PublicKey, Vec<u8>, Signature)>;

/// Verifies signatures, one verdict per item (`None` items are `false`).
///
/// Each verdict is that of the single check (see `groundwork_primitives::ed25519`: batches accept
/// exactly what single checks accept), so neither the batches nor the threads nor the memo of
/// [`VerifiedSignatures`] can change a verdict: they only decide how fast it comes. Signatures
/// found in the memo are not checked again; those that verify are remembered.
pub fn verify_signatures(items: &[SignatureItem], threads: usize) -> Vec<bool> {
    let digests: Vec<Option<[u8; 32]>> = par_map(items, threads, |item| {
        let (key, message, signature) = item.as_ref()?;
        match key {
            PublicKey::Ed25519(bytes) => Some(signature_digest(bytes, message, &signature.0)),
            PublicKey::P256(_) => None,
        }
    });
    let known = VERIFIED.contains_all(&digests);
    let unknown: Vec<(usize, &SignatureItem)> = items
        .iter()
        .enumerate()
        .filter(|(i, item)| item.is_some() && !known[*i])
        .collect();
    finish(&unknown, &known, &digests, threads, verify_items)
}

/// The verdicts of one batch of items (`None` items are `false`).
fn verify_items<I: std::borrow::Borrow<SignatureItem>>(batch: &[(usize, I)]) -> Vec<bool> {
    let present: Vec<(PublicKey, &[u8], Signature)> = batch
        .iter()
        .filter_map(|(_, item)| item.borrow().as_ref())
        .map(|(k, m, s)| (*k, m.as_slice(), *s))
        .collect();
    // Accounts sign again and again: their keys are decompressed once and kept.
    let keys: Vec<PreparedKey> = present.iter().map(|(k, _, _)| prepared(k)).collect();
    let prepared: Vec<(&PreparedKey, &[u8], Signature)> = keys
        .iter()
        .zip(&present)
        .map(|(k, (_, m, s))| (k, *m, *s))
        .collect();
    let mut verdicts = batch_verify_prepared(&prepared).into_iter();
    batch
        .iter()
        .map(|(_, item)| item.borrow().is_some() && verdicts.next().unwrap_or(false))
        .collect()
}

/// What [`verify_signatures_by_digest`] knows of one signature beforehand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// Nothing to check (the item could not even be decoded): the verdict is `false`.
    Nothing,
    /// This process verified it already (on admission, say): the verdict is `true`, unchecked.
    Verified,
    /// Its memo digest ([`signature_digest`] over the key, message and signature): found in
    /// the memo, or checked and remembered.
    Known([u8; 32]),
    /// No memo digest (a key kind the memo does not keep): checked.
    Unknown,
}

/// [`verify_signatures`] for items whose memo digests are known beforehand: `item(i)` builds
/// the i-th item only if its signature has to be checked, so a signature the memo knows costs
/// one lookup, and one marked [`Digest::Verified`] nothing at all. The verdicts are those of
/// [`verify_signatures`] over the same items.
pub fn verify_signatures_by_digest(
    digests: &[Digest],
    threads: usize,
    item: impl Fn(usize) -> SignatureItem + Sync,
) -> Vec<bool> {
    let memo: Vec<Option<[u8; 32]>> = digests
        .iter()
        .map(|d| match d {
            Digest::Known(digest) => Some(*digest),
            _ => None,
        })
        .collect();
    let mut known = VERIFIED.contains_all(&memo);
    for (known, digest) in known.iter_mut().zip(digests) {
        if *digest == Digest::Verified {
            *known = true;
        }
    }
    let to_check: Vec<usize> = digests
        .iter()
        .enumerate()
        .filter(|(i, d)| matches!(d, Digest::Known(_) | Digest::Unknown) && !known[*i])
        .map(|(i, _)| i)
        .collect();
    let unknown: Vec<(usize, SignatureItem)> = par_map(&to_check, threads, |&i| (i, item(i)));
    finish(&unknown, &known, &memo, threads, verify_items)
}

/// Runs `work` over the unknown items in batches of [`ED25519_BATCH`] on up to `threads`
/// threads, remembers what verified, and merges with the items already known.
fn finish<T: Sync>(
    unknown: &[(usize, T)],
    known: &[bool],
    digests: &[Option<[u8; 32]>],
    threads: usize,
    work: impl Fn(&[(usize, T)]) -> Vec<bool> + Sync,
) -> Vec<bool> {
    let batches: Vec<&[(usize, T)]> = unknown.chunks(ED25519_BATCH).collect();
    let threads = if unknown.len() > 2 * ED25519_BATCH {
        threads
    } else {
        1
    };
    let checked: Vec<bool> = par_map_each(&batches, threads, |batch| work(batch))
        .into_iter()
        .flatten()
        .collect();
    let mut verdicts = known.to_vec();
    let mut fresh = Vec::new();
    for ((index, _), ok) in unknown.iter().zip(checked) {
        verdicts[*index] = ok;
        if ok && let Some(digest) = digests[*index] {
            fresh.push(digest);
        }
    }
    VERIFIED.remember(&fresh);
    verdicts
}

/// A signature to check against a key decompressed beforehand (`None`: no signature to check).
pub type PreparedItem<'a> = Option<(&'a PreparedKey, Vec<u8>, Signature)>;

/// [`verify_signatures`] over keys decompressed beforehand (a device's key once per block rather
/// than once per report): the same verdicts, the same memo.
pub fn verify_prepared(items: &[PreparedItem<'_>], threads: usize) -> Vec<bool> {
    let digests: Vec<Option<[u8; 32]>> = par_map(items, threads, |item| {
        let (key, message, signature) = item.as_ref()?;
        Some(signature_digest(
            key.ed25519_bytes()?,
            message,
            &signature.0,
        ))
    });
    let known = VERIFIED.contains_all(&digests);
    let work = |batch: &[(usize, &PreparedItem<'_>)]| -> Vec<bool> {
        let present: Vec<(&PreparedKey, &[u8], Signature)> = batch
            .iter()
            .filter_map(|(_, item)| item.as_ref())
            .map(|(k, m, s)| (*k, m.as_slice(), *s))
            .collect();
        let mut verdicts = batch_verify_prepared(&present).into_iter();
        batch
            .iter()
            .map(|(_, item)| item.is_some() && verdicts.next().unwrap_or(false))
            .collect()
    };
    let unknown: Vec<(usize, &PreparedItem<'_>)> = items
        .iter()
        .enumerate()
        .filter(|(i, item)| item.is_some() && !known[*i])
        .collect();
    finish(&unknown, &known, &digests, threads, work)
}

/// Records that one signature verified (a transaction checked on admission, say), so the block
/// that carries it does not check it again.
pub fn remember_verified(key: &PublicKey, message: &[u8], signature: &Signature) {
    if let PublicKey::Ed25519(bytes) = key {
        remember_verified_digest(signature_digest(bytes, message, &signature.0));
    }
}

/// [`remember_verified`] by the signature's memo digest.
pub fn remember_verified_digest(digest: [u8; 32]) {
    VERIFIED.remember(&[digest]);
}

/// A bounded table of recent entries shared by threads, the shape of every memo here (verified
/// signatures, decompressed keys, checked keys) and of the node's cache of device keys: 16
/// shards, each a current and a previous generation of at most `per_generation` entries; when
/// the current one fills it becomes the previous and the oldest is dropped, so entries in steady
/// use stay. Hashing is seeded at random per table: keys may be an adversary's to choose.
pub struct Recent<K, V> {
    per_generation: usize,
    hasher: foldhash::fast::RandomState,
    shards: Vec<std::sync::Mutex<RecentShard<K, V>>>,
}

impl<K, V> std::fmt::Debug for Recent<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent")
            .field("per_generation", &self.per_generation)
            .finish_non_exhaustive()
    }
}

struct RecentShard<K, V> {
    current: std::collections::HashMap<K, V, foldhash::fast::RandomState>,
    previous: std::collections::HashMap<K, V, foldhash::fast::RandomState>,
}

impl<K: std::hash::Hash + Eq, V: Clone> Recent<K, V> {
    const SHARDS: usize = 16;

    /// An empty table of at most `2 × 16 × per_generation` entries.
    pub fn new(per_generation: usize) -> Recent<K, V> {
        Recent {
            per_generation,
            hasher: Default::default(),
            shards: (0..Self::SHARDS)
                .map(|_| {
                    std::sync::Mutex::new(RecentShard {
                        current: Default::default(),
                        previous: Default::default(),
                    })
                })
                .collect(),
        }
    }

    fn shard(&self, key: &K) -> std::sync::MutexGuard<'_, RecentShard<K, V>> {
        use std::hash::BuildHasher as _;
        let index = (self.hasher.hash_one(key) % Self::SHARDS as u64) as usize;
        // A poisoned shard only means another thread panicked mid-insert; the maps stay valid.
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value remembered for `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        let shard = self.shard(key);
        shard
            .current
            .get(key)
            .or_else(|| shard.previous.get(key))
            .cloned()
    }

    /// Whether `key` is remembered.
    pub fn contains(&self, key: &K) -> bool {
        let shard = self.shard(key);
        shard.current.contains_key(key) || shard.previous.contains_key(key)
    }

    /// Remembers `value` for `key`.
    pub fn insert(&self, key: K, value: V) {
        let mut shard = self.shard(&key);
        if shard.current.len() >= self.per_generation {
            let full = std::mem::take(&mut shard.current);
            shard.previous = full;
        }
        shard.current.insert(key, value);
    }

    /// The most entries any generation of any shard holds (for tests of the bound).
    pub fn largest_generation(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
                shard.current.len().max(shard.previous.len())
            })
            .max()
            .unwrap_or(0)
    }
}

/// The process's memo of ed25519 signatures that verified: ingest and mempool admission check a
/// report or transaction once, and the block that carries it finds it here instead of checking
/// it a second time. Sound because a verdict is a pure function of (key, message, signature) —
/// the digest names all three, SHA-256 makes a collision infeasible — and only `true` verdicts
/// are kept: a validator without the memo reaches the same verdict, only slower.
///
/// Bounded ([`Recent`]): at least half a million of the most recent digests are always kept
/// (enough for a full report queue) and memory stays below ~80 MB.
pub struct VerifiedSignatures(Recent<[u8; 32], ()>);

impl VerifiedSignatures {
    /// Digests per shard and generation.
    pub const GENERATION: usize = 32_768;

    fn new() -> VerifiedSignatures {
        VerifiedSignatures(Recent::new(Self::GENERATION))
    }

    fn contains_all(&self, digests: &[Option<[u8; 32]>]) -> Vec<bool> {
        digests
            .iter()
            .map(|d| d.is_some_and(|d| self.0.contains(&d)))
            .collect()
    }

    fn remember(&self, digests: &[[u8; 32]]) {
        for digest in digests {
            self.0.insert(*digest, ());
        }
    }
}

static VERIFIED: std::sync::LazyLock<VerifiedSignatures> =
    std::sync::LazyLock::new(VerifiedSignatures::new);

/// The process's decompressed ed25519 keys of recent signers, so a key that signs again (an
/// account's next transaction) is not decompressed again. Sound for the same reason as the memo:
/// decompression is a pure function of the key's bytes, so a remembered result is the one any
/// validator computes. Bounded ([`Recent`], [`PREPARED_KEYS_PER_GENERATION`]): about 30 MB at
/// most.
static KEYS: std::sync::LazyLock<Recent<[u8; 32], PreparedKey>> =
    std::sync::LazyLock::new(|| Recent::new(PREPARED_KEYS_PER_GENERATION));

/// Decompressed keys per shard and generation of the process's table.
pub const PREPARED_KEYS_PER_GENERATION: usize = 4_096;

/// `key` decompressed: from the process's table, or decompressed now and remembered. Keys other
/// than ed25519 are decompressed every time.
fn prepared(key: &PublicKey) -> PreparedKey {
    let PublicKey::Ed25519(bytes) = key else {
        return PreparedKey::new(key);
    };
    if let Some(found) = KEYS.get(bytes) {
        return found;
    }
    let prepared = PreparedKey::new(key);
    KEYS.insert(*bytes, prepared.clone());
    prepared
}

/// `bytes` as an ed25519 public key, with [`PublicKey::ed25519`]'s checks (a curve point, not of
/// small order), remembered for keys that passed lately: every transaction names its signer's
/// key, and decoding it again at admission, in the proposal and in the block would otherwise
/// decompress the point each time (a fifth of a validator's work under load). Sound: the check
/// is a pure function of the bytes, and only keys that passed are remembered. Bounded
/// ([`Recent`], [`CHECKED_KEYS_PER_GENERATION`]).
pub fn checked_ed25519(bytes: &[u8]) -> Result<PublicKey, groundwork_primitives::KeyError> {
    if let Ok(array) = <[u8; 32]>::try_from(bytes)
        && CHECKED_KEYS.contains(&array)
    {
        return Ok(PublicKey::Ed25519(array));
    }
    let key = PublicKey::ed25519(bytes)?;
    if let PublicKey::Ed25519(array) = &key {
        CHECKED_KEYS.insert(*array, ());
    }
    Ok(key)
}

/// Checked keys per shard and generation of the process's table.
pub const CHECKED_KEYS_PER_GENERATION: usize = 8_192;

static CHECKED_KEYS: std::sync::LazyLock<Recent<[u8; 32], ()>> =
    std::sync::LazyLock::new(|| Recent::new(CHECKED_KEYS_PER_GENERATION));

/// Decompresses each distinct key once, on all threads.
pub fn prepare_keys<K: Ord + Copy + Send + Sync>(
    keys: &[(K, PublicKey)],
    threads: usize,
) -> std::collections::BTreeMap<K, PreparedKey> {
    keys.iter()
        .map(|(id, _)| *id)
        .zip(par_map(keys, threads, |(_, key)| PreparedKey::new(key)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_primitives::{SigningKey, domain, signed_message};

    #[test]
    fn results_keep_the_input_order_whatever_the_threads_and_pieces() {
        for len in [0usize, 1, 2, 3, 255, 256, 257, 1000, 4099] {
            let items: Vec<u64> = (0..len as u64).collect();
            let expected: Vec<u64> = items.iter().map(|x| x * x + 1).collect();
            for threads in [1, 2, 3, 7] {
                assert_eq!(par_map(&items, threads, |x| x * x + 1), expected);
                assert_eq!(par_map_each(&items, threads, |x| x * x + 1), expected);
            }
        }
    }

    #[test]
    fn a_few_costly_items_are_spread_over_the_threads() {
        // Two items each worth a thread run at the same time: each waits (up to a generous
        // bound) until the other has started, which only happens if two threads took them.
        let started = std::sync::Mutex::new(0usize);
        let both = std::sync::Condvar::new();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let met = pool.install(|| {
            par_map_each(&[0u8, 1], 2, |_| {
                let mut count = started.lock().unwrap();
                *count += 1;
                both.notify_all();
                let (count, _) = both
                    .wait_timeout_while(count, std::time::Duration::from_secs(30), |c| *c < 2)
                    .unwrap();
                *count == 2
            })
        });
        assert_eq!(
            met,
            vec![true, true],
            "the two items ran one after the other"
        );
    }

    #[test]
    fn a_remembered_key_check_answers_as_the_check_itself() {
        let good = SigningKey::from_seed([7; 32]).public_key();
        let PublicKey::Ed25519(bytes) = good else {
            unreachable!("an ed25519 key")
        };
        // Twice: checked, then remembered.
        for _ in 0..2 {
            assert_eq!(checked_ed25519(&bytes).unwrap(), good);
        }
        // Small order (the identity), not a point, the wrong length: refused every time, with
        // the check's own reason.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let not_a_point = (2u8..=255)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                bytes
            })
            .find(|bytes| PublicKey::ed25519(bytes).is_err())
            .expect("some small y is not on the curve");
        for bad in [&identity[..], &not_a_point[..], &bytes[..31]] {
            for _ in 0..2 {
                assert_eq!(
                    checked_ed25519(bad).unwrap_err().to_string(),
                    PublicKey::ed25519(bad).unwrap_err().to_string()
                );
            }
        }
    }

    /// A transaction signature by the key of `seed` over `body`, with one bit of it flipped
    /// when `forged`.
    fn signed_item(seed: u8, chain: &str, body: &[u8], forged: bool) -> SignatureItem {
        let key = SigningKey::from_seed([seed; 32]);
        let mut sig = key.sign(domain::TRANSACTION, chain, body);
        if forged {
            sig.0[3] ^= 1;
        }
        Some((
            key.public_key(),
            signed_message(domain::TRANSACTION, chain, body),
            sig,
        ))
    }

    #[test]
    fn verdicts_are_the_same_whatever_the_thread_count() {
        let items: Vec<Option<(PublicKey, Vec<u8>, Signature)>> = (0..500u32)
            .map(|i| {
                if i % 97 == 0 {
                    return None;
                }
                signed_item((i % 200) as u8, "c", &i.to_le_bytes(), i % 41 == 0)
            })
            .collect();
        let one = verify_signatures(&items, 1);
        for threads in [2, 3, 8] {
            assert_eq!(verify_signatures(&items, threads), one);
        }
        for (i, ok) in one.iter().enumerate() {
            assert_eq!(*ok, i % 97 != 0 && i % 41 != 0, "item {i}");
        }
    }

    #[test]
    fn signatures_known_beforehand_are_not_rebuilt_and_the_rest_get_the_verdicts_of_verify_signatures()
     {
        let items: Vec<SignatureItem> = (0..600u32)
            .map(|i| {
                let body = (i + 1_000_000).to_le_bytes();
                signed_item((i % 100) as u8 + 50, "by-digest", &body, i % 29 == 0)
            })
            .collect();
        let digest_of = |item: &SignatureItem| {
            let (PublicKey::Ed25519(key), message, sig) = item.as_ref().unwrap() else {
                unreachable!("ed25519 keys")
            };
            signature_digest(key, message, &sig.0)
        };
        // A few verified earlier and remembered: found by digest, never rebuilt.
        let remembered: Vec<usize> = (0..600).filter(|i| i % 7 == 3 && i % 29 != 0).collect();
        for &i in &remembered {
            remember_verified_digest(digest_of(&items[i]));
        }
        let digests: Vec<Digest> = (0..600)
            .map(|i| match i % 10 {
                0 => Digest::Nothing,
                1 => Digest::Verified,
                2 => Digest::Unknown,
                _ => Digest::Known(digest_of(&items[i])),
            })
            .collect();
        let built = std::sync::Mutex::new(Vec::new());
        let verdicts = verify_signatures_by_digest(&digests, 2, |i| {
            built.lock().unwrap().push(i);
            items[i].clone()
        });
        let mut built = built.into_inner().unwrap();
        built.sort_unstable();
        let mut expected_built: Vec<usize> = (0..600)
            // Without a digest the memo is not asked: rebuilt and checked even if remembered.
            .filter(|i| i % 10 == 2 || (i % 10 >= 3 && !remembered.contains(i)))
            .collect();
        expected_built.sort_unstable();
        assert_eq!(built, expected_built, "only unknown signatures are rebuilt");
        let plain = verify_signatures(&items, 1);
        for (i, ok) in verdicts.iter().enumerate() {
            let expected = match i % 10 {
                0 => false,
                1 => true,
                _ => plain[i],
            };
            assert_eq!(*ok, expected, "item {i}");
        }
        assert_eq!(
            plain.iter().filter(|ok| !**ok).count(),
            21,
            "the forged ones"
        );
    }

    #[test]
    fn prepared_keys_give_the_same_verdicts() {
        let keys: Vec<SigningKey> = (0..50u8).map(|i| SigningKey::from_seed([i; 32])).collect();
        let messages: Vec<Vec<u8>> = (0..700u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let prepared: Vec<PreparedKey> = keys
            .iter()
            .map(|k| PreparedKey::new(&k.public_key()))
            .collect();
        let mut plain = Vec::new();
        let mut ready = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            let key = &keys[i % 50];
            let mut sig = key.sign(domain::TRANSACTION, "c", message);
            if i % 37 == 0 {
                sig.0[1] ^= 1;
            }
            let signed = signed_message(domain::TRANSACTION, "c", message);
            plain.push(Some((key.public_key(), signed.clone(), sig)));
            ready.push(Some((&prepared[i % 50], signed, sig)));
        }
        assert_eq!(verify_prepared(&ready, 2), verify_signatures(&plain, 2));
        assert_eq!(
            verify_prepared(&ready, 1).iter().filter(|ok| !**ok).count(),
            19
        );
    }

    #[test]
    fn the_memo_never_turns_a_bad_signature_good() {
        let key = SigningKey::from_seed([201; 32]);
        let signed = signed_message(domain::DEVICE_REPORT, "memo", b"body");
        let sig = key.sign(domain::DEVICE_REPORT, "memo", b"body");
        let good = Some((key.public_key(), signed.clone(), sig));
        // The same signature over other bytes, and a changed signature over the same bytes.
        let other_message = Some((
            key.public_key(),
            signed_message(domain::DEVICE_REPORT, "memo", b"bodY"),
            sig,
        ));
        let mut changed = sig;
        changed.0[40] ^= 1;
        let changed = Some((key.public_key(), signed, changed));
        let items = vec![good, other_message, changed];
        // First pass verifies and remembers the good one; later passes find it in the memo.
        for _ in 0..3 {
            assert_eq!(verify_signatures(&items, 1), vec![true, false, false]);
        }
        let digest = match &items[0] {
            Some((PublicKey::Ed25519(k), m, s)) => signature_digest(k, m, &s.0),
            _ => unreachable!(),
        };
        assert_eq!(VERIFIED.contains_all(&[Some(digest)]), vec![true]);
    }

    #[test]
    fn the_memo_keeps_at_most_two_generations_per_shard() {
        let memo = VerifiedSignatures::new();
        let digests: Vec<[u8; 32]> = (0..(VerifiedSignatures::GENERATION as u32 * 3))
            .map(|i| *groundwork_primitives::sha256(&i.to_le_bytes()).as_bytes())
            .collect();
        memo.remember(&digests);
        assert!(memo.0.largest_generation() <= VerifiedSignatures::GENERATION);
        // The most recent digests are always kept.
        let recent: Vec<Option<[u8; 32]>> =
            digests.iter().rev().take(1000).map(|d| Some(*d)).collect();
        assert!(memo.contains_all(&recent).iter().all(|k| *k));
    }

    #[test]
    fn what_is_dropped_elsewhere_is_dropped() {
        struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        drop_elsewhere(Flag(dropped.clone()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(std::time::Instant::now() < deadline, "never dropped");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn par_map_keeps_order() {
        let items: Vec<u32> = (0..10_000).collect();
        assert_eq!(
            par_map(&items, 4, |x| x * 2),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}
