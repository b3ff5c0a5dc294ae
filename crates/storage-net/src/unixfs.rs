//! The UnixFS file importer: the CID IPFS gives a file, computed as `ipfs-unixfs-importer`
//! (the reference JavaScript importer, version 17) does with its defaults, and the blocks behind it.
//!
//! # The DAG
//!
//! - The file is cut into fixed chunks of [`CHUNK_SIZE`] (256 KiB) bytes; the last may be shorter.
//!   The empty file is one empty chunk.
//! - Every chunk is a *raw leaf*: the block is the chunk's bytes, its CID is CIDv1, codec raw (0x55).
//! - A file of one chunk is that leaf: its CID is the raw leaf's CID.
//! - Otherwise the layout is *balanced*: the nodes of a level are grouped in order, at most
//!   [`MAX_LINKS_PER_NODE`] (174) per group, and every group becomes a parent node on the next level
//!   (a group of one included), until a level has a single node: the root.
//!
//! # A parent node's bytes (dag-pb, links first)
//!
//! ```text
//! for each child, in file order:
//!   0x12 len   PBLink:  0x0a 0x24 <36-byte child CID>   Hash
//!                       0x12 0x00                       Name: present and empty
//!                       0x18 varint(Tsize)              child block size + all its descendants'
//! 0x0a len     Data (UnixFS): 0x08 0x02                 Type = File
//!                             0x18 varint(filesize)     file bytes under this node
//!                             0x20 varint(blocksize)    repeated, one per child: its file bytes
//! ```
//!
//! The child's CID is CIDv1 dag-pb (0x70) for parents, raw (0x55) for leaves; the parent's own CID
//! is CIDv1 dag-pb of these bytes. `len` and the varints are unsigned LEB128.
//!
//! # Streaming
//!
//! [`import`] reads the file once, 8 MiB at a time (the next batch is read while this one's
//! chunks are hashed in parallel), and keeps only the pending links of each level of the tree:
//! memory is about 16 MiB whatever the file size.
//! Every block is handed to a [`BlockSink`] as soon as it exists — children before their parent,
//! the root last — so a store or a CAR writer can keep them; [`compute_cid`] drops them.
//! [`export`] walks a DAG back into the file's bytes, checking every block against its CID.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::cid::{Cid, Codec};
use crate::varint::{Cursor, put_varint, varint_len};

/// Bytes per leaf chunk: the importer's default fixed-size chunker (256 KiB).
pub const CHUNK_SIZE: usize = 262_144;
/// Most links in one parent node: the importer's default for its balanced layout.
pub const MAX_LINKS_PER_NODE: usize = 174;
/// Largest block [`export`] accepts: 2 MiB, the limit IPFS's bitswap puts on a block.
pub const MAX_BLOCK_SIZE: usize = 2 * 1024 * 1024;
/// Deepest DAG [`export`] walks. A balanced DAG of 174-link nodes over 256 KiB chunks reaches
/// depth 8 at about 2^60 bytes; deeper input is hostile or not made by an importer.
pub const MAX_DAG_DEPTH: usize = 16;

/// Chunks read and hashed per batch: 8 MiB, enough to keep two cores busy.
const CHUNKS_PER_BATCH: usize = 32;

/// Receives the blocks of a DAG as the importer makes them.
pub trait BlockSink {
    /// Keeps (or drops) one block. An error stops the import and is returned from it.
    fn put_block(&mut self, cid: &Cid, block: &[u8]) -> io::Result<()>;
}

/// A sink that drops every block: only the CID is wanted.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardBlocks;

