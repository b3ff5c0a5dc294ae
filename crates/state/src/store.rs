//! The redb-backed store: state, tree nodes and blocks in one file, committed a block at a time.

use std::path::Path;
use std::sync::Arc;

use groundwork_primitives::Hash;
use jmt::JellyfishMerkleTree;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use redb::{
    Database, Durability, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable,
    TableDefinition, TableHandle as _,
};

use crate::tree::{AccountProof, TreeHasher, TreeUpdate, encode_proof, key_hash, root_hash};
use crate::{ChangeSet, StateError, StateRead, StateResult};

const STATE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("state");
/// The layout before path keys (keyed by the borsh `NodeKey`: version ‖ path): moved to
/// [`TREE_NODES_BY_PATH`] when a store written before is opened.
const TREE_NODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tree_nodes");
/// The live Jellyfish nodes by their nibble path ([`path_key`]); the value is the version that
/// wrote the node (u64 BE) ‖ the borsh node. A node replaces the one at its path, so a block
/// writes each changed node once instead of inserting it beside the one it retires and deleting
/// that (about half the tree writes of a block).
const TREE_NODES_BY_PATH: TableDefinition<'_, &[u8], &[u8]> =
    TableDefinition::new("tree_nodes_by_path");
const TREE_PREIMAGES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tree_preimages");
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const RESULTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("results");
const BLOCK_HASHES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("block_hashes");
const TX_INDEX: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tx_index");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const INDEX: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("index");
/// The lookup-index entries of blocks not yet merged into `tx_index` and `index`, one value per
/// block (see [`PendingIndex`]).
const INDEX_LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("index_log");
const RECORDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("records");
/// Reports a node accepted and has not yet seen committed: sequence number → arrival time (u64
/// BE, ms) ‖ report bytes. Node-local, outside the state root.
const INGEST: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("ingest_queue");

const TIP_KEY: &str = "tip";

/// The last committed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Its height (0 after genesis, before any block).
    pub height: u64,
    /// Its block hash ([`Hash::ZERO`] at genesis).
    pub block_hash: Hash,
    /// The state root after it.
    pub app_hash: Hash,
    /// Its time, milliseconds since the Unix epoch (the genesis time at height 0).
    pub time_ms: u64,
}

impl Tip {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.block_hash.0);
        out.extend_from_slice(&self.app_hash.0);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> StateResult<Tip> {
        let corrupt = || StateError::Corrupt {
            table: "meta",
            reason: "tip is not 80 bytes".into(),
        };
        if bytes.len() != 80 {
            return Err(corrupt());
        }
        let height = u64::from_be_bytes(bytes[0..8].try_into().map_err(|_| corrupt())?);
        let block_hash = Hash::from_slice(&bytes[8..40]).map_err(|_| corrupt())?;
        let app_hash = Hash::from_slice(&bytes[40..72]).map_err(|_| corrupt())?;
        let time_ms = u64::from_be_bytes(bytes[72..80].try_into().map_err(|_| corrupt())?);
        Ok(Tip {
            height,
            block_hash,
            app_hash,
            time_ms,
        })
    }
}

/// Where a transaction is: its block height and its index in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block, from 0.
    pub index: u32,
}

/// Everything one block writes, committed atomically by [`Store::commit_block`].
#[derive(Debug, Default)]
pub struct BlockCommit {
    /// The block's height; must be the stored tip's height + 1 (or 0 for genesis on an empty store).
    pub height: u64,
    /// The block hash ([`Hash::ZERO`] for genesis).
    pub block_hash: Hash,
    /// The state root after the block, from [`Store::compute_root`].
    pub app_hash: Hash,
    /// The block's time in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The encoded block (empty for genesis, which stores no block).
    pub block: Vec<u8>,
    /// The encoded block results.
    pub results: Vec<u8>,
    /// The hashes of the block's transactions, in order.
    pub tx_hashes: Vec<Hash>,
    /// The state changes.
    pub changes: ChangeSet,
    /// The tree nodes, from [`Store::compute_root`] over the same changes.
    pub tree: TreeUpdate,
    /// Entries for the non-authenticated lookup index (e.g. device ‖ height ‖ report index),
    /// logged in the same transaction and merged into their table with the next blocks'
    /// (readable at once either way). Derived data: never part of the state root.
    pub index: Vec<Vec<u8>>,
    /// Lookup-index entries that carry a value (e.g. an account's transactions in the block),
    /// written with [`BlockCommit::index`] into the same table.
    pub index_values: Vec<(Vec<u8>, Vec<u8>)>,
    /// Derived records with values (e.g. per-device reward breakdowns), written in the same
    /// transaction: recomputable from the blocks, never part of the state root.
    pub records: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The Jellyfish tree's new root and nodes after `changes` on top of `base` as version
/// `version`: in one walk over the tree (`in_one_walk`, insertions and updates only) or key by
/// key.
fn tree_update(
    base: &Snapshot,
    changes: &ChangeSet,
    version: u64,
    in_one_walk: bool,
) -> StateResult<(jmt::RootHash, jmt::storage::TreeUpdateBatch)> {
    let reader = base.tree_reader()?;
    let tree = JellyfishMerkleTree::<_, TreeHasher>::new(&reader);
    let failed = |e: anyhow::Error| StateError::Tree(e.to_string());
    if in_one_walk {
        let value_set: Vec<(jmt::KeyHash, Vec<u8>)> = changes
            .iter()
            .map(|(k, v)| {
                let value = v.clone().ok_or_else(|| {
                    StateError::Tree("a deletion cannot take the one-walk update".into())
                })?;
                Ok((jmt::KeyHash(key_hash(k)), value))
            })
            .collect::<StateResult<_>>()?;
        let (roots, batch) = tree
            .batch_put_value_sets(vec![value_set], None, version)
            .map_err(failed)?;
        let root = roots
            .first()
            .copied()
            .ok_or_else(|| StateError::Tree("the batch update gave no root".into()))?;
        Ok((root, batch))
    } else {
        let value_set: Vec<(jmt::KeyHash, Option<Vec<u8>>)> = changes
            .iter()
            .map(|(k, v)| (jmt::KeyHash(key_hash(k)), v.clone()))
            .collect();
        tree.put_value_set(value_set, version).map_err(failed)
    }
}

/// The node's store. Cheap to clone; readers never block the writer (redb is MVCC).
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    /// Index entries logged but not yet merged into their tables, shared by every clone.
    pending: Arc<std::sync::RwLock<PendingIndex>>,
}

/// Blocks merged into the index tables together: each block's index entries are logged with
/// it (one sequential value) and merged with the next ones' every this many blocks. The index
/// keys are spread over their tables (hashes, addresses), so a block of a few thousand entries
/// already rewrote nearly every leaf page of both tables; merged together, blocks share those
/// page writes.
pub const INDEX_MERGE_BLOCKS: usize = 8;

