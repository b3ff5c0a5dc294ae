//! Where a file's pieces are: the placement a `put` made, as JSON.
//!
//! The manifest is what `get` and `repair` need: the file's CID and length, the erasure
//! parameters, and for each segment its length and, for each of its `n` pieces, the commitment,
//! the length and the provider holding it. On chain, a deal records the same facts; off chain
//! (no node given) the client keeps manifests in `<home>/storage/manifests/<cid>.json`.
//!
//! A manifest read from disk or from the network is checked by [`Manifest::validate`] before use:
//! lengths must add up, piece sizes must be what the parameters give, each segment must list
//! every piece index once.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use groundwork_storage_net::commitment::Hash;
use groundwork_storage_net::erasure::ErasureParams;
use serde::{Deserialize, Serialize};

use crate::store::parse_root;

/// Current manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// Placement of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// The file's CID (CIDv1, base32).
    pub cid: String,
    /// The file's length in bytes.
    pub file_len: u64,
    /// `k`: pieces needed per segment.
    pub data_pieces: u16,
    /// `n`: pieces made per segment.
    pub total_pieces: u16,
    /// Bytes per segment (the last may be shorter).
    pub segment_size: u64,
    /// The segments in file order.
    pub segments: Vec<SegmentPlacement>,
    /// The on-chain deal recording this placement, once one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<u64>,
}

/// One segment and its pieces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentPlacement {
    /// The segment's length in bytes.
    pub len: u64,
    /// Its `n` pieces, by piece index.
    pub pieces: Vec<PiecePlacement>,
}

/// One piece and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiecePlacement {
    /// Piece index in the segment (`0..k` data, `k..n` parity).
    pub index: u16,
    /// Its commitment, hex.
    pub root: String,
    /// Its length in bytes.
    pub len: u64,
    /// The provider's identity.
    pub provider: String,
    /// The provider's URL.
    pub url: String,
}

impl PiecePlacement {
    /// The commitment as bytes (checked by [`Manifest::validate`]).
    pub fn root_hash(&self) -> anyhow::Result<Hash> {
        parse_root(&self.root)
            .with_context(|| format!("piece root {:?} is not 64 hex characters", self.root))
    }
}

impl Manifest {
    /// The erasure parameters.
    pub fn params(&self) -> ErasureParams {
        ErasureParams {
            data_pieces: self.data_pieces,
            total_pieces: self.total_pieces,
            segment_size: self.segment_size,
        }
    }

    /// Checks the manifest is self-consistent (see the module documentation).
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.version != MANIFEST_VERSION {
            bail!(
                "manifest version {} is not supported (expected {MANIFEST_VERSION})",
                self.version
            );
        }
        let params = self.params();
        params
            .validate()
            .context("the manifest's erasure parameters")?;
        let ranges: Vec<_> = params.segment_ranges(self.file_len).collect();
        if ranges.len() != self.segments.len() {
            bail!(
                "a {}-byte file has {} segments of {} bytes, the manifest lists {}",
                self.file_len,
                ranges.len(),
                self.segment_size,
                self.segments.len()
            );
        }
        for (number, (segment, range)) in self.segments.iter().zip(ranges).enumerate() {
            if segment.len != range.end - range.start {
                bail!(
                    "segment {number} is {} bytes, expected {}",
                    segment.len,
                    range.end - range.start
                );
            }
            let piece_size = params.piece_size(segment.len) as u64;
            if segment.pieces.len() != usize::from(self.total_pieces) {
                bail!(
                    "segment {number} lists {} pieces, expected {}",
                    segment.pieces.len(),
                    self.total_pieces
                );
            }
            for (position, piece) in segment.pieces.iter().enumerate() {
                if usize::from(piece.index) != position {
                    bail!(
                        "segment {number} lists piece {} at position {position}",
                        piece.index
                    );
                }
                if piece.len != piece_size {
                    bail!(
                        "piece {} of segment {number} is {} bytes, expected {piece_size}",
                        piece.index,
                        piece.len
                    );
                }
                piece.root_hash()?;
            }
        }
        Ok(())
    }
}

/// Manifests kept on the client's disk.
#[derive(Debug, Clone)]
pub struct ManifestStore {
    dir: PathBuf,
}

impl ManifestStore {
    /// The manifests of the home `home` (`<home>/storage/manifests`).
    pub fn in_home(home: &Path) -> ManifestStore {
        ManifestStore {
            dir: home.join("storage").join("manifests"),
        }
    }

    /// Writes a manifest (atomically: temporary file, fsync, rename).
    pub fn save(&self, manifest: &Manifest) -> anyhow::Result<PathBuf> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.path(&manifest.cid);
        let temporary = self.dir.join(format!("{}.json.tmp", manifest.cid));
        let text = serde_json::to_vec_pretty(manifest)?;
        let mut file = fs::File::create(&temporary)
            .with_context(|| format!("writing {}", temporary.display()))?;
        file.write_all(&text)?;
        file.sync_all()?;
        fs::rename(&temporary, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Reads the manifest of `cid`.
    pub fn load(&self, cid: &str) -> anyhow::Result<Manifest> {
        if !cid.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("{cid:?} is not a CID");
        }
        let path = self.path(cid);
        let text = fs::read(&path).with_context(|| {
            format!(
                "no placement of {cid} is known here ({} is missing): was it put from this home?",
                path.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a manifest", path.display()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Every manifest kept (ignoring files that do not parse).
    pub fn list(&self) -> anyhow::Result<Vec<Manifest>> {
        let mut manifests = Vec::new();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(manifests);
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "json")
                && let Ok(text) = fs::read(&path)
                && let Ok(manifest) = serde_json::from_slice::<Manifest>(&text)
            {
                manifests.push(manifest);
            }
        }
        manifests.sort_by(|a, b| a.cid.cmp(&b.cid));
        Ok(manifests)
    }

    fn path(&self, cid: &str) -> PathBuf {
        self.dir.join(format!("{cid}.json"))
    }
}
