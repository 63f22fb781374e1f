//! String arguments read without Borsh's up-front allocation.
//!
//! Accounts are zero-copy and need no reader; instruction arguments are Borsh, and Borsh's
//! `String` reader is the one piece of it the program cannot use as it is (see [`read_string`]).
//! The IDL build keeps Borsh's own reader: an IDL describes bytes, and the bytes are the same.

/// Bytes of a string read at a time by [`read_string`].
const STRING_PIECE: usize = 256;

/// Reads a Borsh `String` (a `u32` length, then that many bytes of UTF-8) and refuses what
/// Borsh refuses, but allocates only for bytes that arrived: Borsh's own reader first allocates
/// the length it is told, up to 1 MiB, and the program's heap is 32 KiB, so a forged length in
/// an instruction's arguments aborted the program instead of refusing the instruction. String
/// arguments name it in `#[borsh(deserialize_with = ...)]`; the bytes are Borsh's either way.
pub fn read_string<R: std::io::Read>(reader: &mut R) -> std::io::Result<String> {
    // Borsh reports missing bytes, of the length or of the string, as invalid data
    let invalid = |_| std::io::Error::from(std::io::ErrorKind::InvalidData);
    let mut len = [0u8; 4];
    reader.read_exact(&mut len).map_err(invalid)?;
    let len = u32::from_le_bytes(len) as usize;
    let mut bytes = Vec::new();
    while bytes.len() < len {
        let start = bytes.len();
        bytes.resize(start + STRING_PIECE.min(len - start), 0);
        reader.read_exact(&mut bytes[start..]).map_err(invalid)?;
    }
    String::from_utf8(bytes).map_err(|_| std::io::ErrorKind::InvalidData.into())
}

#[cfg(test)]
mod tests {
    use anchor_lang::prelude::borsh;

    use super::*;

    #[test]
    fn strings_are_read_as_borsh_reads_them_without_its_allocation() {
        use anchor_lang::prelude::AnchorDeserialize;
        let cases: Vec<Vec<u8>> = vec![
            borsh::to_vec("").unwrap(),
            borsh::to_vec("https://terms.example/é").unwrap(),
            borsh::to_vec(&"x".repeat(700)).unwrap(),
            vec![3, 0, 0, 0, b'a', b'b'],             // cut short
            vec![2, 0, 0, 0, 0xC3, 0x28],             // not UTF-8
            vec![0xFF, 0xFF, 0xFF, 0x7F, b'a', b'b'], // a forged length
            vec![1, 0],                               // no whole length
        ];
        for bytes in cases {
            let ours = read_string(&mut bytes.as_slice()).map_err(|e| e.kind());
            let borsh = String::deserialize(&mut bytes.as_slice()).map_err(|e| e.kind());
            assert_eq!(ours, borsh, "{bytes:?}");
        }
        // what follows the string stays in the reader
        let mut with_tail = borsh::to_vec("ab").unwrap();
        with_tail.push(9);
        let mut rest = with_tail.as_slice();
        assert_eq!(read_string(&mut rest).unwrap(), "ab");
        assert_eq!(rest, [9]);
    }
}