/// Entries over which the pending index is merged even before [`INDEX_MERGE_BLOCKS`] blocks.
const INDEX_MERGE_ENTRIES: usize = 200_000;

/// The lookup-index entries of the blocks logged since the last merge (`index_log`), kept in
/// memory so reads see them at once: transaction places by hash, and `index` entries.
#[derive(Debug, Default)]
struct PendingIndex {
    tx: std::collections::BTreeMap<[u8; 32], TxLocation>,
    index: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    heights: Vec<u64>,
}

impl PendingIndex {
    fn entries(&self) -> usize {
        self.tx.len() + self.index.len()
    }

    /// Adds one block's logged entries.
    fn add(&mut self, height: u64, log: IndexLog) {
        for (i, hash) in log.tx_hashes.into_iter().enumerate() {
            self.tx.insert(
                hash,
                TxLocation {
                    height,
                    index: i as u32,
                },
            );
        }
        self.index.extend(log.index);
        self.heights.push(height);
    }
}

/// One block's index entries as logged: its transactions' hashes in block order (their places
/// follow), and its `index` entries (keys with their values, empty for key-only entries).
#[derive(Debug, Default, PartialEq, Eq)]
struct IndexLog {
    tx_hashes: Vec<[u8; 32]>,
    index: Vec<(Vec<u8>, Vec<u8>)>,
}

