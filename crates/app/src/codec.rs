//! Compact binary encodings of state values that are read in bulk (device records, epoch counts,
//! reward breakdowns): the pieces they are built from.
//!
//! Two kinds of field:
//! - **fixed**: little-endian integers of their full width (`u32`, `i32`, `u64`, `u128`) and raw
//!   byte arrays (addresses, ids, keys);
//! - **varint**: unsigned LEB128 (seven bits a byte, least significant group first, the high bit
//!   set on every byte but the last), as in protobuf, in its shortest form only.
//!
//! These are consensus encodings (their bytes enter the state root), so each value has exactly one
//! encoding: [`Reader`] refuses an overlong varint (a last byte of zero after the first), a
//! varint wider than its type, and bytes left over after the last field. Every read is bounded by
//! the bytes actually present, so no length in the input can make a decoder allocate more than
//! the input's size, and nothing here panics on bad bytes.

use thiserror::Error;

/// Why bytes are not a valid encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The bytes end before the value does.
    #[error("truncated")]
    Truncated,
    /// Bytes follow the value's last field.
    #[error("{0} bytes after the end")]
    TrailingBytes(usize),
    /// The first byte is not a version this code knows.
    #[error("unknown version {0}")]
    UnknownVersion(u8),
    /// A varint has more bytes than its value needs.
    #[error("overlong varint")]
    OverlongVarint,
    /// A varint's value does not fit its field.
    #[error("varint too large for its field")]
    VarintOverflow,
    /// A field holds a value it may not hold.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Builds an encoding field by field.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Writer {
        Writer {
            out: Vec::with_capacity(capacity),
        }
    }

    /// One byte.
    pub fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    /// Raw bytes, as they are.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// A `u32`, little-endian.
    pub fn u32_le(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// An `i32`, little-endian two's complement.
    pub fn i32_le(&mut self, value: i32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// A `u64`, little-endian.
    pub fn u64_le(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// A `u128`, little-endian.
    pub fn u128_le(&mut self, value: u128) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    /// A varint, shortest form.
    pub fn varint(&mut self, mut value: u128) {
        loop {
            let group = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.out.push(group);
                return;
            }
            self.out.push(group | 0x80);
        }
    }

    /// The encoding.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Reads an encoding field by field; see the module docs for what it refuses.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.bytes.split_first().ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(first)
    }

    /// The next `N` bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.bytes = rest;
        Ok(*head)
    }

    /// A little-endian `u32`.
    pub fn u32_le(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }

    /// A little-endian `i32`.
    pub fn i32_le(&mut self) -> Result<i32, DecodeError> {
        self.array().map(i32::from_le_bytes)
    }

    /// A little-endian `u64`.
    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }

    /// A little-endian `u128`.
    pub fn u128_le(&mut self) -> Result<u128, DecodeError> {
        self.array().map(u128::from_le_bytes)
    }

    /// A varint of at most `bits` bits (at most 128), shortest form.
    fn varint_bits(&mut self, bits: u32) -> Result<u128, DecodeError> {
        let mut value = 0u128;
        let mut shift = 0u32;
        loop {
            let byte = self.u8()?;
            let group = u128::from(byte & 0x7f);
            if shift > 0 && byte == 0 {
                // A final group of zero adds nothing: a shorter encoding exists.
                return Err(DecodeError::OverlongVarint);
            }
            // The bits this group would put at or above `bits`.
            if shift >= bits || (bits - shift < 7 && group >> (bits - shift) != 0) {
                return Err(DecodeError::VarintOverflow);
            }
            value |= group << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// A varint that fits a `u32`.
    pub fn varint_u32(&mut self) -> Result<u32, DecodeError> {
        // `varint_bits(32)` refuses anything wider, so the conversion cannot fail.
        self.varint_bits(32)
            .and_then(|v| u32::try_from(v).map_err(|_| DecodeError::VarintOverflow))
    }

    /// A varint that fits a `u64`.
    pub fn varint_u64(&mut self) -> Result<u64, DecodeError> {
        self.varint_bits(64)
            .and_then(|v| u64::try_from(v).map_err(|_| DecodeError::VarintOverflow))
    }

    /// A varint that fits a `u128`.
    pub fn varint_u128(&mut self) -> Result<u128, DecodeError> {
        self.varint_bits(128)
    }

    /// A count of items that follow, each at least one byte long: refused when more items are
    /// announced than bytes remain, so a caller may allocate that many.
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        let count = self.varint_u64()?;
        usize::try_from(count)
            .ok()
            .filter(|count| *count <= self.remaining())
            .ok_or(DecodeError::Truncated)
    }

    /// Checks that every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.bytes.len() {
            0 => Ok(()),
            left => Err(DecodeError::TrailingBytes(left)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(value: u128) -> Vec<u8> {
        let mut writer = Writer::default();
        writer.varint(value);
        writer.finish()
    }

    #[test]
    fn varints_have_one_encoding_each() {
        assert_eq!(encoded(0), [0x00]);
        assert_eq!(encoded(127), [0x7f]);
        assert_eq!(encoded(128), [0x80, 0x01]);
        assert_eq!(encoded(300), [0xac, 0x02]);
        // Zero and 1 padded with empty groups.
        for overlong in [&[0x80, 0x00][..], &[0x81, 0x80, 0x00], &[0xff, 0x00]] {
            assert_eq!(
                Reader::new(overlong).varint_u64(),
                Err(DecodeError::OverlongVarint),
                "{overlong:02x?}"
            );
        }
        assert_eq!(
            Reader::new(&[0x80, 0x80]).varint_u64(),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn varints_wider_than_their_field_are_refused() {
        let max32 = encoded(u128::from(u32::MAX));
        assert_eq!(Reader::new(&max32).varint_u32(), Ok(u32::MAX));
        let over32 = encoded(u128::from(u32::MAX) + 1);
        assert_eq!(
            Reader::new(&over32).varint_u32(),
            Err(DecodeError::VarintOverflow)
        );
        let max64 = encoded(u128::from(u64::MAX));
        assert_eq!(Reader::new(&max64).varint_u64(), Ok(u64::MAX));
        assert_eq!(
            Reader::new(&encoded(u128::from(u64::MAX) + 1)).varint_u64(),
            Err(DecodeError::VarintOverflow)
        );
        let max128 = encoded(u128::MAX);
        assert_eq!(max128.len(), 19);
        assert_eq!(Reader::new(&max128).varint_u128(), Ok(u128::MAX));
        // A twentieth byte, or a nineteenth with more than two bits, overflows.
        let mut longer = max128.clone();
        longer[18] |= 0x80;
        longer.push(0x01);
        assert_eq!(
            Reader::new(&longer).varint_u128(),
            Err(DecodeError::VarintOverflow)
        );
        let mut wide = max128;
        wide[18] = 0x04;
        assert_eq!(
            Reader::new(&wide).varint_u128(),
            Err(DecodeError::VarintOverflow)
        );
    }

    #[test]
    fn a_count_larger_than_the_bytes_left_is_refused() {
        let mut writer = Writer::default();
        writer.varint(3);
        writer.bytes(&[1, 2]);
        let bytes = writer.finish();
        assert_eq!(Reader::new(&bytes).count(), Err(DecodeError::Truncated));
        let mut reader = Reader::new(&bytes[..]);
        reader.u8().unwrap();
        assert_eq!(reader.finish(), Err(DecodeError::TrailingBytes(2)));
    }

    proptest! {
        #[test]
        fn every_varint_round_trips(value: u128) {
            let bytes = encoded(value);
            let mut reader = Reader::new(&bytes);
            prop_assert_eq!(reader.varint_u128(), Ok(value));
            prop_assert_eq!(reader.finish(), Ok(()));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_decoded_varints_reencode_identically(
            bytes in proptest::collection::vec(any::<u8>(), 0..24)
        ) {
            let mut reader = Reader::new(&bytes);
            if let Ok(value) = reader.varint_u128() {
                let used = bytes.len() - reader.remaining();
                prop_assert_eq!(encoded(value), bytes[..used].to_vec());
            }
            let mut reader = Reader::new(&bytes);
            if let Ok(value) = reader.varint_u32() {
                let used = bytes.len() - reader.remaining();
                prop_assert_eq!(encoded(u128::from(value)), bytes[..used].to_vec());
            }
        }
    }
}
