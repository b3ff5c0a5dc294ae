//! Reading and writing state through layers of uncommitted changes.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::StateResult;

/// Pending writes: `Some(value)` to set a key, `None` to delete it. Ordered, so applying a change
/// set is deterministic.
pub type ChangeSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Read access to state (committed, or with pending changes on top).
pub trait StateRead {
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>>;

    /// Up to `limit` entries whose keys start with `prefix`, in key order, starting strictly after
    /// `after` when it is given (for pagination).
    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>>;
}

/// Write access to state. Writes are buffered until the block commits.
pub trait StateWrite: StateRead {
    /// Sets `key` to `value`.
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    /// Removes `key`.
    fn delete(&mut self, key: Vec<u8>);
}

impl<T: StateRead + ?Sized> StateRead for &T {
    fn get(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        (**self).get(key)
    }
    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan_prefix(prefix, after, limit)
    }
}

impl<T: StateRead + ?Sized> StateRead for &mut T {
    fn get(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        (**self).get(key)
    }
    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        (**self).scan_prefix(prefix, after, limit)
    }
}

impl<T: StateWrite + ?Sized> StateWrite for &mut T {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        (**self).put(key, value)
    }
    fn delete(&mut self, key: Vec<u8>) {
        (**self).delete(key)
    }
}

/// Uncommitted changes layered over a base state. Reads see the changes first.
#[derive(Debug)]
pub struct Overlay<B> {
    base: B,
    changes: ChangeSet,
}

impl<B: StateRead> Overlay<B> {
    /// An empty overlay over `base`.
    pub fn new(base: B) -> Self {
        Overlay {
            base,
            changes: ChangeSet::new(),
        }
    }

    /// The pending changes.
    pub fn changes(&self) -> &ChangeSet {
        &self.changes
    }

    /// Gives up the base and returns the pending changes.
    pub fn into_changes(self) -> ChangeSet {
        self.changes
    }

    /// Adds `changes` (typically a finished transaction's) on top of this overlay's.
    pub fn apply(&mut self, changes: ChangeSet) {
        self.changes.extend(changes);
    }

    /// The base this overlay reads through to.
    pub fn base(&self) -> &B {
        &self.base
    }
}

impl<B: StateRead> StateRead for Overlay<B> {
    fn get(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        match self.changes.get(key) {
            Some(change) => Ok(change.clone()),
            None => self.base.get(key),
        }
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let lower = match after {
            Some(after) => Bound::Excluded(after.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        let pending: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = self
            .changes
            .range((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .collect();
        if pending.is_empty() {
            // Nothing pending under the prefix: the base's entries as they are (the common case
            // when a module reads a large committed range, such as an epoch's counts).
            return self.base.scan_prefix(prefix, after, limit);
        }
        // Deleted keys may hide base entries, so ask the base for enough to fill `limit` anyway.
        let deletions = pending.iter().filter(|(_, value)| value.is_none()).count();
        let base = self
            .base
            .scan_prefix(prefix, after, limit.saturating_add(deletions))?;
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.into_iter().collect();
        for (key, change) in pending {
            match change {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged.into_iter().take(limit).collect())
    }
}

impl<B: StateRead> StateWrite for Overlay<B> {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.changes.insert(key, Some(value));
    }
    fn delete(&mut self, key: Vec<u8>) {
        self.changes.insert(key, None);
    }
}

/// An in-memory state, for tests and tools.
impl StateRead for BTreeMap<Vec<u8>, Vec<u8>> {
    fn get(&self, key: &[u8]) -> StateResult<Option<Vec<u8>>> {
        Ok(BTreeMap::get(self, key).cloned())
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> StateResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let lower = match after {
            Some(after) => Bound::Excluded(after.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        Ok(self
            .range((lower, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BTreeMap<Vec<u8>, Vec<u8>> {
        [
            (b"a/1".to_vec(), b"one".to_vec()),
            (b"a/2".to_vec(), b"two".to_vec()),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn an_overlay_reads_its_own_writes_and_hides_deletions() {
        let base = base();
        let mut overlay = Overlay::new(&base);
        overlay.put(b"a/3".to_vec(), b"three".to_vec());
        overlay.delete(b"a/1".to_vec());
        assert_eq!(overlay.get(b"a/3").unwrap(), Some(b"three".to_vec()));
        assert_eq!(overlay.get(b"a/1").unwrap(), None);
        assert_eq!(overlay.get(b"a/2").unwrap(), Some(b"two".to_vec()));
        let keys: Vec<Vec<u8>> = overlay
            .scan_prefix(b"a/", None, 10)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"a/2".to_vec(), b"a/3".to_vec()]);
    }

    #[test]
    fn a_dropped_transaction_overlay_leaves_the_block_overlay_untouched() {
        let base = base();
        let mut block = Overlay::new(&base);
        {
            let mut tx = Overlay::new(&block);
            tx.put(b"a/1".to_vec(), b"changed".to_vec());
        }
        assert_eq!(block.get(b"a/1").unwrap(), Some(b"one".to_vec()));
        let mut tx = Overlay::new(&block);
        tx.put(b"a/1".to_vec(), b"kept".to_vec());
        let changes = tx.into_changes();
        block.apply(changes);
        assert_eq!(block.get(b"a/1").unwrap(), Some(b"kept".to_vec()));
    }

    #[test]
    fn scanning_pages_through_merged_entries_in_order() {
        let base = base();
        let mut overlay = Overlay::new(&base);
        overlay.put(b"a/0".to_vec(), b"zero".to_vec());
        let first = overlay.scan_prefix(b"a/", None, 2).unwrap();
        assert_eq!(first.len(), 2);
        let rest = overlay.scan_prefix(b"a/", Some(&first[1].0), 2).unwrap();
        assert_eq!(rest, vec![(b"a/2".to_vec(), b"two".to_vec())]);
    }
}
