//! The mempool: admitted transactions waiting for a block, bounded in count and bytes.
//!
//! Transactions are kept per sender in nonce order; block candidates are offered sender by
//! sender in order of each sender's earliest arrival, each sender's run in nonce order. The app's
//! `prepare_proposal` makes the final choice. A full mempool refuses new transactions (the API
//! answers 503); it never drops one it accepted except when a block includes it, a block makes
//! it stale (its nonce was used), or it waited longer than `max_age_blocks`.

use std::collections::BTreeMap;

/// Transactions by hash: randomly seeded per table (minimal resistance to crafted collisions;
/// hashes are digests an adversary can only grind), cheaper per lookup than std's SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use std::sync::Arc;

use groundwork_app::{CheckedTx, PooledTx};
use groundwork_primitives::{Address, Hash};

use crate::config::MempoolConfig;

/// Blocks a transaction may wait before it is dropped.
pub const MAX_AGE_BLOCKS: u64 = 600;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// Count or byte limit reached.
    #[error("the mempool is full ({count} transactions, {bytes} bytes); try again shortly")]
    Full {
        /// Transactions waiting.
        count: usize,
        /// Bytes waiting.
        bytes: usize,
    },
    /// The nonce is too far ahead of the account's committed nonce.
    #[error("nonce {nonce} is more than {gap} ahead of the account's next nonce {next}")]
    NonceGap {
        /// The transaction's nonce.
        nonce: u64,
        /// The account's committed next nonce.
        next: u64,
        /// The allowed gap.
        gap: u64,
    },
    /// Another waiting transaction from the same sender has this nonce.
    #[error("another waiting transaction from this account already has nonce {0}")]
    NonceTaken(u64),
    /// The bytes given are not those the checked transaction was decoded from (a caller's bug).
    #[error("the transaction's bytes are not the ones it was checked from")]
    NotItsBytes,
}

#[derive(Debug)]
struct Entry {
    /// The bytes and their decoded form (sender and nonce among them), shared with proposals
    /// that take them.
    tx: Arc<PooledTx>,
    arrival: u64,
    height: u64,
}

/// Waiting transactions.
#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<Hash, Entry>,
    by_sender: HashMap<Address, BTreeMap<u64, Hash>>,
    arrivals: BTreeMap<u64, Hash>,
    next_arrival: u64,
    bytes: usize,
}

/// The outcome of a successful insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Newly added.
    New,
    /// Already waiting (the same bytes were sent twice).
    AlreadyKnown,
}

impl Mempool {
    /// An empty mempool.
    pub fn new(config: MempoolConfig) -> Mempool {
        Mempool {
            config,
            entries: HashMap::default(),
            by_sender: HashMap::default(),
            arrivals: BTreeMap::new(),
            next_arrival: 0,
            bytes: 0,
        }
    }

    /// Transactions waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the transaction with this hash waits here.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// The bytes of a waiting transaction.
    pub fn get(&self, hash: &Hash) -> Option<&[u8]> {
        self.entries.get(hash).map(|e| e.tx.bytes())
    }

    /// How many transactions from `sender` wait.
    pub fn pending_from(&self, sender: &Address) -> usize {
        self.by_sender.get(sender).map_or(0, BTreeMap::len)
    }

    /// The next nonce after `sender`'s waiting run that starts at `committed`.
    pub fn next_nonce(&self, sender: &Address, committed: u64) -> u64 {
        let mut next = committed;
        if let Some(queue) = self.by_sender.get(sender) {
            while queue.contains_key(&next) {
                next += 1;
            }
        }
        next
    }

    /// Adds an admitted transaction seen at `height`.
    pub fn insert(
        &mut self,
        checked: CheckedTx,
        bytes: Vec<u8>,
        height: u64,
    ) -> Result<Inserted, MempoolError> {
        let tx = &checked.tx;
        if self.entries.contains_key(&tx.hash) {
            return Ok(Inserted::AlreadyKnown);
        }
        if tx.nonce
            > checked
                .account_nonce
                .saturating_add(self.config.max_nonce_gap)
        {
            return Err(MempoolError::NonceGap {
                nonce: tx.nonce,
                next: checked.account_nonce,
                gap: self.config.max_nonce_gap,
            });
        }
        if self
            .by_sender
            .get(&tx.sender)
            .is_some_and(|q| q.contains_key(&tx.nonce))
        {
            return Err(MempoolError::NonceTaken(tx.nonce));
        }
        if self.entries.len() >= self.config.max_txs
            || self.bytes + bytes.len() > self.config.max_bytes
        {
            return Err(MempoolError::Full {
                count: self.entries.len(),
                bytes: self.bytes,
            });
        }
        let (hash, sender, nonce) = (tx.hash, tx.sender, tx.nonce);
        let size = bytes.len();
        let tx = PooledTx::new(bytes, checked).ok_or(MempoolError::NotItsBytes)?;
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.bytes += size;
        self.by_sender
            .entry(sender)
            .or_default()
            .insert(nonce, hash);
        self.arrivals.insert(arrival, hash);
        self.entries.insert(
            hash,
            Entry {
                tx: Arc::new(tx),
                arrival,
                height,
            },
        );
        Ok(Inserted::New)
    }

