//! CARv1 archives: a DAG's blocks in one stream, as `ipfs dag export` writes and `ipfs dag import`
//! reads them.
//!
//! # Byte layout
//!
//! ```text
//! varint(header length)  header: dag-cbor map {"roots": [CID, ...], "version": 1}
//! then for each block:
//! varint(36 + block length)  <36-byte CID>  <block bytes>
//! ```
//!
//! The header is canonical dag-cbor, keys in length-then-byte order. With one root it is
//! exactly these 58 bytes:
//!
//! ```text
//! a2                         map of 2
//!   65 "roots"               text of 5
//!   81                       array of 1
//!     d8 2a                  tag 42 (CID)
//!     58 25 00 <36 bytes>    bytes of 37: 0x00 (identity multibase) then the binary CID
//!   67 "version"  01         text of 7, unsigned 1
//! ```
//!
//! [`CarReader`] decodes untrusted archives: the header is at most [`MAX_HEADER_SIZE`] bytes with
//! at most [`MAX_ROOTS`] roots, a block at most [`MAX_BLOCK_SIZE`] bytes, and every block is checked
//! against its CID.

use std::io::{self, BufRead, Write};

use crate::cid::{CID_LEN, Cid, CidError};
use crate::unixfs::{BlockSink, MAX_BLOCK_SIZE};
use crate::varint::{Cursor, MAX_VARINT_LEN, put_varint};

/// Largest header [`CarReader`] accepts.
pub const MAX_HEADER_SIZE: usize = 4096;
/// Most roots [`CarReader`] accepts in a header.
pub const MAX_ROOTS: usize = 64;

