//! The provider's piece store: one file per piece on disk, written crash-safely.
//!
//! # Layout
//!
//! ```text
//! <home>/pieces/<root hex>                 a stored piece (its bytes, nothing else)
//! <home>/pieces/<root hex>.tmp-<nonce>     a piece being written (never served)
//! <home>/quarantine/<root hex>             a piece whose bytes no longer match its name
//! ```
//!
//! A piece's name is its commitment ([`groundwork_storage_net::piece_root`]), which binds its
//! length, so the file itself is the whole index: nothing else on disk can disagree with it.
//!
//! # What is atomic
//!
//! [`PieceStore::put`] writes the bytes to a temporary file, `fsync`s it, renames it to its final
//! name and `fsync`s the directory; only then does it return, and only then does the server
//! acknowledge the upload. A crash at any moment leaves either no piece (a temporary file that
//! [`PieceStore::open`] removes) or the whole piece. Opening a store also checks every piece
//! against its name (in parallel) and moves the ones that no longer match to `quarantine/`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use groundwork_storage_net::commitment::{Hash, PieceHasher, piece_root};
use rayon::prelude::*;

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk failed.
    #[error("disk error on {path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Storing the piece would exceed the capacity.
    #[error(
        "not enough space: the piece needs {needed} bytes, {free} of the {capacity} bytes offered are free"
    )]
    Full {
        /// Bytes asked for.
        needed: u64,
        /// Bytes free (capacity minus stored minus being written).
        free: u64,
        /// The capacity offered.
        capacity: u64,
    },
    /// The piece is not stored here.
    #[error("piece {0} is not stored here")]
    NotFound(String),
    /// The bytes do not have the commitment they were sent under.
    #[error("the piece's bytes have commitment {actual}, not {expected}")]
    RootMismatch {
        /// The commitment named in the request.
        expected: String,
        /// The commitment of the bytes received.
        actual: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What opening a store found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OpenReport {
    /// Pieces found and verified.
    pub pieces: usize,
    /// Bytes they hold.
    pub bytes: u64,
    /// Leftover temporary files removed (uploads a crash interrupted; never acknowledged).
    pub removed_temporary: usize,
    /// Pieces whose bytes did not match their name, moved to `quarantine/`.
    pub quarantined: Vec<String>,
}

#[derive(Debug, Default)]
struct Usage {
    /// Stored pieces and their lengths.
    pieces: BTreeMap<Hash, u64>,
    /// Sum of the stored lengths.
    stored: u64,
    /// Bytes promised to uploads in progress.
    reserved: u64,
}

/// What [`PieceStore::collect`] did with a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collected {
    /// Deleted; this many bytes are free again.
    Deleted(u64),
    /// Kept: stored or used within the grace period.
    Recent,
    /// Not stored here.
    Absent,
}

/// A reservation of space for one upload; give it back with [`PieceStore::put`] or
/// [`PieceStore::release`].
#[derive(Debug)]
#[must_use = "a reservation holds capacity until put or released"]
pub struct Reservation {
    bytes: u64,
}

/// A piece being written: its bytes go to a temporary file and through its commitment's hasher
/// in one pass. Finish it with [`PieceStore::finish_write`] or drop it with
/// [`PieceStore::abort_write`] (a writer merely dropped leaves a temporary file, removed on the
/// next open).
#[derive(Debug)]
pub struct PieceWriter {
    root: Hash,
    length: u64,
    file: File,
    temporary: PathBuf,
    hasher: PieceHasher,
}

impl PieceWriter {
    /// Appends the next bytes of the piece (refused past the announced length).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if self.hasher.len() + bytes.len() as u64 > self.length {
            return Err(StoreError::Io {
                path: self.temporary.clone(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("more than the {} bytes announced", self.length),
                ),
            });
        }
        self.hasher.update(bytes);
        self.file
            .write_all(bytes)
            .map_err(io_error(&self.temporary))
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.hasher.len()
    }
}

/// The piece store of one provider.
#[derive(Debug)]
pub struct PieceStore {
    dir: PathBuf,
    quarantine: PathBuf,
    capacity: u64,
    usage: Mutex<Usage>,
}

