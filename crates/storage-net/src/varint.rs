//! Unsigned LEB128 varints (protobuf, multiformats, CAR) and a bounded cursor over untrusted bytes.

/// Longest encoding of a `u64`.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Appends `value` as an unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Number of bytes [`put_varint`] writes for `value`.
pub(crate) fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Why a cursor could not read what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorError {
    /// The bytes ended inside a value.
    Truncated,
    /// A varint longer than ten bytes or above `u64::MAX`.
    VarintOverflow,
}

/// A read position over untrusted bytes; every read checks bounds.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, position: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.position >= self.bytes.len()
    }

    pub(crate) fn read_varint(&mut self) -> Result<u64, CursorError> {
        let mut value: u64 = 0;
        for index in 0..MAX_VARINT_LEN {
            let Some(&byte) = self.bytes.get(self.position) else {
                return Err(CursorError::Truncated);
            };
            self.position += 1;
            let low = u64::from(byte & 0x7f);
            // The tenth byte may only carry the top bit of a u64.
            if index == MAX_VARINT_LEN - 1 && low > 1 {
                return Err(CursorError::VarintOverflow);
            }
            value |= low << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CursorError::VarintOverflow)
    }

    pub(crate) fn read_slice(&mut self, length: usize) -> Result<&'a [u8], CursorError> {
        let end = self
            .position
            .checked_add(length)
            .ok_or(CursorError::Truncated)?;
        let slice = self
            .bytes
            .get(self.position..end)
            .ok_or(CursorError::Truncated)?;
        self.position = end;
        Ok(slice)
    }

    /// A varint length prefix followed by that many bytes.
    pub(crate) fn read_length_delimited(&mut self) -> Result<&'a [u8], CursorError> {
        let length = self.read_varint()?;
        let length = usize::try_from(length).map_err(|_| CursorError::Truncated)?;
        self.read_slice(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn a_varint_reads_back_as_written(value in proptest::prelude::any::<u64>()) {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, value);
            proptest::prop_assert_eq!(bytes.len(), varint_len(value));
            let mut cursor = Cursor::new(&bytes);
            proptest::prop_assert_eq!(cursor.read_varint(), Ok(value));
            proptest::prop_assert!(cursor.is_empty());
        }
    }

    #[test]
    fn an_overlong_varint_is_refused() {
        let bytes = [0xffu8; 11];
        assert_eq!(
            Cursor::new(&bytes).read_varint(),
            Err(CursorError::VarintOverflow)
        );
        assert_eq!(
            Cursor::new(&[0x80, 0x80]).read_varint(),
            Err(CursorError::Truncated)
        );
    }
}