/// Why a CAR archive could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    /// The underlying reader or writer failed.
    #[error("CAR I/O: {0}")]
    Io(#[from] io::Error),
    /// The archive ended inside a header or block.
    #[error("the CAR archive is truncated")]
    Truncated,
    /// A length prefix is not a valid varint.
    #[error("the CAR archive has a malformed length prefix")]
    BadVarint,
    /// The header is longer than [`MAX_HEADER_SIZE`].
    #[error("the CAR header is {0} bytes, above the limit of {MAX_HEADER_SIZE}")]
    HeaderTooLarge(u64),
    /// The header is not the dag-cbor map `{roots, version: 1}`.
    #[error("the CAR header is malformed: {0}")]
    BadHeader(&'static str),
    /// The header names a version other than 1.
    #[error("CAR version {0} is not supported: only version 1")]
    UnsupportedVersion(u64),
    /// A block section is larger than [`MAX_BLOCK_SIZE`] plus a CID.
    #[error("a CAR block section is {0} bytes, above the limit")]
    BlockTooLarge(u64),
    /// A block's CID is not one this crate supports.
    #[error("a CAR block has an unsupported CID: {0}")]
    Cid(#[from] CidError),
    /// A block's bytes do not hash to its CID.
    #[error("block {0} does not match its CID")]
    CorruptBlock(Cid),
}

/// The dag-cbor header for `roots`.
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let mut header = Vec::with_capacity(20 + roots.len() * 41);
    header.push(0xa2);
    header.push(0x65);
    header.extend_from_slice(b"roots");
    put_cbor_head(&mut header, 4, roots.len() as u64);
    for root in roots {
        header.extend_from_slice(&[0xd8, 0x2a, 0x58, (CID_LEN + 1) as u8, 0x00]);
        header.extend_from_slice(&root.to_bytes());
    }
    header.push(0x67);
    header.extend_from_slice(b"version");
    header.push(0x01);
    header
}

/// A CBOR item head: major type and argument, in the shortest form.
fn put_cbor_head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    match argument {
        0..=23 => out.push(major | argument as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, argument as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(argument as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(argument as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&argument.to_be_bytes());
        }
    }
}

/// Writes a CARv1 archive: the header first, then blocks as they come.
///
/// It is a [`BlockSink`], so [`crate::unixfs::import`] can write straight into it once the root
/// is known (compute the CID first with [`crate::unixfs::compute_cid`], or use
/// [`write_car_for_file`]).
pub struct CarWriter<W: Write> {
    writer: W,
    prefix: Vec<u8>,
}

impl<W: Write> CarWriter<W> {
    /// Starts an archive with these roots.
    pub fn new(mut writer: W, roots: &[Cid]) -> io::Result<CarWriter<W>> {
        let header = encode_header(roots);
        let mut prefix = Vec::with_capacity(MAX_VARINT_LEN);
        put_varint(&mut prefix, header.len() as u64);
        writer.write_all(&prefix)?;
        writer.write_all(&header)?;
        Ok(CarWriter { writer, prefix })
    }

    /// Appends one block.
    pub fn write_block(&mut self, cid: &Cid, block: &[u8]) -> io::Result<()> {
        self.prefix.clear();
        put_varint(&mut self.prefix, (CID_LEN + block.len()) as u64);
        self.writer.write_all(&self.prefix)?;
        self.writer.write_all(&cid.to_bytes())?;
        self.writer.write_all(block)
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}

impl<W: Write> BlockSink for CarWriter<W> {
    fn put_block(&mut self, cid: &Cid, block: &[u8]) -> io::Result<()> {
        self.write_block(cid, block)
    }
}

/// Imports a file into a CARv1 archive rooted at its CID, reading the file twice (once for the
/// root the header needs, once for the blocks). Returns the root.
pub fn write_car_for_file<R, W>(mut file: R, writer: W) -> Result<Cid, crate::unixfs::ImportError>
where
    R: io::Read + io::Seek + Send,
    W: Write,
{
    use crate::unixfs::{ImportError, compute_cid, import};
    let root = compute_cid(&mut file)?;
    file.seek(io::SeekFrom::Start(0))
        .map_err(ImportError::Read)?;
    let mut car = CarWriter::new(writer, &[root]).map_err(ImportError::Store)?;
    let imported = import(&mut file, &mut car)?;
    car.finish().map_err(ImportError::Store)?;
    if imported.root != root {
        return Err(ImportError::Read(io::Error::other(
            "the file changed between the two reads",
        )));
    }
    Ok(root)
}

/// Reads a CARv1 archive: the roots, then the blocks one at a time (verified against their CIDs).
pub struct CarReader<R: BufRead> {
    reader: R,
    roots: Vec<Cid>,
}

/// Reads a varint from a stream; `Ok(None)` at a clean end of stream.
fn read_stream_varint(reader: &mut impl BufRead) -> Result<Option<u64>, CarError> {
    let mut value: u64 = 0;
    for index in 0..MAX_VARINT_LEN {
        let mut byte = [0u8; 1];
        match reader.read(&mut byte) {
            Ok(0) if index == 0 => return Ok(None),
            Ok(0) => return Err(CarError::Truncated),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CarError::Io(error)),
        }
        let low = u64::from(byte[0] & 0x7f);
        if index == MAX_VARINT_LEN - 1 && low > 1 {
            return Err(CarError::BadVarint);
        }
        value |= low << (7 * index);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(CarError::BadVarint)
}

fn read_exact_or_truncated(reader: &mut impl BufRead, buffer: &mut [u8]) -> Result<(), CarError> {
    reader.read_exact(buffer).map_err(|error| {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            CarError::Truncated
        } else {
            CarError::Io(error)
        }
    })
}

/// Reads a CBOR head: (major type, argument). Indefinite lengths are not dag-cbor.
fn read_cbor_head(cursor: &mut Cursor<'_>) -> Result<(u8, u64), CarError> {
    let bad = |_| CarError::BadHeader("truncated");
    let first = cursor.read_slice(1).map_err(bad)?[0];
    let major = first >> 5;
    let info = first & 0x1f;
    let argument = match info {
        0..=23 => u64::from(info),
        24 => u64::from(cursor.read_slice(1).map_err(bad)?[0]),
        25 => {
            let bytes = cursor.read_slice(2).map_err(bad)?;
            u64::from(u16::from_be_bytes([bytes[0], bytes[1]]))
        }
        26 => {
            let bytes = cursor.read_slice(4).map_err(bad)?;
            u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        }
        27 => {
            let bytes = cursor.read_slice(8).map_err(bad)?;
            let mut array = [0u8; 8];
            array.copy_from_slice(bytes);
            u64::from_be_bytes(array)
        }
        _ => return Err(CarError::BadHeader("indefinite or reserved CBOR length")),
    };
    Ok((major, argument))
}

/// Decodes the header map; returns the roots after checking the version is 1.
pub fn decode_header(header: &[u8]) -> Result<Vec<Cid>, CarError> {
    let mut cursor = Cursor::new(header);
    let (major, entries) = read_cbor_head(&mut cursor)?;
    if major != 5 {
        return Err(CarError::BadHeader("the header is not a map"));
    }
    let mut roots = None;
    let mut version = None;
    for _ in 0..entries.min(8) {
        let (major, key_len) = read_cbor_head(&mut cursor)?;
        if major != 3 {
            return Err(CarError::BadHeader("a header key is not text"));
        }
        let key_len = usize::try_from(key_len).map_err(|_| CarError::BadHeader("long key"))?;
        let key = cursor
            .read_slice(key_len)
            .map_err(|_| CarError::BadHeader("truncated"))?;
        match key {
            b"version" => {
                let (major, value) = read_cbor_head(&mut cursor)?;
                if major != 0 {
                    return Err(CarError::BadHeader("version is not an unsigned integer"));
                }
                version = Some(value);
            }
            b"roots" => {
                let (major, count) = read_cbor_head(&mut cursor)?;
                if major != 4 {
                    return Err(CarError::BadHeader("roots is not an array"));
                }
                if count > MAX_ROOTS as u64 {
                    return Err(CarError::BadHeader("too many roots"));
                }
                let mut list = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let (major, tag) = read_cbor_head(&mut cursor)?;
                    if major != 6 || tag != 42 {
                        return Err(CarError::BadHeader("a root is not a CID (tag 42)"));
                    }
                    let (major, length) = read_cbor_head(&mut cursor)?;
                    if major != 2 || length != (CID_LEN + 1) as u64 {
                        return Err(CarError::BadHeader("a root CID has the wrong form"));
                    }
                    let bytes = cursor
                        .read_slice(CID_LEN + 1)
                        .map_err(|_| CarError::BadHeader("truncated"))?;
                    if bytes[0] != 0x00 {
                        return Err(CarError::BadHeader("a root CID lacks the 0x00 prefix"));
                    }
                    list.push(Cid::from_bytes(&bytes[1..])?);
                }
                roots = Some(list);
            }
            _ => return Err(CarError::BadHeader("unknown header key")),
        }
    }
    if entries > 2 || !cursor.is_empty() {
        return Err(CarError::BadHeader("unexpected bytes in the header"));
    }
    match version {
        Some(1) => {}
        Some(other) => return Err(CarError::UnsupportedVersion(other)),
        None => return Err(CarError::BadHeader("no version")),
    }
    roots.ok_or(CarError::BadHeader("no roots"))
}