impl BlockSink for DiscardBlocks {
    fn put_block(&mut self, _cid: &Cid, _block: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// Keeps every block in memory, keyed by CID (for tests and small files).
impl BlockSink for BTreeMap<Cid, Vec<u8>> {
    fn put_block(&mut self, cid: &Cid, block: &[u8]) -> io::Result<()> {
        self.entry(*cid).or_insert_with(|| block.to_vec());
        Ok(())
    }
}

/// Gives the blocks of a DAG to [`export`].
pub trait BlockSource {
    /// The block named `cid`, or `None` when it is not held.
    fn get_block(&self, cid: &Cid) -> io::Result<Option<Vec<u8>>>;
}

impl BlockSource for BTreeMap<Cid, Vec<u8>> {
    fn get_block(&self, cid: &Cid) -> io::Result<Option<Vec<u8>>> {
        Ok(self.get(cid).cloned())
    }
}

/// What importing a file produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportedFile {
    /// The file's CID: the root of its DAG.
    pub root: Cid,
    /// Bytes of the file.
    pub file_size: u64,
    /// Bytes of all blocks of the DAG together (the root's Tsize).
    pub dag_size: u64,
    /// Number of blocks handed to the sink.
    pub block_count: u64,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading the file failed.
    #[error("reading the file: {0}")]
    Read(#[source] io::Error),
    /// The block sink refused a block.
    #[error("storing a block: {0}")]
    Store(#[source] io::Error),
}

/// One child as its parent sees it.
#[derive(Debug, Clone, Copy)]
struct Link {
    cid: Cid,
    /// The child's block size plus all its descendants' (the PBLink Tsize).
    tree_size: u64,
    /// File bytes under the child (its entry in the parent's blocksizes).
    file_size: u64,
}

/// The pending links of each level: the streaming form of the balanced layout.
struct TreeBuilder {
    levels: Vec<Vec<Link>>,
    node_bytes: Vec<u8>,
    data_bytes: Vec<u8>,
    block_count: u64,
}

impl TreeBuilder {
    fn new() -> TreeBuilder {
        TreeBuilder {
            levels: Vec::new(),
            node_bytes: Vec::with_capacity(MAX_LINKS_PER_NODE * 48 + 2048),
            data_bytes: Vec::with_capacity(MAX_LINKS_PER_NODE * 4 + 16),
            block_count: 0,
        }
    }

    /// Adds a node at `level`; a full group becomes a parent on the level above at once.
    fn push(&mut self, level: usize, link: Link, sink: &mut dyn BlockSink) -> io::Result<()> {
        let mut level = level;
        let mut link = link;
        loop {
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            self.levels[level].push(link);
            if self.levels[level].len() < MAX_LINKS_PER_NODE {
                return Ok(());
            }
            link = self.flush_level(level, sink)?;
            level += 1;
        }
    }

    /// Turns the pending links of `level` into one parent node and returns its link.
    fn flush_level(&mut self, level: usize, sink: &mut dyn BlockSink) -> io::Result<Link> {
        let children = std::mem::take(&mut self.levels[level]);
        let parent = self.encode_parent(&children);
        sink.put_block(&parent.cid, &self.node_bytes)?;
        self.block_count += 1;
        // Reuse the allocation for the next group of this level.
        let mut children = children;
        children.clear();
        self.levels[level] = children;
        Ok(parent)
    }

    fn encode_parent(&mut self, children: &[Link]) -> Link {
        let file_size: u64 = children.iter().map(|child| child.file_size).sum();
        let data = &mut self.data_bytes;
        data.clear();
        data.extend_from_slice(&[0x08, 0x02, 0x18]);
        put_varint(data, file_size);
        for child in children {
            data.push(0x20);
            put_varint(data, child.file_size);
        }

        let node = &mut self.node_bytes;
        node.clear();
        for child in children {
            let link_len = 2 + 36 + 2 + 1 + varint_len(child.tree_size);
            node.push(0x12);
            put_varint(node, link_len as u64);
            node.extend_from_slice(&[0x0a, 0x24]);
            node.extend_from_slice(&child.cid.to_bytes());
            node.extend_from_slice(&[0x12, 0x00, 0x18]);
            put_varint(node, child.tree_size);
        }
        node.push(0x0a);
        put_varint(node, data.len() as u64);
        node.extend_from_slice(data);

        let tree_size = node.len() as u64 + children.iter().map(|c| c.tree_size).sum::<u64>();
        Link {
            cid: Cid::for_block(Codec::DagPb, node),
            tree_size,
            file_size,
        }
    }

    /// Closes every level, bottom up, and returns the root.
    fn finish(&mut self, sink: &mut dyn BlockSink) -> io::Result<Link> {
        let mut level = 0;
        loop {
            let pending = self.levels.get(level).map_or(0, Vec::len);
            let nothing_above = self.levels.iter().skip(level + 1).all(Vec::is_empty);
            if pending == 1 && nothing_above {
                return Ok(self.levels[level][0]);
            }
            if pending > 0 {
                let parent = self.flush_level(level, sink)?;
                self.push(level + 1, parent, sink)?;
            }
            level += 1;
            if level > self.levels.len() + 1 {
                // Unreachable: the importer always pushes at least one leaf.
                return Err(io::Error::other("the DAG has no root"));
            }
        }
    }
}

/// Reads until `buffer` is full or the reader ends; returns the bytes read.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Imports a file: reads it once, hands every block to `sink`, and returns the root CID.
pub fn import(
    reader: impl Read + Send,
    sink: &mut dyn BlockSink,
) -> Result<ImportedFile, ImportError> {
    let mut reader = reader;
    let mut tree = TreeBuilder::new();
    // Two batch buffers: the next batch is read while the current one is hashed.
    let mut current = vec![0u8; CHUNK_SIZE * CHUNKS_PER_BATCH];
    let mut next = vec![0u8; CHUNK_SIZE * CHUNKS_PER_BATCH];
    let mut digests: Vec<[u8; 32]> = Vec::with_capacity(CHUNKS_PER_BATCH);
    let mut file_size: u64 = 0;
    let mut leaf_count: u64 = 0;
    let mut filled = fill(&mut reader, &mut current).map_err(ImportError::Read)?;
    loop {
        let last = filled < current.len();
        let batch = &current[..filled];
        let ((), next_filled) = rayon::join(
            || {
                batch
                    .par_chunks(CHUNK_SIZE)
                    .map(|chunk| Sha256::digest(chunk).into())
                    .collect_into_vec(&mut digests)
            },
            || {
                if last {
                    Ok(0)
                } else {
                    fill(&mut reader, &mut next)
                }
            },
        );
        for (chunk, digest) in batch.chunks(CHUNK_SIZE).zip(&digests) {
            let cid = Cid::from_digest(Codec::Raw, *digest);
            sink.put_block(&cid, chunk).map_err(ImportError::Store)?;
            let size = chunk.len() as u64;
            leaf_count += 1;
            file_size += size;
            let leaf = Link {
                cid,
                tree_size: size,
                file_size: size,
            };
            tree.push(0, leaf, sink).map_err(ImportError::Store)?;
        }
        if last {
            break;
        }
        filled = next_filled.map_err(ImportError::Read)?;
        std::mem::swap(&mut current, &mut next);
    }
    if leaf_count == 0 {
        // The empty file is one empty chunk, as in the reference chunker.
        let cid = Cid::for_block(Codec::Raw, &[]);
        sink.put_block(&cid, &[]).map_err(ImportError::Store)?;
        leaf_count = 1;
        let leaf = Link {
            cid,
            tree_size: 0,
            file_size: 0,
        };
        tree.push(0, leaf, sink).map_err(ImportError::Store)?;
    }
    let root = tree.finish(sink).map_err(ImportError::Store)?;
    Ok(ImportedFile {
        root: root.cid,
        file_size,
        dag_size: root.tree_size,
        block_count: leaf_count + tree.block_count,
    })
}

/// The CID of a file, without keeping its blocks.
pub fn compute_cid(reader: impl Read + Send) -> Result<Cid, ImportError> {
    Ok(import(reader, &mut DiscardBlocks)?.root)
}

/// The CID of a file handed over in order, in parts of any size, by code that reads the file for
/// another purpose (the storage client erasure-codes each segment it reads): the same CID as
/// [`compute_cid`] without reading the file a second time. Whole 256 KiB chunks are hashed in
/// parallel as they arrive; only a chunk split across two parts is copied.
pub struct CidStream {
    tree: TreeBuilder,
    /// The start of a chunk whose end has not arrived yet.
    partial: Vec<u8>,
    digests: Vec<[u8; 32]>,
    leaf_count: u64,
}

impl std::fmt::Debug for CidStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CidStream")
            .field("leaf_count", &self.leaf_count)
            .field("partial", &self.partial.len())
            .finish()
    }
}

impl Default for CidStream {
    fn default() -> CidStream {
        CidStream::new()
    }
}

impl CidStream {
    /// An empty file so far.
    pub fn new() -> CidStream {
        CidStream {
            tree: TreeBuilder::new(),
            partial: Vec::new(),
            digests: Vec::new(),
            leaf_count: 0,
        }
    }