impl IndexLog {
    fn encode(&self) -> Vec<u8> {
        let size = 8
            + 32 * self.tx_hashes.len()
            + self
                .index
                .iter()
                .map(|(k, v)| 8 + k.len() + v.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&(self.tx_hashes.len() as u32).to_be_bytes());
        for hash in &self.tx_hashes {
            out.extend_from_slice(hash);
        }
        out.extend_from_slice(&(self.index.len() as u32).to_be_bytes());
        for (key, value) in &self.index {
            out.extend_from_slice(&(key.len() as u32).to_be_bytes());
            out.extend_from_slice(key);
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    fn decode(bytes: &[u8]) -> StateResult<IndexLog> {
        let corrupt = |reason: &str| StateError::Corrupt {
            table: "index_log",
            reason: reason.into(),
        };
        let mut rest = bytes;
        let mut take = |n: usize| -> StateResult<&[u8]> {
            if rest.len() < n {
                return Err(corrupt("the entry ends early"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let count = |bytes: &[u8]| u32::from_be_bytes(bytes.try_into().unwrap_or([0; 4])) as usize;
        let txs = count(take(4)?);
        // Every count is checked against the bytes left before anything is allocated for it.
        let mut tx_hashes = Vec::with_capacity(txs.min(bytes.len() / 32));
        for _ in 0..txs {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(take(32)?);
            tx_hashes.push(hash);
        }
        let entries = count(take(4)?);
        let mut index = Vec::with_capacity(entries.min(bytes.len() / 8));
        for _ in 0..entries {
            let key_len = count(take(4)?);
            let key = take(key_len)?.to_vec();
            let value_len = count(take(4)?);
            let value = take(value_len)?.to_vec();
            index.push((key, value));
        }
        if !rest.is_empty() {
            return Err(corrupt("bytes follow the last entry"));
        }
        Ok(IndexLog { tx_hashes, index })
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (or creates) the store file at `path`. A file left by a crash is recovered to its
    /// last committed block by redb.
    pub fn open(path: &Path) -> StateResult<Store> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        let had_version_keys = txn
            .list_tables()?
            .any(|table| table.name() == TREE_NODES.name());
        {
            txn.open_table(STATE)?;
            let mut by_path = txn.open_table(TREE_NODES_BY_PATH)?;
            if had_version_keys {
                move_version_keyed_nodes(&txn, &mut by_path)?;
            }
            txn.open_table(TREE_PREIMAGES)?;
            txn.open_table(BLOCKS)?;
            txn.open_table(RESULTS)?;
            txn.open_table(BLOCK_HASHES)?;
            txn.open_table(TX_INDEX)?;
            txn.open_table(META)?;
            txn.open_table(INDEX)?;
            txn.open_table(RECORDS)?;
            txn.open_table(INGEST)?;
            txn.open_table(INDEX_LOG)?;
        }
        if had_version_keys {
            txn.delete_table(TREE_NODES)?;
        }
        txn.commit()?;
        // The blocks logged since the last merge: their entries are read from memory.
        let mut pending = PendingIndex::default();
        {
            let txn = db.begin_read()?;
            let log = txn.open_table(INDEX_LOG)?;
            for entry in log.iter()? {
                let (height, bytes) = entry?;
                pending.add(height.value(), IndexLog::decode(bytes.value())?);
            }
        }
        Ok(Store {
            db: Arc::new(db),
            pending: Arc::new(std::sync::RwLock::new(pending)),
        })
    }

    fn pending(&self) -> std::sync::RwLockReadGuard<'_, PendingIndex> {
        // A poisoned lock only means a writer panicked mid-update; reads stay meaningful.
        self.pending.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A consistent read-only view of the last committed state.
    pub fn snapshot(&self) -> StateResult<Snapshot> {
        let txn = self.db.begin_read()?;
        let state = txn.open_table(STATE)?;
        let tip = {
            let meta = txn.open_table(META)?;
            let tip = meta.get(TIP_KEY)?;
            match tip {
                Some(bytes) => Some(Tip::decode(bytes.value())?),
                None => None,
            }
        };
        Ok(Snapshot { txn, state, tip })
    }

    /// The last committed block, or `None` before genesis.
    pub fn tip(&self) -> StateResult<Option<Tip>> {
        Ok(self.snapshot()?.tip)
    }

    /// Computes the state root after applying `changes` on top of `base` as tree version
    /// `version` (the block height), without writing anything.
    pub fn compute_root(
        &self,
        base: &Snapshot,
        changes: &ChangeSet,
        version: u64,
    ) -> StateResult<(Hash, TreeUpdate)> {
        // Only insertions and updates (nearly every block): the batch update walks the tree
        // once for all keys and hashes each changed node once, where inserting key by key hashes
        // the path from the root again for every key. Same root, same nodes (tested against the
        // key-by-key update); deletions take the key-by-key path.
        match base.tip() {
            Some(tip) if version != tip.height + 1 => {
                return Err(StateError::OutOfOrder {
                    tip: tip.height,
                    got: version,
                });
            }
            None if version != 0 => {
                return Err(StateError::OutOfOrder {
                    tip: 0,
                    got: version,
                });
            }
            _ => {}
        }
        let in_one_walk = !changes.is_empty() && changes.values().all(Option::is_some);
        let (root, batch) = tree_update(base, changes, version, in_one_walk)?;
        let preimages = changes
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| (key_hash(k), k.clone()))
            .collect();
        Ok((root_hash(root), TreeUpdate { batch, preimages }))
    }

    /// Writes a block and everything it changed in one durable transaction.
    pub fn commit_block(&self, mut commit: BlockCommit) -> StateResult<()> {
        self.commit_block_kept(&mut commit)
    }

    /// [`Store::commit_block`], leaving the commit with the caller (freeing a block's worth of
    /// buffers takes milliseconds a caller may rather spend elsewhere). Its index entries are
    /// left sorted.
    pub fn commit_block_kept(&self, commit: &mut BlockCommit) -> StateResult<()> {
        // Index keys are spread over their tables (addresses, devices, hashes); inserting them
        // in key order walks each B-tree once from left to right instead of jumping about.
        commit.index.sort_unstable();
        commit.index_values.sort_unstable();
        // The block's index entries, logged with it and merged into their tables later.
        let log = (commit.height > 0).then(|| {
            // Both lists in key order, merged; a key in both comes key-only first, so its
            // value wins wherever the entries are applied in order.
            let keys = commit.index.iter().map(|key| (key.clone(), Vec::new()));
            let index = merge_sorted(
                keys.collect(),
                commit.index_values.clone(),
                |a: &(Vec<u8>, Vec<u8>), b| a.0.cmp(&b.0),
            );
            IndexLog {
                tx_hashes: commit.tx_hashes.iter().map(|hash| hash.0).collect(),
                index,
            }
        });
        let pending = self.pending();
        let merge = log.as_ref().is_some_and(|log| {
            pending.heights.len() + 1 >= INDEX_MERGE_BLOCKS
                || pending.entries() + log.tx_hashes.len() + log.index.len() >= INDEX_MERGE_ENTRIES
        });
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut meta = txn.open_table(META)?;
            let tip = match meta.get(TIP_KEY)? {
                Some(bytes) => Some(Tip::decode(bytes.value())?),
                None => None,
            };
            match tip {
                Some(tip) if tip.height + 1 != commit.height => {
                    return Err(StateError::OutOfOrder {
                        tip: tip.height,
                        got: commit.height,
                    });
                }
                None if commit.height != 0 => {
                    return Err(StateError::OutOfOrder {
                        tip: 0,
                        got: commit.height,
                    });
                }
                _ => {}
            }

            let mut state = txn.open_table(STATE)?;
            for (key, change) in &commit.changes {
                match change {
                    Some(value) => state.insert(key.as_slice(), value.as_slice())?,
                    None => state.remove(key.as_slice())?,
                };
            }

            let mut nodes = txn.open_table(TREE_NODES_BY_PATH)?;
            // New nodes replace the retired ones at their paths; a retired node whose path
            // holds no new one (a leaf moved, a key deleted) leaves its path empty.
            let mut written: Vec<(Vec<u8>, Vec<u8>)> = commit
                .tree
                .batch
                .node_batch
                .nodes()
                .iter()
                .map(|(key, node)| {
                    let mut value = key.version().to_be_bytes().to_vec();
                    borsh::to_writer(&mut value, node)
                        .map_err(|e| StateError::Tree(e.to_string()))?;
                    Ok((path_key(key.nibble_path()), value))
                })
                .collect::<StateResult<_>>()?;
            written.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut vacated: Vec<Vec<u8>> = commit
                .tree
                .batch
                .stale_node_index_batch
                .iter()
                .map(|stale| path_key(stale.node_key.nibble_path()))
                .filter(|path| {
                    written
                        .binary_search_by(|(written, _)| written.as_slice().cmp(path))
                        .is_err()
                })
                .collect();
            vacated.sort_unstable();
            vacated.dedup();
            for path in &vacated {
                nodes.remove(path.as_slice())?;
            }
            for (path, value) in &written {
                nodes.insert(path.as_slice(), value.as_slice())?;
            }
            let mut preimages = txn.open_table(TREE_PREIMAGES)?;
            for (hash, key) in &commit.tree.preimages {
                if preimages.get(hash.as_slice())?.is_none() {
                    preimages.insert(hash.as_slice(), key.as_slice())?;
                }
            }

            if commit.height > 0 {
                txn.open_table(BLOCKS)?
                    .insert(commit.height, commit.block.as_slice())?;
                txn.open_table(RESULTS)?
                    .insert(commit.height, commit.results.as_slice())?;
                txn.open_table(BLOCK_HASHES)?
                    .insert(commit.block_hash.0.as_slice(), commit.height)?;
                let mut records = txn.open_table(RECORDS)?;
                for (key, value) in &commit.records {
                    records.insert(key.as_slice(), value.as_slice())?;
                }
                if let Some(log) = &log {
                    let mut logged = txn.open_table(INDEX_LOG)?;
                    if merge {
                        // The pending blocks' entries and this block's, each table walked
                        // once in key order; their log entries go.
                        merge_index(&txn, &pending, commit.height, log)?;
                        for height in &pending.heights {
                            logged.remove(*height)?;
                        }
                    } else {
                        logged.insert(commit.height, log.encode().as_slice())?;
                    }
                }
            }

            let tip = Tip {
                height: commit.height,
                block_hash: commit.block_hash,
                app_hash: commit.app_hash,
                time_ms: commit.time_ms,
            };
            meta.insert(TIP_KEY, tip.encode().as_slice())?;
        }
        drop(pending);
        txn.commit()?;
        // Readers look in memory before the tables: after a merge an entry may briefly be in
        // both (the same value), never in neither; a block's entries appear just after its
        // commit.
        let mut pending = self.pending.write().unwrap_or_else(|e| e.into_inner());
        if merge {
            *pending = PendingIndex::default();
        } else if let Some(log) = log {
            pending.add(commit.height, log);
        }
        Ok(())
    }

    /// The encoded block at `height`.
    pub fn block(&self, height: u64) -> StateResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOCKS)?;
        Ok(table.get(height)?.map(|v| v.value().to_vec()))
    }

    /// The encoded results of the block at `height`.
    pub fn results(&self, height: u64) -> StateResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RESULTS)?;
        Ok(table.get(height)?.map(|v| v.value().to_vec()))
    }