impl<R: BufRead> CarReader<R> {
    /// Reads and checks the header.
    pub fn new(mut reader: R) -> Result<CarReader<R>, CarError> {
        let length = read_stream_varint(&mut reader)?.ok_or(CarError::Truncated)?;
        if length > MAX_HEADER_SIZE as u64 {
            return Err(CarError::HeaderTooLarge(length));
        }
        let mut header = vec![0u8; length as usize];
        read_exact_or_truncated(&mut reader, &mut header)?;
        let roots = decode_header(&header)?;
        Ok(CarReader { reader, roots })
    }

    /// The roots the header names.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, verified against its CID; `None` at the end of the archive.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, CarError> {
        let Some(length) = read_stream_varint(&mut self.reader)? else {
            return Ok(None);
        };
        if length < CID_LEN as u64 {
            return Err(CarError::Truncated);
        }
        if length > (CID_LEN + MAX_BLOCK_SIZE) as u64 {
            return Err(CarError::BlockTooLarge(length));
        }
        let mut cid_bytes = [0u8; CID_LEN];
        read_exact_or_truncated(&mut self.reader, &mut cid_bytes)?;
        let cid = Cid::from_bytes(&cid_bytes)?;
        let mut block = vec![0u8; length as usize - CID_LEN];
        read_exact_or_truncated(&mut self.reader, &mut block)?;
        if !cid.matches(&block) {
            return Err(CarError::CorruptBlock(cid));
        }
        Ok(Some((cid, block)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::unixfs::{CHUNK_SIZE, export, import};

    #[test]
    fn a_one_root_header_is_the_58_bytes_of_the_spec() {
        let root = Cid::for_block(crate::cid::Codec::Raw, b"");
        let header = encode_header(&[root]);
        assert_eq!(header.len(), 58);
        assert_eq!(&header[..11], b"\xa2\x65roots\x81\xd8\x2a\x58");
        assert_eq!(&header[49..], b"\x67version\x01");
        assert_eq!(decode_header(&header).unwrap(), vec![root]);
    }

    #[test]
    fn a_file_written_to_a_car_reads_back_to_the_same_bytes() {
        let data: Vec<u8> = (0..CHUNK_SIZE * 3 + 17)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut archive = Vec::new();
        let root = write_car_for_file(io::Cursor::new(&data), &mut archive).unwrap();

        let mut reader = CarReader::new(&archive[..]).unwrap();
        assert_eq!(reader.roots(), &[root]);
        let mut blocks = BTreeMap::new();
        while let Some((cid, block)) = reader.next_block().unwrap() {
            blocks.insert(cid, block);
        }
        assert_eq!(blocks.len(), 5);
        let mut out = Vec::new();
        export(&root, &blocks, &mut out).unwrap();
        assert!(out == data);
    }

    #[test]
    fn a_flipped_byte_in_a_car_block_is_caught() {
        let data = vec![7u8; 1000];
        let mut archive = Vec::new();
        let root = write_car_for_file(io::Cursor::new(&data), &mut archive).unwrap();
        let last = archive.len() - 1;
        archive[last] ^= 0x40;
        let mut reader = CarReader::new(&archive[..]).unwrap();
        assert!(matches!(reader.next_block(), Err(CarError::CorruptBlock(cid)) if cid == root));
    }

    #[test]
    fn a_truncated_car_is_an_error_not_a_panic() {
        let data = vec![9u8; 5000];
        let mut archive = Vec::new();
        let mut writer = CarWriter::new(&mut archive, &[]).unwrap();
        import(&data[..], &mut writer).unwrap();
        let read_all = |bytes: &[u8]| -> Result<usize, CarError> {
            let mut reader = CarReader::new(bytes)?;
            let mut count = 0;
            while reader.next_block()?.is_some() {
                count += 1;
            }
            Ok(count)
        };
        assert_eq!(read_all(&archive).unwrap(), 1);
        // Every cut but the one after the header (a valid archive of no blocks) is an error.
        for cut in 0..archive.len() {
            match read_all(&archive[..cut]) {
                Ok(count) => assert_eq!((cut, count), (18, 0)),
                Err(error) => assert!(matches!(error, CarError::Truncated)),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_headers_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode_header(&bytes);
            let _ = CarReader::new(&bytes[..]).map(|mut reader| reader.next_block());
        }
    }
}