    /// Up to `max_txs` candidates for the next block (see the module docs for the order).
    pub fn candidates(&self, max_txs: usize, max_bytes: usize) -> Vec<Arc<PooledTx>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut seen = std::collections::BTreeSet::new();
        'outer: for hash in self.arrivals.values() {
            let Some(entry) = self.entries.get(hash) else {
                continue;
            };
            let sender = entry.tx.tx().sender;
            if !seen.insert(sender) {
                continue;
            }
            let Some(queue) = self.by_sender.get(&sender) else {
                continue;
            };
            for hash in queue.values() {
                let Some(tx) = self.entries.get(hash) else {
                    continue;
                };
                let size = tx.tx.bytes().len();
                if out.len() >= max_txs || bytes + size > max_bytes {
                    break 'outer;
                }
                bytes += size;
                out.push(tx.tx.clone());
            }
        }
        out
    }

    /// Those of `hashes` waiting here, by position (`None` for the others).
    pub fn waiting(&self, hashes: &[Hash]) -> Vec<Option<Arc<PooledTx>>> {
        hashes
            .iter()
            .map(|hash| self.entries.get(hash).map(|e| e.tx.clone()))
            .collect()
    }

    /// Removes a transaction, handing it back if it was waiting.
    pub fn remove(&mut self, hash: &Hash) -> Option<Arc<PooledTx>> {
        let entry = self.entries.remove(hash)?;
        self.bytes -= entry.tx.bytes().len();
        self.arrivals.remove(&entry.arrival);
        let (sender, nonce) = (entry.tx.tx().sender, entry.tx.tx().nonce);
        if let Some(queue) = self.by_sender.get_mut(&sender) {
            queue.remove(&nonce);
            if queue.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
        Some(entry.tx)
    }

    /// After a block: drops its transactions, those whose nonce its senders have now used (read
    /// with `committed_nonce`), and those older than [`MAX_AGE_BLOCKS`].
    pub fn after_block(
        &mut self,
        included: &[Hash],
        height: u64,
        committed_nonce: impl Fn(&Address) -> u64,
    ) {
        let mut senders = Vec::with_capacity(included.len());
        // Freed on another thread: this runs with the mempool locked, between a block's commit
        // and the next proposal, and freeing a block's transactions took milliseconds.
        let mut removed = Vec::with_capacity(included.len());
        for hash in included {
            if let Some(tx) = self.remove(hash) {
                senders.push(tx.tx().sender);
                removed.push(tx);
            }
        }
        senders.sort_unstable();
        senders.dedup();
        let mut stale = Vec::new();
        for sender in senders {
            // Only senders with transactions still waiting can have stale ones (and only those
            // cost a state read).
            if let Some(queue) = self.by_sender.get(&sender) {
                let next = committed_nonce(&sender);
                stale.extend(queue.range(..next).map(|(_, h)| *h));
            }
        }
        // Arrival order follows the height each transaction arrived at (up to admissions that
        // raced one block), so the old ones are at the front: stop at the first young one
        // rather than look at every waiting transaction after every block.
        for hash in self.arrivals.values() {
            let Some(entry) = self.entries.get(hash) else {
                continue;
            };
            if height.saturating_sub(entry.height) <= MAX_AGE_BLOCKS {
                break;
            }
            stale.push(*hash);
        }
        for hash in stale {
            removed.extend(self.remove(&hash));
        }
        groundwork_app::parallel::drop_elsewhere(removed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_app::{SignedTx, tx};
    use groundwork_primitives::{Amount, SigningKey};

    fn checked(seed: u8, nonce: u64, account_nonce: u64) -> (CheckedTx, Vec<u8>) {
        let key = SigningKey::from_seed([seed; 32]);
        let bytes = tx::build_signed_tx(
            &key,
            "c",
            nonce,
            Amount(1000),
            vec![tx::transfer_message(&Address([0; 20]), Amount(1))],
            "",
        );
        (
            CheckedTx::unverified(SignedTx::decode(&bytes).unwrap(), account_nonce),
            bytes,
        )
    }

    fn config(max_txs: usize) -> MempoolConfig {
        MempoolConfig {
            max_txs,
            max_bytes: 1 << 20,
            max_nonce_gap: 4,
        }
    }

    #[test]
    fn a_full_mempool_refuses_instead_of_dropping() {
        let mut pool = Mempool::new(config(2));
        for nonce in 0..2 {
            let (c, b) = checked(1, nonce, 0);
            pool.insert(c, b, 0).unwrap();
        }
        let (c, b) = checked(2, 0, 0);
        assert!(matches!(
            pool.insert(c, b, 0),
            Err(MempoolError::Full { count: 2, .. })
        ));
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn candidates_come_in_nonce_order_per_sender_even_if_they_arrived_out_of_order() {
        let mut pool = Mempool::new(config(10));
        for nonce in [2, 0, 1] {
            let (c, b) = checked(1, nonce, 0);
            pool.insert(c, b, 0).unwrap();
        }
        let nonces: Vec<u64> = pool
            .candidates(10, 1 << 20)
            .iter()
            .map(|pooled| pooled.tx().nonce)
            .collect();
        assert_eq!(nonces, vec![0, 1, 2]);
    }

    #[test]
    fn duplicates_gaps_and_taken_nonces_are_handled() {
        let mut pool = Mempool::new(config(10));
        let (c, b) = checked(1, 0, 0);
        assert_eq!(pool.insert(c.clone(), b.clone(), 0), Ok(Inserted::New));
        assert_eq!(pool.insert(c, b, 0), Ok(Inserted::AlreadyKnown));
        let (c, b) = checked(1, 9, 0);
        let sender = c.tx.sender;
        assert!(matches!(
            pool.insert(c, b, 0),
            Err(MempoolError::NonceGap { .. })
        ));
        assert_eq!(pool.next_nonce(&sender, 0), 1);
    }

    #[test]
    fn waiting_transactions_are_found_by_hash_decoded_and_foreign_bytes_are_refused() {
        let mut pool = Mempool::new(config(10));
        let (c0, b0) = checked(1, 0, 0);
        let (c1, _) = checked(2, 0, 0);
        let (h0, h1) = (c0.tx.hash, c1.tx.hash);
        pool.insert(c0, b0.clone(), 0).unwrap();
        let found = pool.waiting(&[h1, h0]);
        assert!(found[0].is_none());
        let held = found[1].as_ref().unwrap();
        assert_eq!((held.bytes(), held.tx().hash), (b0.as_slice(), h0));
        // Bytes that are not the checked transaction's: refused, nothing kept.
        let mut other = b0;
        other.push(0);
        assert_eq!(pool.insert(c1, other, 0), Err(MempoolError::NotItsBytes));
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn a_block_removes_included_and_stale_transactions() {
        let mut pool = Mempool::new(config(10));
        let (c0, b0) = checked(1, 0, 0);
        let (c1, b1) = checked(1, 1, 0);
        let included = c0.tx.hash;
        pool.insert(c0, b0, 0).unwrap();
        pool.insert(c1, b1, 0).unwrap();
        pool.after_block(&[included], 1, |_| 2);
        assert!(
            pool.is_empty(),
            "nonce 1 is stale once the account's next nonce is 2"
        );
        assert_eq!(pool.bytes(), 0);
    }

    #[test]
    fn transactions_older_than_the_age_limit_are_dropped_and_younger_ones_kept() {
        let mut pool = Mempool::new(config(10));
        let (old, b) = checked(1, 0, 0);
        let old_hash = old.tx.hash;
        pool.insert(old, b, 5).unwrap();
        let (young, b) = checked(2, 0, 0);
        let young_hash = young.tx.hash;
        pool.insert(young, b, 100).unwrap();
        pool.after_block(&[], 5 + MAX_AGE_BLOCKS, |_| 0);
        assert_eq!(pool.len(), 2, "exactly the age limit is not too old");
        pool.after_block(&[], 6 + MAX_AGE_BLOCKS, |_| 0);
        assert!(!pool.contains(&old_hash));
        assert!(pool.contains(&young_hash));
        pool.after_block(&[], 101 + MAX_AGE_BLOCKS, |_| 0);
        assert!(pool.is_empty());
    }
}