/// Hex name of a root.
pub fn root_hex(root: &Hash) -> String {
    hex::encode(root)
}

/// Parses a 64-character hex root.
pub fn parse_root(text: &str) -> Option<Hash> {
    let mut root = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    hex::decode_to_slice(text, &mut root).ok()?;
    Some(root)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error(dir))
}

impl PieceStore {
    /// Opens (creating if needed) the store under `home`, offering `capacity` bytes: removes
    /// leftover temporary files and verifies every piece against its name.
    pub fn open(home: &Path, capacity: u64) -> Result<(PieceStore, OpenReport), StoreError> {
        let dir = home.join("pieces");
        let quarantine = home.join("quarantine");
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let mut report = OpenReport::default();
        let mut candidates = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".tmp-") {
                fs::remove_file(&path).map_err(io_error(&path))?;
                report.removed_temporary += 1;
                continue;
            }
            match parse_root(&name) {
                Some(root) => candidates.push((root, path)),
                None => {
                    tracing::warn!(file = %path.display(), "ignoring a file that is not a piece")
                }
            }
        }
        if report.removed_temporary > 0 {
            sync_dir(&dir)?;
        }
        let checked: Vec<(Hash, PathBuf, Result<Option<u64>, StoreError>)> = candidates
            .into_par_iter()
            .map(|(root, path)| {
                let verdict = fs::read(&path)
                    .map_err(io_error(&path))
                    .map(|bytes| (piece_root(&bytes) == root).then_some(bytes.len() as u64));
                (root, path, verdict)
            })
            .collect();
        let mut usage = Usage::default();
        for (root, path, verdict) in checked {
            match verdict? {
                Some(length) => {
                    usage.pieces.insert(root, length);
                    usage.stored += length;
                }
                None => {
                    fs::create_dir_all(&quarantine).map_err(io_error(&quarantine))?;
                    let target = quarantine.join(root_hex(&root));
                    fs::rename(&path, &target).map_err(io_error(&path))?;
                    tracing::warn!(piece = %root_hex(&root), "a stored piece no longer matches its commitment: quarantined");
                    report.quarantined.push(root_hex(&root));
                }
            }
        }
        report.pieces = usage.pieces.len();
        report.bytes = usage.stored;
        Ok((
            PieceStore {
                dir,
                quarantine,
                capacity,
                usage: Mutex::new(usage),
            },
            report,
        ))
    }

    fn usage(&self) -> std::sync::MutexGuard<'_, Usage> {
        // A panic while holding this lock cannot leave the numbers half-updated (each update is
        // a few integer assignments), so a poisoned lock is still good to use.
        self.usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes offered.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes stored.
    pub fn used(&self) -> u64 {
        self.usage().stored
    }

    /// Bytes neither stored nor reserved.
    pub fn free(&self) -> u64 {
        let usage = self.usage();
        self.capacity
            .saturating_sub(usage.stored)
            .saturating_sub(usage.reserved)
    }

    /// Pieces stored.
    pub fn piece_count(&self) -> usize {
        self.usage().pieces.len()
    }

    /// The stored pieces and their lengths.
    pub fn pieces(&self) -> Vec<(Hash, u64)> {
        self.usage()
            .pieces
            .iter()
            .map(|(root, length)| (*root, *length))
            .collect()
    }

    /// The length of a stored piece.
    pub fn piece_len(&self, root: &Hash) -> Option<u64> {
        self.usage().pieces.get(root).copied()
    }

    /// The length of a stored piece, which is marked as just used (its file's modification time
    /// becomes now) so that garbage collection leaves it alone for its grace period: for a new
    /// upload of bytes already held and for a receipt, whose deal the chain may not show yet.
    /// Checked and marked under the store's lock, so [`PieceStore::collect`] either sees the
    /// mark or has removed the piece before (and then the upload writes it anew).
    pub fn hold(&self, root: &Hash) -> Option<u64> {
        let usage = self.usage();
        let length = usage.pieces.get(root).copied()?;
        let path = self.dir.join(root_hex(root));
        let marked = OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(std::time::SystemTime::now()));
        if let Err(error) = marked {
            tracing::warn!(piece = %root_hex(root), %error, "could not mark a held piece as used");
        }
        Some(length)
    }

    /// Deletes a stored piece that no deal needs any more, unless it was stored or marked
    /// ([`PieceStore::hold`]) less than `grace` ago. Its capacity is free at once. The file is
    /// unlinked under the store's lock, so no upload of the same piece can slip in between the
    /// check and the deletion; a crash after the unlink but before [`PieceStore::sync`] may bring
    /// the file back, and the next collection deletes it again.
    pub fn collect(
        &self,
        root: &Hash,
        grace: std::time::Duration,
    ) -> Result<Collected, StoreError> {
        let mut usage = self.usage();
        let Some(length) = usage.pieces.get(root).copied() else {
            return Ok(Collected::Absent);
        };
        let path = self.dir.join(root_hex(root));
        let modified = fs::metadata(&path)
            .and_then(|metadata| metadata.modified())
            .map_err(io_error(&path))?;
        let age = std::time::SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default();
        if age < grace {
            return Ok(Collected::Recent);
        }
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path, source }),
        }
        usage.pieces.remove(root);
        usage.stored = usage.stored.saturating_sub(length);
        Ok(Collected::Deleted(length))
    }

    /// Makes deletions durable (`fsync` of the pieces folder).
    pub fn sync(&self) -> Result<(), StoreError> {
        sync_dir(&self.dir)
    }

    /// Reserves `bytes` of capacity for an upload.
    pub fn reserve(&self, bytes: u64) -> Result<Reservation, StoreError> {
        let mut usage = self.usage();
        let free = self
            .capacity
            .saturating_sub(usage.stored)
            .saturating_sub(usage.reserved);
        if bytes > free {
            return Err(StoreError::Full {
                needed: bytes,
                free,
                capacity: self.capacity,
            });
        }
        usage.reserved += bytes;
        Ok(Reservation { bytes })
    }

    /// Gives back a reservation unused.
    pub fn release(&self, reservation: Reservation) {
        let mut usage = self.usage();
        usage.reserved = usage.reserved.saturating_sub(reservation.bytes);
    }

    /// Checks `bytes` against `root` and stores them durably; returns once the piece survives a
    /// crash. Storing a piece already held is a no-op.
    pub fn put(
        &self,
        root: &Hash,
        bytes: &[u8],
        reservation: Reservation,
    ) -> Result<(), StoreError> {
        if self.hold(root).is_some() {
            self.release(reservation);
            let actual = piece_root(bytes);
            if actual != *root {
                return Err(StoreError::RootMismatch {
                    expected: root_hex(root),
                    actual: root_hex(&actual),
                });
            }
            return Ok(());
        }
        let mut writer = match self.begin_write(root, bytes.len() as u64) {
            Ok(writer) => writer,
            Err(error) => {
                self.release(reservation);
                return Err(error);
            }
        };
        if let Err(error) = writer.write(bytes) {
            self.abort_write(writer, reservation);
            return Err(error);
        }
        self.finish_write(writer, reservation)
    }

    /// Starts writing a piece of `length` bytes that must have commitment `root`: the bytes go
    /// to a temporary file as they arrive ([`PieceWriter::write`], which hashes them in the same
    /// pass); [`PieceStore::finish_write`] checks and publishes it, [`PieceStore::abort_write`]
    /// drops it.
    pub fn begin_write(&self, root: &Hash, length: u64) -> Result<PieceWriter, StoreError> {
        let name = root_hex(root);
        let temporary = self
            .dir
            .join(format!("{name}.tmp-{:016x}", rand::random::<u64>()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(io_error(&temporary))?;
        Ok(PieceWriter {
            root: *root,
            length,
            file,
            temporary,
            hasher: PieceHasher::new(),
        })
    }

    /// Drops an unfinished piece: its temporary file and its reservation.
    pub fn abort_write(&self, writer: PieceWriter, reservation: Reservation) {
        let PieceWriter {
            file, temporary, ..
        } = writer;
        drop(file);
        let _ = fs::remove_file(&temporary);
        self.release(reservation);
    }

    /// Publishes a written piece once its length and commitment are right: `fsync` of the
    /// file, rename to its final name, `fsync` of the folder; returns once it survives a crash.
    /// On any error the temporary file is removed and the reservation released.
    pub fn finish_write(
        &self,
        writer: PieceWriter,
        reservation: Reservation,
    ) -> Result<(), StoreError> {
        let PieceWriter {
            root,
            length,
            file,
            temporary,
            hasher,
        } = writer;
        let written = hasher.len();
        let result = (|| {
            if written != length {
                return Err(StoreError::Io {
                    path: temporary.clone(),
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{written} bytes written, {length} announced"),
                    ),
                });
            }
            let actual = hasher.finish();
            if actual != root {
                return Err(StoreError::RootMismatch {
                    expected: root_hex(&root),
                    actual: root_hex(&actual),
                });
            }
            file.sync_all().map_err(io_error(&temporary))?;
            drop(file);
            let final_path = self.dir.join(root_hex(&root));
            fs::rename(&temporary, &final_path).map_err(io_error(&final_path))?;
            sync_dir(&self.dir)
        })();
        let mut usage = self.usage();
        usage.reserved = usage.reserved.saturating_sub(reservation.bytes);
        match result {
            Ok(()) => {
                if usage.pieces.insert(root, length).is_none() {
                    usage.stored += length;
                }
                Ok(())
            }
            Err(error) => {
                drop(usage);
                let _ = fs::remove_file(&temporary);
                Err(error)
            }
        }
    }

    /// Reads `range` (clamped by the caller to the piece) of a stored piece.
    pub fn read(&self, root: &Hash, start: u64, length: u64) -> Result<Vec<u8>, StoreError> {
        let name = root_hex(root);
        if self.piece_len(root).is_none() {
            return Err(StoreError::NotFound(name));
        }
        let path = self.dir.join(&name);
        let read = (|| {
            let mut file = File::open(&path)?;
            file.seek(SeekFrom::Start(start))?;
            let mut buffer = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
            file.take(length).read_to_end(&mut buffer)?;
            Ok::<_, io::Error>(buffer)
        })();
        match read {
            Ok(buffer) => Ok(buffer),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // The file vanished under us (deleted by hand or a failing disk): forget it.
                self.forget(root);
                Err(StoreError::NotFound(name))
            }
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// Drops a piece from the index (its file is gone).
    fn forget(&self, root: &Hash) {
        let mut usage = self.usage();
        if let Some(length) = usage.pieces.remove(root) {
            usage.stored = usage.stored.saturating_sub(length);
        }
    }

    /// Moves a piece whose bytes no longer match its commitment to `quarantine/`.
    pub fn quarantine(&self, root: &Hash) -> Result<(), StoreError> {
        self.forget(root);
        fs::create_dir_all(&self.quarantine).map_err(io_error(&self.quarantine))?;
        let name = root_hex(root);
        let from = self.dir.join(&name);
        fs::rename(&from, self.quarantine.join(&name)).map_err(io_error(&from))
    }

    /// Path of a stored piece's file (for tests and tools).
    pub fn piece_path(&self, root: &Hash) -> PathBuf {
        self.dir.join(root_hex(root))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_survives_reopening_and_leftovers_are_removed() {
        let home = tempfile::tempdir().unwrap();
        let piece = vec![7u8; 10_000];
        let root = piece_root(&piece);
        {
            let (store, report) = PieceStore::open(home.path(), 1 << 20).unwrap();
            assert_eq!(report, OpenReport::default());
            let reservation = store.reserve(piece.len() as u64).unwrap();
            store.put(&root, &piece, reservation).unwrap();
            assert_eq!(store.used(), 10_000);
            assert_eq!(store.free(), (1 << 20) - 10_000);
        }
        fs::write(home.path().join("pieces").join("abc.tmp-1"), b"half").unwrap();
        let (store, report) = PieceStore::open(home.path(), 1 << 20).unwrap();
        assert_eq!(report.pieces, 1);
        assert_eq!(report.removed_temporary, 1);
        assert_eq!(store.read(&root, 0, 10_000).unwrap(), piece);
        assert_eq!(store.read(&root, 9_990, 100).unwrap(), vec![7u8; 10]);
    }

    #[test]
    fn a_mismatched_piece_is_refused_and_frees_its_reservation() {
        let home = tempfile::tempdir().unwrap();
        let (store, _) = PieceStore::open(home.path(), 1000).unwrap();
        let reservation = store.reserve(100).unwrap();
        let error = store.put(&[1u8; 32], &[0u8; 100], reservation).unwrap_err();
        assert!(matches!(error, StoreError::RootMismatch { .. }), "{error}");
        assert_eq!(store.free(), 1000);
        assert_eq!(store.piece_count(), 0);
    }

    #[test]
    fn a_collected_piece_frees_its_space_and_stays_gone_after_reopening() {
        let home = tempfile::tempdir().unwrap();
        let (store, _) = PieceStore::open(home.path(), 1 << 20).unwrap();
        let (old, fresh) = (vec![1u8; 5_000], vec![2u8; 3_000]);
        for piece in [&old, &fresh] {
            let reservation = store.reserve(piece.len() as u64).unwrap();
            store.put(&piece_root(piece), piece, reservation).unwrap();
        }
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for piece in [&old, &fresh] {
            OpenOptions::new()
                .write(true)
                .open(store.piece_path(&piece_root(piece)))
                .unwrap()
                .set_modified(an_hour_ago)
                .unwrap();
        }
        // A new upload of bytes already held (or a receipt) marks the piece as used.
        assert_eq!(store.hold(&piece_root(&fresh)), Some(3_000));
        let grace = std::time::Duration::from_secs(600);
        assert_eq!(
            store.collect(&piece_root(&old), grace).unwrap(),
            Collected::Deleted(5_000)
        );
        assert_eq!(
            store.collect(&piece_root(&fresh), grace).unwrap(),
            Collected::Recent
        );
        assert_eq!(
            store.collect(&piece_root(&old), grace).unwrap(),
            Collected::Absent
        );
        store.sync().unwrap();
        assert_eq!(store.used(), 3_000);
        assert_eq!(store.free(), (1 << 20) - 3_000);
        assert!(matches!(
            store.read(&piece_root(&old), 0, 10),
            Err(StoreError::NotFound(_))
        ));
        drop(store);
        let (store, report) = PieceStore::open(home.path(), 1 << 20).unwrap();
        assert_eq!(report.pieces, 1);
        assert_eq!(store.used(), 3_000);
        assert_eq!(store.piece_len(&piece_root(&old)), None);
    }

    #[test]
    fn capacity_is_enforced_with_reservations() {
        let home = tempfile::tempdir().unwrap();
        let (store, _) = PieceStore::open(home.path(), 1000).unwrap();
        let first = store.reserve(600).unwrap();
        let error = store.reserve(600).unwrap_err();
        assert!(
            matches!(error, StoreError::Full { free: 400, .. }),
            "{error}"
        );
        store.release(first);
        store.release(store.reserve(1000).unwrap());
    }

    #[test]
    fn a_corrupted_piece_is_quarantined_on_open() {
        let home = tempfile::tempdir().unwrap();
        let piece = vec![9u8; 5000];
        let root = piece_root(&piece);
        {
            let (store, _) = PieceStore::open(home.path(), 1 << 20).unwrap();
            store
                .put(&root, &piece, store.reserve(5000).unwrap())
                .unwrap();
            let mut bytes = fs::read(store.piece_path(&root)).unwrap();
            bytes[17] ^= 1;
            fs::write(store.piece_path(&root), bytes).unwrap();
        }
        let (store, report) = PieceStore::open(home.path(), 1 << 20).unwrap();
        assert_eq!(report.quarantined, vec![root_hex(&root)]);
        assert_eq!(store.piece_count(), 0);
        assert!(
            home.path()
                .join("quarantine")
                .join(root_hex(&root))
                .exists()
        );
    }
}