    /// The height of the block with this hash.
    pub fn height_of_block(&self, hash: &Hash) -> StateResult<Option<u64>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOCK_HASHES)?;
        Ok(table.get(hash.0.as_slice())?.map(|v| v.value()))
    }

    /// Where the transaction with this hash was committed.
    pub fn tx_location(&self, hash: &Hash) -> StateResult<Option<TxLocation>> {
        // Memory first, then the table (see the end of `commit_block_kept`).
        if let Some(location) = self.pending().tx.get(&hash.0) {
            return Ok(Some(*location));
        }
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TX_INDEX)?;
        let Some(bytes) = table.get(hash.0.as_slice())? else {
            return Ok(None);
        };
        let bytes = bytes.value();
        let corrupt = || StateError::Corrupt {
            table: "tx_index",
            reason: "entry is not 12 bytes".into(),
        };
        let height = u64::from_be_bytes(
            bytes
                .get(..8)
                .ok_or_else(corrupt)?
                .try_into()
                .map_err(|_| corrupt())?,
        );
        let index = u32::from_be_bytes(
            bytes
                .get(8..12)
                .ok_or_else(corrupt)?
                .try_into()
                .map_err(|_| corrupt())?,
        );
        Ok(Some(TxLocation { height, index }))
    }

    /// Whether each of `hashes` names a committed transaction, read in one transaction (a batch
    /// admitted to the mempool asks for thousands at once).
    pub fn txs_committed(&self, hashes: &[Hash]) -> StateResult<Vec<bool>> {
        let pending: Vec<bool> = {
            let pending = self.pending();
            hashes
                .iter()
                .map(|hash| pending.tx.contains_key(&hash.0))
                .collect()
        };
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TX_INDEX)?;
        hashes
            .iter()
            .zip(pending)
            .map(|(hash, pending)| Ok(pending || table.get(hash.0.as_slice())?.is_some()))
            .collect()
    }

    /// Up to `limit` lookup-index keys in `[start, end)`, in order.
    pub fn index_range(&self, start: &[u8], end: &[u8], limit: usize) -> StateResult<Vec<Vec<u8>>> {
        Ok(self
            .index_entries(start, end, limit, false)?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }

    /// Up to `limit` lookup-index entries in `[start, end)`, in key order or (`newest_first`)
    /// the reverse: the pending blocks' entries (read first) merged with the table's.
    fn index_entries(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        newest_first: bool,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let range = (
            std::ops::Bound::Included(start),
            std::ops::Bound::Excluded(end),
        );
        let memory: Vec<(Vec<u8>, Vec<u8>)> = {
            let pending = self.pending();
            let entries = pending.index.range::<[u8], _>(range);
            let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
            if newest_first {
                entries.rev().take(limit).map(clone).collect()
            } else {
                entries.take(limit).map(clone).collect()
            }
        };
        let stored = self.table_range(INDEX, start, end, limit, newest_first)?;
        // Merged in the requested order; a key in both (just merged) is kept once.
        let order = |a: &(Vec<u8>, Vec<u8>), b: &(Vec<u8>, Vec<u8>)| {
            if newest_first {
                b.0.cmp(&a.0)
            } else {
                a.0.cmp(&b.0)
            }
        };
        let mut merged = merge_sorted(memory, stored, order);
        merged.dedup_by(|later, earlier| later.0 == earlier.0);
        merged.truncate(limit);
        Ok(merged)
    }

    /// Journals accepted reports durably (sequence number, arrival time in ms, bytes): a node
    /// answers a report batch only after this returns, so a crash cannot lose what it accepted.
    pub fn ingest_save(&self, entries: &[(u64, u64, &[u8])]) -> StateResult<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut table = txn.open_table(INGEST)?;
            let mut value = Vec::new();
            for (seq, received_at_ms, bytes) in entries {
                value.clear();
                value.extend_from_slice(&received_at_ms.to_be_bytes());
                value.extend_from_slice(bytes);
                table.insert(*seq, value.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Removes journaled reports (included in a committed block, or superseded).
    ///
    /// Not flushed to disk on its own (the next durable commit, a block's or a journal write's,
    /// carries it): a removal a crash undoes only brings back entries that the chain has
    /// superseded, which [`Store::ingest_load`]'s caller recognises and forgets again. This keeps
    /// a second `fsync` per block off the block path.
    pub fn ingest_forget(&self, seqs: &[u64]) -> StateResult<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        {
            let mut table = txn.open_table(INGEST)?;
            for seq in seqs {
                table.remove(*seq)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Every journaled report, oldest first: (sequence number, arrival time in ms, bytes).
    pub fn ingest_load(&self) -> StateResult<Vec<(u64, u64, Vec<u8>)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(INGEST)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (seq, value) = entry?;
            let value = value.value();
            if value.len() < 8 {
                return Err(StateError::Corrupt {
                    table: "ingest_queue",
                    reason: format!("entry {} has {} bytes", seq.value(), value.len()),
                });
            }
            let mut at = [0u8; 8];
            at.copy_from_slice(&value[..8]);
            out.push((seq.value(), u64::from_be_bytes(at), value[8..].to_vec()));
        }
        Ok(out)
    }

    /// Up to `limit` lookup-index keys in `[start, end)`, newest (largest) first.
    pub fn index_range_rev(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> StateResult<Vec<Vec<u8>>> {
        Ok(self
            .index_entries_rev(start, end, limit)?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }

    /// Up to `limit` lookup-index entries (key, value) in `[start, end)`, newest (largest) first.
    pub fn index_entries_rev(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.index_entries(start, end, limit, true)
    }

    /// The derived record under `key`, if any.
    pub fn record(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Looks up many derived records in one read transaction (one consistent view; far cheaper
    /// than a transaction per key): calls `found(key, value)` for each key that has a record, in
    /// the order given. Keys given in ascending order read the table's pages in order.
    pub fn records_each<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
        mut found: impl FnMut(&[u8], &[u8]),
    ) -> StateResult<()> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        for key in keys {
            let key = key.as_ref();
            if let Some(value) = table.get(key)? {
                found(key, value.value());
            }
        }
        Ok(())
    }

    /// Up to `limit` derived records with keys in `[start, end)`, last key first when `reverse`.
    pub fn records_range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        reverse: bool,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.table_range(RECORDS, start, end, limit, reverse)
    }

    /// Up to `limit` entries of `table` with keys in `[start, end)`, last key first when
    /// `reverse`.
    fn table_range(
        &self,
        table: TableDefinition<'_, &[u8], &[u8]>,
        start: &[u8],
        end: &[u8],
        limit: usize,
        reverse: bool,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(table)?;
        let range = table.range(start..end)?;
        let entries: Box<dyn Iterator<Item = _>> = if reverse {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let mut out = Vec::new();
        for entry in entries.take(limit) {
            let (key, value) = entry?;
            out.push((key.value().to_vec(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// The value under `key` with a Merkle proof against the latest app hash.
    pub fn prove(&self, key: &[u8]) -> StateResult<AccountProof> {
        let snapshot = self.snapshot()?;
        let tip = snapshot
            .tip
            .ok_or_else(|| StateError::Tree("no state yet: run genesis".into()))?;
        let reader = snapshot.tree_reader()?;
        let tree = JellyfishMerkleTree::<_, TreeHasher>::new(&reader);
        let (value, proof) = tree
            .get_with_proof(jmt::KeyHash(key_hash(key)), tip.height)
            .map_err(|e| StateError::Tree(e.to_string()))?;
        let proof = encode_proof(&proof).map_err(StateError::Tree)?;
        Ok(AccountProof {
            key: hex::encode(key),
            value: value.map(hex::encode),
            root: tip.app_hash,
            height: tip.height,
            key_hash: hex::encode(key_hash(key)),
            proof: hex::encode(proof),
        })
    }
}

/// A tree node's key in [`TREE_NODES_BY_PATH`]: its nibble path packed two nibbles to a byte,
/// then the number of nibbles (so a path and its extension by a zero nibble differ).
/// Writes the pending index entries and one more block's into `tx_index` and `index`.
fn merge_index(
    txn: &redb::WriteTransaction,
    pending: &PendingIndex,
    height: u64,
    log: &IndexLog,
) -> StateResult<()> {
    let location_bytes = |location: TxLocation| {
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&location.height.to_be_bytes());
        bytes[8..].copy_from_slice(&location.index.to_be_bytes());
        bytes
    };
    let mut fresh: Vec<([u8; 32], TxLocation)> = log
        .tx_hashes
        .iter()
        .enumerate()
        .map(|(i, hash)| {
            (
                *hash,
                TxLocation {
                    height,
                    index: i as u32,
                },
            )
        })
        .collect();
    fresh.sort_unstable_by_key(|place| place.0);
    let mut places: Vec<([u8; 32], TxLocation)> = pending
        .tx
        .iter()
        .map(|(hash, location)| (*hash, *location))
        .collect();
    // Both lists are in hash order: merged, the table is walked once.
    places = merge_sorted(places, fresh, |a, b| a.0.cmp(&b.0));
    let mut tx_index = txn.open_table(TX_INDEX)?;
    for (hash, location) in &places {
        tx_index.insert(hash.as_slice(), location_bytes(*location).as_slice())?;
    }
    // In key order; of two entries with one key the later block's comes last, and wins.
    let entries = merge_sorted(
        pending.index.iter().collect(),
        log.index.iter().map(|(key, value)| (key, value)).collect(),
        |a, b| a.0.cmp(b.0),
    );
    let mut index = txn.open_table(INDEX)?;
    for (key, value) in entries {
        index.insert(key.as_slice(), value.as_slice())?;
    }
    Ok(())
}

/// Two lists sorted by `order` merged into one (on a tie the second's item comes after).
fn merge_sorted<T>(
    first: Vec<T>,
    second: Vec<T>,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut a = first.into_iter().peekable();
    let mut b = second.into_iter().peekable();
    loop {
        let take_first = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => order(x, y) != std::cmp::Ordering::Greater,
        };
        out.extend(if take_first { a.next() } else { b.next() });
    }
    out
}

fn path_key(path: &jmt::storage::NibblePath) -> Vec<u8> {
    let count = path.num_nibbles();
    let mut key = vec![0u8; count.div_ceil(2) + 1];
    for (i, nibble) in path.nibbles().enumerate() {
        key[i / 2] |= u8::from(nibble) << if i % 2 == 0 { 4 } else { 0 };
    }
    // At most 64 nibbles (a 32-byte key hash).
    key[count.div_ceil(2)] = count as u8;
    key
}

/// Moves the nodes of a store written before path keys into `by_path`; the caller deletes the
/// old table in the same transaction. Only live nodes were kept there (a block deleted those it
/// retired), one per path; should two share a path, the later version stays.
fn move_version_keyed_nodes(
    txn: &redb::WriteTransaction,
    by_path: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
) -> StateResult<()> {
    let old = txn.open_table(TREE_NODES)?;
    let corrupt = |e: std::io::Error| StateError::Corrupt {
        table: "tree_nodes",
        reason: format!("a key is not a tree node key: {e}"),
    };
    for entry in old.iter()? {
        let (key, node) = entry?;
        let key: NodeKey = borsh::from_slice(key.value()).map_err(corrupt)?;
        let path = path_key(key.nibble_path());
        let newer = match by_path.get(path.as_slice())? {
            Some(held) => stored_version(held.value())? > key.version(),
            None => false,
        };
        if newer {
            continue;
        }
        let mut value = key.version().to_be_bytes().to_vec();
        value.extend_from_slice(node.value());
        by_path.insert(path.as_slice(), value.as_slice())?;
    }
    Ok(())
}

/// The version at the front of a [`TREE_NODES_BY_PATH`] value.
fn stored_version(value: &[u8]) -> StateResult<u64> {
    value
        .get(..8)
        .and_then(|v| v.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StateError::Corrupt {
            table: "tree_nodes_by_path",
            reason: "a value is shorter than its version".into(),
        })
}

/// A read-only view of the state as of the last commit when it was taken.
pub struct Snapshot {
    txn: ReadTransaction,
    state: ReadOnlyTable<&'static [u8], &'static [u8]>,
    tip: Option<Tip>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snapshot({:?})", self.tip)
    }
}

impl Snapshot {
    /// The block this snapshot reflects, or `None` before genesis.
    pub fn tip(&self) -> Option<Tip> {
        self.tip
    }

    fn tree_reader(&self) -> StateResult<TreeView<'_>> {
        Ok(TreeView {
            nodes: self.txn.open_table(TREE_NODES_BY_PATH)?,
            preimages: self.txn.open_table(TREE_PREIMAGES)?,
            state: &self.state,
        })
    }
}

impl StateRead for Snapshot {
    fn get(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        Ok(self.state.get(key)?.map(|v| v.value().to_vec()))
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        let start: &[u8] = after.unwrap_or(prefix);
        for entry in self.state.range(start..)? {
            if out.len() >= limit {
                break;
            }
            let (key, value) = entry?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            if after == Some(key) {
                continue;
            }
            out.push((key.to_vec(), value.value().to_vec()));
        }
        Ok(out)
    }
}

/// The tree's view of a snapshot. Values are served at the snapshot's version only, which is all
/// [`Store::prove`] asks for.
struct TreeView<'a> {
    nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    preimages: ReadOnlyTable<&'static [u8], &'static [u8]>,
    state: &'a ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl TreeReader for TreeView<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let Some(bytes) = self
            .nodes
            .get(path_key(node_key.nibble_path()).as_slice())?
        else {
            return Ok(None);
        };
        let bytes = bytes.value();
        // Only the live node at a path is kept: one of an older version is gone.
        if stored_version(bytes)? != node_key.version() {
            return Ok(None);
        }
        Ok(Some(borsh::from_slice(&bytes[8..])?))
    }

    fn get_value_option(
        &self,
        _max_version: jmt::Version,
        key_hash: jmt::KeyHash,
    ) -> anyhow::Result<Option<jmt::OwnedValue>> {
        let Some(key) = self.preimages.get(key_hash.0.as_slice())? else {
            return Ok(None);
        };
        Ok(self.state.get(key.value())?.map(|v| v.value().to_vec()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("tree restore is not supported by this store")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Overlay, StateWrite, verify_proof};

    fn commit(store: &Store, height: u64, changes: ChangeSet) -> Hash {
        commit_indexed(store, height, changes, vec![b"dev1/0001".to_vec()])
    }

    fn commit_indexed(store: &Store, height: u64, changes: ChangeSet, index: Vec<Vec<u8>>) -> Hash {
        let snapshot = store.snapshot().unwrap();
        let (root, tree) = store.compute_root(&snapshot, &changes, height).unwrap();
        store
            .commit_block(BlockCommit {
                height,
                block_hash: Hash([height as u8; 32]),
                app_hash: root,
                time_ms: height * 1000,
                block: vec![1, 2, 3],
                results: vec![4],
                tx_hashes: vec![Hash([0xaa; 32])],
                changes,
                tree,
                index,
                index_values: vec![(format!("b/{height}").into_bytes(), vec![height as u8; 3])],
                records: vec![(format!("rec/{height}").into_bytes(), vec![height as u8])],
            })
            .unwrap();
        root
    }

    fn set(pairs: &[(&[u8], &[u8])]) -> ChangeSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_vec(), Some(v.to_vec())))
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// The one-walk tree update (taken whenever a block deletes nothing) gives the root and
        /// the very nodes the key-by-key update gives, block after block, over a tree that both
        /// kinds of update (with deletions) built; and the tree kept by path gives, after every
        /// block, the root of its whole state written at once.
        #[test]
        fn the_one_walk_tree_update_gives_the_same_root_and_nodes_as_key_by_key_and_as_writing_it_all_at_once(
            blocks in proptest::collection::vec(
                proptest::collection::vec((0u16..400, proptest::option::weighted(0.9, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40))), 1..120),
                1..6,
            )
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("state.redb")).unwrap();
            // Genesis on an empty tree, then a block that deletes everything: later blocks
            // insert into a tree emptied by deletions.
            let genesis = set(&[(b"genesis", b"g"), (b"key/0", b"0")]);
            let empty = store.snapshot().unwrap();
            let (walk_root, walk) = tree_update(&empty, &genesis, 0, true).unwrap();
            let (key_root, by_key) = tree_update(&empty, &genesis, 0, false).unwrap();
            proptest::prop_assert_eq!(walk_root, key_root);
            proptest::prop_assert_eq!(&walk.node_batch, &by_key.node_batch);
            drop(empty);
            commit(&store, 0, genesis);
            commit(
                &store,
                1,
                [(b"genesis".to_vec(), None), (b"key/0".to_vec(), None)].into_iter().collect(),
            );
            let mut model: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
            for (i, writes) in blocks.into_iter().enumerate() {
                let height = i as u64 + 2;
                let changes: ChangeSet = writes
                    .into_iter()
                    .map(|(k, v)| (format!("key/{k}").into_bytes(), v))
                    .collect();
                let inserts_only: ChangeSet = changes
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone().unwrap_or_default())))
                    .collect();
                let snapshot = store.snapshot().unwrap();
                let (walk_root, walk) = tree_update(&snapshot, &inserts_only, height, true).unwrap();
                let (key_root, by_key) = tree_update(&snapshot, &inserts_only, height, false).unwrap();
                proptest::prop_assert_eq!(walk_root, key_root);
                proptest::prop_assert_eq!(&walk.node_batch, &by_key.node_batch);
                proptest::prop_assert_eq!(&walk.stale_node_index_batch, &by_key.stale_node_index_batch);
                // Commit the block as written (deletions included), by whichever path applies.
                for (key, value) in &changes {
                    match value {
                        Some(value) => model.insert(key.clone(), value.clone()),
                        None => model.remove(key),
                    };
                }
                let root = commit(&store, height, changes);
                // The nodes kept by path, updated block after block, give the root the whole
                // state written at once gives.
                if !model.is_empty() {
                    let once = Store::open(&dir.path().join(format!("once-{height}"))).unwrap();
                    let all: ChangeSet = model.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
                    proptest::prop_assert_eq!(commit(&once, 0, all), root);
                }
            }
        }
    }

    #[test]
    fn the_ingest_journal_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = Store::open(&path).unwrap();
            store
                .ingest_save(&[(1, 100, b"one".as_slice()), (2, 101, b"two"), (3, 102, b"")])
                .unwrap();
            store.ingest_forget(&[2]).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.ingest_load().unwrap(),
            vec![(1, 100, b"one".to_vec()), (3, 102, Vec::new())]
        );
    }

    /// Index reads answer the same whether a block's entries still wait in memory (logged with
    /// the block) or were merged into their tables, and across a reopen with blocks pending.
    #[test]
    fn index_reads_are_the_same_pending_merged_and_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let mut store = Store::open(&path).unwrap();
        commit_indexed(&store, 0, set(&[(b"a", b"0")]), Vec::new());
        let mut places: std::collections::HashMap<[u8; 32], TxLocation> = Default::default();
        let mut model: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let blocks = 3 * INDEX_MERGE_BLOCKS as u64 + 3;
        for height in 1..=blocks {
            let tx_hashes: Vec<Hash> = (0..next() % 30)
                .map(|_| {
                    let mut hash = [0u8; 32];
                    for chunk in hash.chunks_mut(8) {
                        chunk.copy_from_slice(&next().to_be_bytes());
                    }
                    Hash(hash)
                })
                .collect();
            let keys: Vec<Vec<u8>> = (0..next() % 6)
                .map(|_| format!("k/{:02}/{height:03}", next() % 50).into_bytes())
                .collect();
            // Values under a few keys, rewritten by later blocks; one also written key-only in
            // the same block (the value wins).
            let mut valued: Vec<(Vec<u8>, Vec<u8>)> = (0..next() % 4)
                .map(|_| {
                    (
                        format!("v/{:02}", next() % 20).into_bytes(),
                        next().to_be_bytes().to_vec(),
                    )
                })
                .collect();
            valued.sort();
            valued.dedup_by(|a, b| a.0 == b.0);
            let mut keys = keys;
            if let Some((key, _)) = valued.first() {
                keys.push(key.clone());
            }
            for (i, hash) in tx_hashes.iter().enumerate() {
                places.insert(
                    hash.0,
                    TxLocation {
                        height,
                        index: i as u32,
                    },
                );
            }
            for key in &keys {
                model.entry(key.clone()).or_default();
            }
            for (key, value) in &valued {
                model.insert(key.clone(), value.clone());
            }
            let changes = set(&[(b"a", height.to_be_bytes().as_slice())]);
            let snapshot = store.snapshot().unwrap();
            let (root, tree) = store.compute_root(&snapshot, &changes, height).unwrap();
            drop(snapshot);
            store
                .commit_block(BlockCommit {
                    height,
                    block_hash: Hash([height as u8; 32]),
                    app_hash: root,
                    time_ms: height,
                    block: vec![1],
                    results: vec![2],
                    tx_hashes,
                    changes,
                    tree,
                    index: keys,
                    index_values: valued,
                    records: Vec::new(),
                })
                .unwrap();
            if height == 5 || height == 2 * INDEX_MERGE_BLOCKS as u64 + 1 {
                drop(store);
                store = Store::open(&path).unwrap();
            }

            for (hash, place) in &places {
                assert_eq!(store.tx_location(&Hash(*hash)).unwrap(), Some(*place));
            }
            let absent = Hash([0x5a; 32]);
            assert_eq!(store.tx_location(&absent).unwrap(), None);
            let asked: Vec<Hash> = places
                .keys()
                .take(5)
                .map(|h| Hash(*h))
                .chain([absent])
                .collect();
            let mut expected = vec![true; asked.len() - 1];
            expected.push(false);
            assert_eq!(store.txs_committed(&asked).unwrap(), expected);
            for (start, end) in [
                (&b"k/"[..], &b"k/~"[..]),
                (b"k/10", b"k/30"),
                (b"a", b"z"),
                (b"v/05", b"v/15"),
            ] {
                let all: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range::<[u8], _>((
                        std::ops::Bound::Included(start),
                        std::ops::Bound::Excluded(end),
                    ))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for limit in [1usize, 3, 10, 1000] {
                    let forwards: Vec<Vec<u8>> =
                        all.iter().take(limit).map(|(k, _)| k.clone()).collect();
                    assert_eq!(
                        store.index_range(start, end, limit).unwrap(),
                        forwards,
                        "height {height}"
                    );
                    let backwards: Vec<(Vec<u8>, Vec<u8>)> =
                        all.iter().rev().take(limit).cloned().collect();
                    assert_eq!(
                        store.index_entries_rev(start, end, limit).unwrap(),
                        backwards,
                        "height {height}"
                    );
                }
            }
        }
        // The last merge left some blocks pending, and the log holds exactly those.
        let pending = store.pending().heights.clone();
        assert_eq!(pending.len() as u64, blocks % INDEX_MERGE_BLOCKS as u64);
        let txn = store.db.begin_read().unwrap();
        let logged: Vec<u64> = txn
            .open_table(INDEX_LOG)
            .unwrap()
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value())
            .collect();
        assert_eq!(logged, pending);
    }

    #[test]
    fn a_damaged_index_log_entry_is_refused_with_a_reason() {
        let log = IndexLog {
            tx_hashes: vec![[1; 32], [2; 32]],
            index: vec![(b"k".to_vec(), Vec::new()), (b"v".to_vec(), vec![9, 9])],
        };
        let bytes = log.encode();
        assert_eq!(IndexLog::decode(&bytes).unwrap(), log);
        for cut in 0..bytes.len() {
            let error = IndexLog::decode(&bytes[..cut]).unwrap_err();
            assert!(error.to_string().contains("index_log"), "{error}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(IndexLog::decode(&longer).is_err());
        // Counts far beyond the bytes allocate nothing and fail.
        let mut huge = u32::MAX.to_be_bytes().to_vec();
        huge.extend_from_slice(&[0; 40]);
        assert!(IndexLog::decode(&huge).is_err());
    }

    #[test]
    fn the_lookup_index_reads_forwards_and_backwards_within_a_range() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb")).unwrap();
        commit_indexed(&store, 0, set(&[(b"a", b"1")]), Vec::new());
        for height in 1..=3u64 {
            let keys = vec![
                format!("a/x/{height}").into_bytes(),
                format!("a/y/{height}").into_bytes(),
            ];
            commit_indexed(&store, height, set(&[(b"a", b"1")]), keys);
        }
        let forwards = store.index_range(b"a/x/", b"a/x/~", 10).unwrap();
        assert_eq!(
            forwards,
            vec![b"a/x/1".to_vec(), b"a/x/2".to_vec(), b"a/x/3".to_vec()]
        );
        let backwards = store.index_range_rev(b"a/x/", b"a/x/~", 2).unwrap();
        assert_eq!(backwards, vec![b"a/x/3".to_vec(), b"a/x/2".to_vec()]);
        let before_three = store.index_range_rev(b"a/x/", b"a/x/3", 10).unwrap();
        assert_eq!(before_three, vec![b"a/x/2".to_vec(), b"a/x/1".to_vec()]);
        // Entries with values share the table (genesis writes none): keys alone read an empty
        // value.
        let valued = store.index_entries_rev(b"a/x/", b"b/~", 10).unwrap();
        assert_eq!(
            valued,
            vec![
                (b"b/3".to_vec(), vec![3; 3]),
                (b"b/2".to_vec(), vec![2; 3]),
                (b"b/1".to_vec(), vec![1; 3]),
                (b"a/y/3".to_vec(), Vec::new()),
                (b"a/y/2".to_vec(), Vec::new()),
                (b"a/y/1".to_vec(), Vec::new()),
                (b"a/x/3".to_vec(), Vec::new()),
                (b"a/x/2".to_vec(), Vec::new()),
                (b"a/x/1".to_vec(), Vec::new()),
            ]
        );
    }

    #[test]
    fn committed_state_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let root = {
            let store = Store::open(&path).unwrap();
            commit(&store, 0, set(&[(b"a", b"1")]));
            commit(&store, 1, set(&[(b"b", b"2")]))
        };
        let store = Store::open(&path).unwrap();
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(snapshot.get(b"b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(snapshot.tip().unwrap().app_hash, root);
        assert_eq!(store.block(1).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(store.height_of_block(&Hash([1; 32])).unwrap(), Some(1));
        assert_eq!(
            store.index_range(b"dev1/", b"dev1/~", 10).unwrap(),
            vec![b"dev1/0001".to_vec()]
        );
        // Derived records: genesis writes none; block 1 wrote one; ranges run both ways.
        assert_eq!(store.record(b"rec/1").unwrap(), Some(vec![1]));
        assert_eq!(store.record(b"rec/0").unwrap(), None);
        assert_eq!(
            store.records_range(b"rec/", b"rec/~", 5, true).unwrap(),
            vec![(b"rec/1".to_vec(), vec![1])]
        );
        assert_eq!(
            store.tx_location(&Hash([0xaa; 32])).unwrap(),
            Some(TxLocation {
                height: 1,
                index: 0
            })
        );
        assert_eq!(
            store
                .txs_committed(&[Hash([0xbb; 32]), Hash([0xaa; 32])])
                .unwrap(),
            vec![false, true]
        );
        // Many lookups in one view: only keys with a record are reported, in the order asked.
        commit(&store, 2, set(&[(b"c", b"3")]));
        let mut found = Vec::new();
        store
            .records_each([b"rec/2", b"rec/0", b"rec/1"], |k, v| {
                found.push((k.to_vec(), v.to_vec()))
            })
            .unwrap();
        assert_eq!(
            found,
            vec![(b"rec/2".to_vec(), vec![2]), (b"rec/1".to_vec(), vec![1])]
        );
    }

    #[test]
    fn the_root_depends_on_content_not_on_write_order() {
        let dir = tempfile::tempdir().unwrap();
        let one = Store::open(&dir.path().join("one")).unwrap();
        let two = Store::open(&dir.path().join("two")).unwrap();
        commit(&one, 0, set(&[(b"x", b"1"), (b"y", b"2")]));
        commit(&two, 0, set(&[(b"x", b"1")]));
        let a = commit(&one, 1, set(&[(b"z", b"3")]));
        let b = commit(&two, 1, set(&[(b"y", b"2"), (b"z", b"3")]));
        assert_eq!(a, b);
    }

    #[test]
    fn a_block_out_of_order_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        commit(&store, 0, set(&[(b"a", b"1")]));
        let snapshot = store.snapshot().unwrap();
        let changes = set(&[(b"a", b"2")]);
        let err = store.compute_root(&snapshot, &changes, 5).unwrap_err();
        assert!(matches!(err, StateError::OutOfOrder { tip: 0, got: 5 }));
        let err = store
            .commit_block(BlockCommit {
                height: 5,
                changes,
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, StateError::OutOfOrder { tip: 0, got: 5 }));
    }

    /// Puts a store's tree nodes back in the layout before path keys (keyed by the borsh
    /// `NodeKey`: version u64 LE ‖ nibble count u64 LE ‖ path length u32 LE ‖ packed path), as
    /// a store written before holds them.
    fn to_version_keys(path: &Path) {
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let by_path = txn.open_table(TREE_NODES_BY_PATH).unwrap();
            let mut old = txn.open_table(TREE_NODES).unwrap();
            for entry in by_path.iter().unwrap() {
                let (key, value) = entry.unwrap();
                let (key, value) = (key.value(), value.value());
                let (packed, count) = key.split_at(key.len() - 1);
                let version = u64::from_be_bytes(value[..8].try_into().unwrap());
                let old_key = [
                    version.to_le_bytes().as_slice(),
                    &(count[0] as u64).to_le_bytes(),
                    &(packed.len() as u32).to_le_bytes(),
                    packed,
                ]
                .concat();
                let decoded: NodeKey = borsh::from_slice(&old_key).unwrap();
                assert_eq!(path_key(decoded.nibble_path()), key);
                old.insert(old_key.as_slice(), &value[8..]).unwrap();
            }
        }
        txn.delete_table(TREE_NODES_BY_PATH).unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn a_store_written_with_version_keyed_tree_nodes_moves_them_to_path_keys_on_opening() {
        let dir = tempfile::tempdir().unwrap();
        let (moved, fresh) = (dir.path().join("moved"), dir.path().join("fresh"));
        // Inserts, updates and a deletion (which retires nodes whose paths stay empty).
        let blocks = |store: &Store| {
            commit(store, 0, set(&[(b"alice", b"100"), (b"bob", b"7")]));
            let keys: Vec<(Vec<u8>, Vec<u8>)> = (0..300u32)
                .map(|i| (format!("k{i}").into_bytes(), i.to_be_bytes().to_vec()))
                .collect();
            let pairs: Vec<(&[u8], &[u8])> = keys
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .collect();
            commit(store, 1, set(&pairs));
            let mut overlay = Overlay::new(store.snapshot().unwrap());
            overlay.put(b"alice".to_vec(), b"90".to_vec());
            overlay.delete(b"bob".to_vec());
            overlay.delete(b"k7".to_vec());
            commit(store, 2, overlay.into_changes())
        };
        let root = blocks(&Store::open(&moved).unwrap());
        to_version_keys(&moved);

        let store = Store::open(&moved).unwrap();
        {
            let txn = store.db.begin_read().unwrap();
            let names: Vec<String> = txn
                .list_tables()
                .unwrap()
                .map(|t| t.name().to_string())
                .collect();
            assert!(!names.contains(&"tree_nodes".to_string()), "{names:?}");
        }
        assert_eq!(store.tip().unwrap().unwrap().app_hash, root);
        let proof = store.prove(b"alice").unwrap();
        verify_proof(
            &root,
            b"alice",
            Some(b"90"),
            &hex::decode(&proof.proof).unwrap(),
        )
        .unwrap();
        let absent = store.prove(b"k7").unwrap();
        verify_proof(&root, b"k7", None, &hex::decode(&absent.proof).unwrap()).unwrap();
        // The next block on the moved nodes gives the root a store that never moved gives.
        let next = set(&[(b"k8", b"new"), (b"carol", b"1")]);
        let after_move = commit(&store, 3, next.clone());
        let never_moved = Store::open(&fresh).unwrap();
        assert_eq!(blocks(&never_moved), root);
        assert_eq!(commit(&never_moved, 3, next), after_move);
    }

    #[test]
    fn proofs_verify_for_present_and_absent_keys_and_fail_for_wrong_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        commit(&store, 0, set(&[(b"alice", b"100"), (b"bob", b"7")]));
        let mut overlay = Overlay::new(store.snapshot().unwrap());
        overlay.put(b"alice".to_vec(), b"90".to_vec());
        overlay.delete(b"bob".to_vec());
        let changes = overlay.into_changes();
        let root = commit(&store, 1, changes);

        let proof = store.prove(b"alice").unwrap();
        assert_eq!(proof.root, root);
        let bytes = hex::decode(&proof.proof).unwrap();
        verify_proof(&root, b"alice", Some(b"90"), &bytes).unwrap();
        assert!(verify_proof(&root, b"alice", Some(b"100"), &bytes).is_err());

        let absent = store.prove(b"bob").unwrap();
        assert_eq!(absent.value, None);
        verify_proof(&root, b"bob", None, &hex::decode(&absent.proof).unwrap()).unwrap();
        assert!(verify_proof(&root, b"x", None, &[1, 2, 3]).is_err());
    }

    #[test]
    fn scanning_the_snapshot_respects_prefix_cursor_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        commit(
            &store,
            0,
            set(&[(b"a/1", b""), (b"a/2", b""), (b"a/3", b""), (b"b/1", b"")]),
        );
        let snapshot = store.snapshot().unwrap();
        let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(snapshot.scan_prefix(b"a/", None, 2).unwrap()),
            vec![b"a/1".to_vec(), b"a/2".to_vec()]
        );
        assert_eq!(
            keys(snapshot.scan_prefix(b"a/", Some(b"a/2"), 5).unwrap()),
            vec![b"a/3".to_vec()]
        );
    }
}