    /// Hashes whole chunks (`chunks.len()` a multiple of [`CHUNK_SIZE`], or the file's last
    /// chunk) and adds them as leaves.
    fn push_chunks(&mut self, chunks: &[u8]) {
        chunks
            .par_chunks(CHUNK_SIZE)
            .map(|chunk| Sha256::digest(chunk).into())
            .collect_into_vec(&mut self.digests);
        for (chunk, digest) in chunks.chunks(CHUNK_SIZE).zip(&self.digests) {
            let size = chunk.len() as u64;
            let leaf = Link {
                cid: Cid::from_digest(Codec::Raw, *digest),
                tree_size: size,
                file_size: size,
            };
            self.leaf_count += 1;
            // Dropping blocks cannot fail.
            let _ = self.tree.push(0, leaf, &mut DiscardBlocks);
        }
    }

    /// The next bytes of the file.
    pub fn update(&mut self, mut data: &[u8]) {
        if !self.partial.is_empty() {
            let take = (CHUNK_SIZE - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < CHUNK_SIZE {
                return;
            }
            let chunk = std::mem::take(&mut self.partial);
            self.push_chunks(&chunk);
            self.partial = chunk;
            self.partial.clear();
        }
        let whole = data.len() / CHUNK_SIZE * CHUNK_SIZE;
        if whole > 0 {
            self.push_chunks(&data[..whole]);
        }
        self.partial.extend_from_slice(&data[whole..]);
    }

    /// The file's CID.
    pub fn finish(mut self) -> Cid {
        if !self.partial.is_empty() || self.leaf_count == 0 {
            // The last, short chunk; or the empty file, which is one empty chunk.
            let last = std::mem::take(&mut self.partial);
            self.push_chunks(&last);
            if self.leaf_count == 0 {
                self.push_chunks_empty();
            }
        }
        // Dropping blocks cannot fail, and at least one leaf was pushed.
        match self.tree.finish(&mut DiscardBlocks) {
            Ok(root) => root.cid,
            Err(_) => Cid::for_block(Codec::Raw, &[]),
        }
    }

    fn push_chunks_empty(&mut self) {
        let leaf = Link {
            cid: Cid::for_block(Codec::Raw, &[]),
            tree_size: 0,
            file_size: 0,
        };
        self.leaf_count = 1;
        let _ = self.tree.push(0, leaf, &mut DiscardBlocks);
    }
}

/// Imports bytes held in memory; returns the result and every block.
pub fn import_bytes(data: &[u8]) -> Result<(ImportedFile, BTreeMap<Cid, Vec<u8>>), ImportError> {
    let mut blocks = BTreeMap::new();
    let imported = import(data, &mut blocks)?;
    Ok((imported, blocks))
}

/// Why a DAG could not be turned back into a file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The block source failed.
    #[error("reading a block: {0}")]
    Source(#[source] io::Error),
    /// Writing the file failed.
    #[error("writing the file: {0}")]
    Write(#[source] io::Error),
    /// A block the DAG links to is not held.
    #[error("block {0} is missing")]
    MissingBlock(Cid),
    /// A block's bytes do not hash to its CID.
    #[error("block {0} does not match its CID")]
    CorruptBlock(Cid),
    /// A block is larger than [`MAX_BLOCK_SIZE`].
    #[error("block {cid} is {size} bytes, above the limit of {MAX_BLOCK_SIZE}")]
    BlockTooLarge {
        /// The block's CID.
        cid: Cid,
        /// Its size.
        size: usize,
    },
    /// The DAG is deeper than [`MAX_DAG_DEPTH`].
    #[error("the DAG is deeper than {MAX_DAG_DEPTH} levels")]
    TooDeep,
    /// A dag-pb node is not a well-formed UnixFS file node.
    #[error("node {cid} is malformed: {reason}")]
    MalformedNode {
        /// The node's CID.
        cid: Cid,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A node's children do not add up to the sizes the node records.
    #[error("node {0} records sizes its children do not have")]
    SizeMismatch(Cid),
}

/// A decoded UnixFS file node: links, optional inline data, and the recorded sizes.
struct FileNode {
    links: Vec<Cid>,
    inline_data: Vec<u8>,
    file_size: Option<u64>,
    block_sizes: Vec<u64>,
}

fn decode_file_node(cid: Cid, block: &[u8]) -> Result<FileNode, ExportError> {
    let malformed = |reason| ExportError::MalformedNode { cid, reason };
    let mut cursor = Cursor::new(block);
    let mut links = Vec::new();
    let mut data: Option<&[u8]> = None;
    while !cursor.is_empty() {
        let tag = cursor
            .read_varint()
            .map_err(|_| malformed("bad field tag"))?;
        match tag {
            0x12 if data.is_none() => {
                let link = cursor
                    .read_length_delimited()
                    .map_err(|_| malformed("truncated link"))?;
                links.push(decode_link(link).ok_or_else(|| malformed("bad link"))?);
            }
            0x0a if data.is_none() => {
                data = Some(
                    cursor
                        .read_length_delimited()
                        .map_err(|_| malformed("truncated data"))?,
                );
            }
            _ => return Err(malformed("unexpected field (dag-pb: links, then data)")),
        }
    }
    let data = data.ok_or_else(|| malformed("no UnixFS data"))?;
    let mut cursor = Cursor::new(data);
    let mut node = FileNode {
        links,
        inline_data: Vec::new(),
        file_size: None,
        block_sizes: Vec::new(),
    };
    let mut node_type = None;
    while !cursor.is_empty() {
        let tag = cursor
            .read_varint()
            .map_err(|_| malformed("bad UnixFS tag"))?;
        let bad = |_| malformed("bad UnixFS field");
        match tag {
            0x08 => node_type = Some(cursor.read_varint().map_err(bad)?),
            0x12 => node.inline_data = cursor.read_length_delimited().map_err(bad)?.to_vec(),
            0x18 => node.file_size = Some(cursor.read_varint().map_err(bad)?),
            0x20 => node.block_sizes.push(cursor.read_varint().map_err(bad)?),
            // Packed blocksizes, as some encoders write them.
            0x22 => {
                let mut packed = Cursor::new(cursor.read_length_delimited().map_err(bad)?);
                while !packed.is_empty() {
                    node.block_sizes.push(packed.read_varint().map_err(bad)?);
                }
            }
            // mode (7) and mtime (8) do not change the file's bytes.
            0x38 => {
                cursor.read_varint().map_err(bad)?;
            }
            0x42 => {
                cursor.read_length_delimited().map_err(bad)?;
            }
            _ => return Err(malformed("UnixFS field not allowed in a file node")),
        }
    }
    // 0 Raw and 2 File both carry file bytes.
    if !matches!(node_type, Some(0) | Some(2)) {
        return Err(malformed("UnixFS type is not a file"));
    }
    if !node.links.is_empty() && node.block_sizes.len() != node.links.len() {
        return Err(malformed("blocksizes and links differ in number"));
    }
    Ok(node)
}

fn decode_link(bytes: &[u8]) -> Option<Cid> {
    let mut cursor = Cursor::new(bytes);
    let mut hash = None;
    while !cursor.is_empty() {
        match cursor.read_varint().ok()? {
            0x0a => hash = Some(Cid::from_bytes(cursor.read_length_delimited().ok()?).ok()?),
            0x12 => {
                cursor.read_length_delimited().ok()?;
            }
            0x18 => {
                cursor.read_varint().ok()?;
            }
            _ => return None,
        }
    }
    hash
}

fn export_node(
    cid: Cid,
    depth: usize,
    source: &dyn BlockSource,
    writer: &mut dyn Write,
) -> Result<u64, ExportError> {
    if depth > MAX_DAG_DEPTH {
        return Err(ExportError::TooDeep);
    }
    let block = source
        .get_block(&cid)
        .map_err(ExportError::Source)?
        .ok_or(ExportError::MissingBlock(cid))?;
    if block.len() > MAX_BLOCK_SIZE {
        return Err(ExportError::BlockTooLarge {
            cid,
            size: block.len(),
        });
    }
    if !cid.matches(&block) {
        return Err(ExportError::CorruptBlock(cid));
    }
    match cid.codec() {
        Codec::Raw => {
            writer.write_all(&block).map_err(ExportError::Write)?;
            Ok(block.len() as u64)
        }
        Codec::DagPb => {
            let node = decode_file_node(cid, &block)?;
            writer
                .write_all(&node.inline_data)
                .map_err(ExportError::Write)?;
            let mut written = node.inline_data.len() as u64;
            for (child, expected) in node.links.iter().zip(&node.block_sizes) {
                let child_size = export_node(*child, depth + 1, source, writer)?;
                if child_size != *expected {
                    return Err(ExportError::SizeMismatch(cid));
                }
                written += child_size;
            }
            if node.file_size.is_some_and(|size| size != written) {
                return Err(ExportError::SizeMismatch(cid));
            }
            Ok(written)
        }
    }
}

/// Writes the file whose DAG has root `root`, checking every block against its CID and every
/// node's recorded sizes. Returns the bytes written.
pub fn export(
    root: &Cid,
    source: &dyn BlockSource,
    writer: &mut dyn Write,
) -> Result<u64, ExportError> {
    export_node(*root, 0, source, writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random_bytes(length: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn the_empty_file_is_the_empty_raw_leaf() {
        let cid = compute_cid(&[][..]).unwrap();
        assert_eq!(
            cid.to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn a_one_chunk_file_is_its_own_raw_leaf() {
        let data = pseudo_random_bytes(CHUNK_SIZE, 7);
        let (imported, blocks) = import_bytes(&data).unwrap();
        assert_eq!(imported.root, Cid::for_block(Codec::Raw, &data));
        assert_eq!(blocks.len(), 1);
        assert_eq!(imported.dag_size, CHUNK_SIZE as u64);
    }

    #[test]
    fn zero_filled_files_get_the_cids_the_reference_importer_gives() {
        // Printed by `node tests/js/cid.mjs` (ipfs-unixfs-importer 17.1.1) for zero-filled files.
        let data = vec![0u8; CHUNK_SIZE + 1];
        let cid = compute_cid(&data[..]).unwrap();
        assert_eq!(
            cid.to_string(),
            "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"
        );
    }

    #[test]
    fn a_two_chunk_root_has_the_reference_byte_layout() {
        let data = pseudo_random_bytes(CHUNK_SIZE + 100, 3);
        let (imported, blocks) = import_bytes(&data).unwrap();
        let root = &blocks[&imported.root];
        let first = Cid::for_block(Codec::Raw, &data[..CHUNK_SIZE]);
        let second = Cid::for_block(Codec::Raw, &data[CHUNK_SIZE..]);
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0x12, 0x2c, 0x0a, 0x24]);
        expected.extend_from_slice(&first.to_bytes());
        expected.extend_from_slice(&[0x12, 0x00, 0x18, 0x80, 0x80, 0x10]);
        expected.extend_from_slice(&[0x12, 0x2a, 0x0a, 0x24]);
        expected.extend_from_slice(&second.to_bytes());
        expected.extend_from_slice(&[0x12, 0x00, 0x18, 0x64]);
        expected.extend_from_slice(&[0x0a, 0x0c, 0x08, 0x02, 0x18, 0xe4, 0x80, 0x10]);
        expected.extend_from_slice(&[0x20, 0x80, 0x80, 0x10, 0x20, 0x64]);
        assert_eq!(root, &expected);
        assert_eq!(imported.dag_size, data.len() as u64 + expected.len() as u64);
        assert_eq!(imported.block_count, 3);
    }

    #[test]
    fn a_file_of_175_chunks_has_a_root_over_two_parents() {
        let data = vec![1u8; CHUNK_SIZE * MAX_LINKS_PER_NODE + 1];
        let (imported, blocks) = import_bytes(&data).unwrap();
        // 174 full chunks are identical, so the leaves dedupe to: one full, one of a byte.
        assert_eq!(imported.block_count, 175 + 3);
        assert_eq!(blocks.len(), 2 + 3);
        let root = decode_file_node(imported.root, &blocks[&imported.root]).unwrap();
        assert_eq!(root.links.len(), 2);
        assert_eq!(
            root.block_sizes,
            vec![(CHUNK_SIZE * MAX_LINKS_PER_NODE) as u64, 1]
        );
    }

    /// The reference's balanced layout, as it is written in JavaScript: batch a whole level,
    /// reduce every batch to a parent, recurse while more than one node is left.
    fn reference_layout(tree: &mut TreeBuilder, leaves: &[Link]) -> Link {
        fn level(tree: &mut TreeBuilder, nodes: &[Link]) -> Link {
            let parents: Vec<Link> = nodes
                .chunks(MAX_LINKS_PER_NODE)
                .map(|batch| tree.encode_parent(batch))
                .collect();
            if parents.len() > 1 {
                level(tree, &parents)
            } else {
                parents[0]
            }
        }
        if leaves.len() == 1 {
            leaves[0]
        } else {
            level(tree, leaves)
        }
    }

    #[test]
    fn the_streaming_tree_equals_the_reference_layout_on_three_levels() {
        let leaf = |index: u64| {
            let mut digest = [0u8; 32];
            digest[..8].copy_from_slice(&index.to_le_bytes());
            Link {
                cid: Cid::from_digest(Codec::Raw, digest),
                tree_size: 1 + index % 7,
                file_size: 1 + index % 7,
            }
        };
        let square = (MAX_LINKS_PER_NODE * MAX_LINKS_PER_NODE) as u64;
        for count in [
            1,
            2,
            173,
            174,
            175,
            348,
            349,
            square - 1,
            square,
            square + 1,
            square + 175,
            2 * square + 3,
        ] {
            let leaves: Vec<Link> = (0..count).map(leaf).collect();
            let mut streaming = TreeBuilder::new();
            for link in &leaves {
                streaming.push(0, *link, &mut DiscardBlocks).unwrap();
            }
            let ours = streaming.finish(&mut DiscardBlocks).unwrap();
            let reference = reference_layout(&mut TreeBuilder::new(), &leaves);
            assert_eq!(ours.cid, reference.cid, "{count} leaves");
            assert_eq!(ours.tree_size, reference.tree_size, "{count} leaves");
            assert_eq!(ours.file_size, reference.file_size, "{count} leaves");
        }
    }

    #[test]
    fn a_cid_streamed_in_parts_of_any_size_is_the_importers() {
        let data: Vec<u8> = (0..3 * CHUNK_SIZE as u32 + 777)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect();
        for length in [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, data.len()] {
            let file = &data[..length];
            let expected = compute_cid(file).unwrap();
            for part in [1000, CHUNK_SIZE, 2 * CHUNK_SIZE + 5, usize::MAX] {
                let mut stream = CidStream::new();
                for piece in file.chunks(part.min(file.len().max(1))) {
                    stream.update(piece);
                }
                assert_eq!(
                    stream.finish(),
                    expected,
                    "length {length}, parts of {part}"
                );
            }
        }
    }

    #[test]
    fn a_missing_block_is_reported_by_its_cid() {
        let data = pseudo_random_bytes(CHUNK_SIZE * 2, 5);
        let (imported, mut blocks) = import_bytes(&data).unwrap();
        let leaf = Cid::for_block(Codec::Raw, &data[CHUNK_SIZE..]);
        blocks.remove(&leaf);
        let error = export(&imported.root, &blocks, &mut Vec::new()).unwrap_err();
        assert!(matches!(error, ExportError::MissingBlock(cid) if cid == leaf));
    }

    #[test]
    fn a_tampered_block_is_refused() {
        let data = pseudo_random_bytes(CHUNK_SIZE * 2, 9);
        let (imported, mut blocks) = import_bytes(&data).unwrap();
        let leaf = Cid::for_block(Codec::Raw, &data[..CHUNK_SIZE]);
        if let Some(block) = blocks.get_mut(&leaf) {
            block[0] ^= 1;
        }
        let error = export(&imported.root, &blocks, &mut Vec::new()).unwrap_err();
        assert!(matches!(error, ExportError::CorruptBlock(cid) if cid == leaf));
    }

    #[test]
    fn decoding_garbage_nodes_never_panics() {
        for seed in 0..2000u64 {
            let length = (seed % 97) as usize;
            let bytes = pseudo_random_bytes(length, seed);
            let cid = Cid::for_block(Codec::DagPb, &bytes);
            let _ = decode_file_node(cid, &bytes);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn export_gives_back_the_imported_bytes(
            length in 0usize..(CHUNK_SIZE * 3 + 10),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let data = pseudo_random_bytes(length, seed);
            let (imported, blocks) = import_bytes(&data).unwrap();
            let mut out = Vec::new();
            let written = export(&imported.root, &blocks, &mut out).unwrap();
            proptest::prop_assert_eq!(written, length as u64);
            proptest::prop_assert!(out == data);
            proptest::prop_assert_eq!(imported.file_size, length as u64);
        }
    }
}
