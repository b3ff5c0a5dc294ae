//! Deterministic parallelism: the results never depend on the number of threads.

use groundwork_primitives::{
    ED25519_BATCH, PreparedKey, PublicKey, Signature, batch_verify_ed25519, batch_verify_prepared,
};

/// Maps `f` over `items` on up to `threads` threads, keeping the order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() < 256 {
        return items.iter().map(&f).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                // A panic in `f` is a bug; re-raise it on this thread rather than hide it.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// One signature to check: the key, the signed message and the signature (`None` for an item
/// that could not even be decoded, whose verdict is `false`).
pub type SignatureItem = Option<(PublicKey, Vec<u8>, Signature)>;

/// Verifies signatures, one verdict per item (`None` items are `false`). Batches are cut at
/// fixed positions (every [`ED25519_BATCH`] items of the whole list, whichever are `None`) and
/// each thread takes whole batches, so the verdicts are the same on every machine: a batch can
/// accept a signature that the strict single check refuses, so its membership must not depend
/// on anything but the block's content.
pub fn verify_signatures(items: &[SignatureItem], threads: usize) -> Vec<bool> {
    let work = |batch: &[SignatureItem]| -> Vec<bool> {
        let present: Vec<(PublicKey, &[u8], Signature)> = batch
            .iter()
            .flatten()
            .map(|(k, m, s)| (*k, m.as_slice(), *s))
            .collect();
        let mut verdicts = batch_verify_ed25519(&present).into_iter();
        batch
            .iter()
            .map(|item| item.is_some() && verdicts.next().unwrap_or(false))
            .collect()
    };
    let batches: Vec<&[SignatureItem]> = items.chunks(ED25519_BATCH).collect();
    par_map(
        &batches,
        if items.len() > 2 * ED25519_BATCH {
            threads
        } else {
            1
        },
        |batch| work(batch),
    )
    .into_iter()
    .flatten()
    .collect()
}

/// A signature to check against a key decompressed beforehand (`None`: no signature to check).
pub type PreparedItem<'a> = Option<(&'a PreparedKey, Vec<u8>, Signature)>;

/// [`verify_signatures`] over keys decompressed beforehand (a device's key once per block rather
/// than once per report): the same position-aligned batches, the same verdicts.
pub fn verify_prepared(items: &[PreparedItem<'_>], threads: usize) -> Vec<bool> {
    let work = |batch: &[PreparedItem<'_>]| -> Vec<bool> {
        let present: Vec<(&PreparedKey, &[u8], Signature)> = batch
            .iter()
            .flatten()
            .map(|(k, m, s)| (*k, m.as_slice(), *s))
            .collect();
        let mut verdicts = batch_verify_prepared(&present).into_iter();
        batch
            .iter()
            .map(|item| item.is_some() && verdicts.next().unwrap_or(false))
            .collect()
    };
    let batches: Vec<&[PreparedItem<'_>]> = items.chunks(ED25519_BATCH).collect();
    let threads = if items.len() > 2 * ED25519_BATCH {
        threads
    } else {
        1
    };
    par_map(&batches, threads, |batch| work(batch))
        .into_iter()
        .flatten()
        .collect()
}

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
    fn verdicts_are_the_same_whatever_the_thread_count() {
        let items: Vec<Option<(PublicKey, Vec<u8>, Signature)>> = (0..500u32)
            .map(|i| {
                if i % 97 == 0 {
                    return None;
                }
                let key = SigningKey::from_seed([(i % 200) as u8; 32]);
                let body = i.to_le_bytes();
                let mut sig = key.sign(domain::TRANSACTION, "c", &body);
                if i % 41 == 0 {
                    sig.0[3] ^= 1;
                }
                Some((
                    key.public_key(),
                    signed_message(domain::TRANSACTION, "c", &body),
                    sig,
                ))
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
    fn par_map_keeps_order() {
        let items: Vec<u32> = (0..10_000).collect();
        assert_eq!(
            par_map(&items, 4, |x| x * 2),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}
