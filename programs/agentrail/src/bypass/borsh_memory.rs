//! Values whose memory is their Borsh encoding, read and written in one copy.
//!
//! A `repr(C)` struct with its fields in Borsh's order, each at the offset Borsh puts it (no
//! padding before the last field), holds its encoding in its first bytes on a little-endian
//! machine such as SBF. Decoding it is then one copy and a check of the fields that have
//! invalid byte patterns (a bool, an enum), instead of a read, a check and a call per field.

use std::mem::MaybeUninit;

use crate::bypass::mem;

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

#[cfg(not(target_endian = "little"))]
compile_error!("values are copied as their little-endian Borsh bytes");

/// A value whose first [`BorshMemory::ENCODED`] bytes of memory are its Borsh encoding.
///
/// # Safety
/// The type is `repr(C)` with every field at its Borsh offset and no padding before
/// `ENCODED` (implementors check the offsets at compile time), and `valid` accepts exactly the
/// byte patterns that are values of the type.
pub unsafe trait BorshMemory: Sized {
    /// Bytes of the encoding.
    const ENCODED: usize;

    /// Whether `bytes` (`ENCODED` of them) encode a value; every pattern does unless a field
    /// has invalid ones.
    fn valid(_bytes: &[u8]) -> bool {
        true
    }
}

/// `value`'s Borsh encoding: its first `ENCODED` bytes.
pub fn encoded<T: BorshMemory>(value: &T) -> &[u8] {
    // SAFETY: the trait's promise: the first ENCODED bytes are fields without padding, so
    // initialized; the padding after them is not included
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), T::ENCODED) }
}

/// Where encoded bytes are read from: an account's bytes (copied by the runtime, [`mem`]) or
/// any reader.
pub trait Source {
    /// Fills `dst` with the next `dst.len()` bytes; writes only initialized bytes.
    fn fill(&mut self, dst: &mut [MaybeUninit<u8>]) -> std::io::Result<()>;

    /// Fills `dst` with the next `dst.len()` bytes.
    fn fill_init(&mut self, dst: &mut [u8]) -> std::io::Result<()> {
        // SAFETY: the same memory as bytes that may be uninitialized; `fill` writes only
        // initialized bytes, so `dst` stays initialized
        self.fill(unsafe { &mut *(dst as *mut [u8] as *mut [MaybeUninit<u8>]) })
    }

    /// Reads one `T` into `slot` in one copy; refuses what Borsh refuses ([`BorshMemory::valid`]).
    /// On success `slot` holds a value.
    fn fill_value<T: BorshMemory>(&mut self, slot: &mut MaybeUninit<T>) -> std::io::Result<()> {
        // SAFETY: the slot's first ENCODED bytes, as bytes that may be uninitialized
        let bytes = unsafe { std::slice::from_raw_parts_mut(slot.as_mut_ptr().cast::<MaybeUninit<u8>>(), T::ENCODED) };
        self.fill(bytes)?;
        // SAFETY: all filled just above
        let bytes = unsafe { &*(bytes as *const [MaybeUninit<u8>] as *const [u8]) };
        if T::valid(bytes) { Ok(()) } else { Err(std::io::ErrorKind::InvalidData.into()) }
    }

    /// Reads one `T` in one copy.
    fn value<T: BorshMemory>(&mut self) -> std::io::Result<T> {
        let mut slot = MaybeUninit::<T>::uninit();
        self.fill_value(&mut slot)?;
        // SAFETY: `fill_value` succeeded: the encoding is a valid value (the trait's promise),
        // and the padding after it is never read
        Ok(unsafe { slot.assume_init() })
    }
}

impl Source for &[u8] {
    fn fill(&mut self, dst: &mut [MaybeUninit<u8>]) -> std::io::Result<()> {
        let (now, rest) = self.split_at_checked(dst.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        mem::copy_to_uninit(dst, now);
        *self = rest;
        Ok(())
    }
}

/// Hashes read in one piece by [`read_hashes`]: a proof of a tree of 2^64 leaves.
const HASH_CHUNK: usize = 64;

/// Reads a Borsh `Vec<[u8; 32]>` (a Merkle proof) in pieces of up to [`HASH_CHUNK`] hashes,
/// each one copy, where Borsh's derive reads hash by hash. A forged length allocates no more
/// than one piece beyond the bytes that follow it.
pub fn read_hashes(src: &mut impl Source) -> std::io::Result<Vec<[u8; 32]>> {
    let mut len = [0u8; 4];
    src.fill_init(&mut len)?;
    let count = u32::from_le_bytes(len) as usize;
    let mut hashes = Vec::with_capacity(count.min(HASH_CHUNK));
    while hashes.len() < count {
        let start = hashes.len();
        hashes.resize(start + (count - start).min(HASH_CHUNK), [0u8; 32]);
        src.fill_init(hashes[start..].as_flattened_mut())?;
    }
    Ok(hashes)
}

/// Any reader as a [`Source`].
pub struct FromReader<'r, R>(pub &'r mut R);

impl<R: std::io::Read> Source for FromReader<'_, R> {
    fn fill(&mut self, dst: &mut [MaybeUninit<u8>]) -> std::io::Result<()> {
        // zeroed first: a reader writes into initialized bytes
        dst.fill(MaybeUninit::new(0));
        // SAFETY: every byte was initialized just above
        self.fill_init(unsafe { &mut *(dst as *mut [MaybeUninit<u8>] as *mut [u8]) })
    }

    fn fill_init(&mut self, dst: &mut [u8]) -> std::io::Result<()> {
        self.0.read_exact(dst)
    }
}

/// A type read from a [`Source`]: its Borsh decoding, written once for both kinds of source.
pub trait ReadFrom: Sized {
    /// Reads one value; refuses what Borsh refuses.
    fn read_from(src: &mut impl Source) -> std::io::Result<Self>;
}

impl<T: BorshMemory> ReadFrom for T {
    fn read_from(src: &mut impl Source) -> std::io::Result<Self> {
        src.value()
    }
}

/// Implements Borsh's `AnchorDeserialize` for a [`ReadFrom`] type (outside the IDL build, which
/// describes the bytes with Borsh's derive): an account's or an instruction's bytes copied by
/// the runtime, any other reader through [`FromReader`]. Anchor decodes an instruction's
/// arguments through a reader over its bytes, so both paths are hot.
#[macro_export]
macro_rules! deserialize_with_read_from {
    ($name:ty) => {
        #[cfg(not(feature = "idl-build"))]
        impl ::anchor_lang::AnchorDeserialize for $name {
            fn deserialize(buf: &mut &[u8]) -> ::std::io::Result<Self> {
                $crate::bypass::borsh_memory::ReadFrom::read_from(buf)
            }

            fn deserialize_reader<R: ::std::io::Read>(reader: &mut R) -> ::std::io::Result<Self> {
                $crate::bypass::borsh_memory::ReadFrom::read_from(&mut $crate::bypass::borsh_memory::FromReader(reader))
            }
        }
    };
}

/// Implements Borsh's traits for a [`BorshMemory`] type as one copy each way (outside the IDL
/// build, which describes the bytes with Borsh's derive).
#[macro_export]
macro_rules! borsh_memory_codec {
    ($name:ty) => {
        #[cfg(not(feature = "idl-build"))]
        impl ::anchor_lang::AnchorSerialize for $name {
            fn serialize<W: ::std::io::Write>(&self, writer: &mut W) -> ::std::io::Result<()> {
                writer.write_all($crate::bypass::borsh_memory::encoded(self))
            }
        }

        $crate::deserialize_with_read_from!($name);
    };
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

    #[test]
    fn hashes_are_read_as_borsh_reads_them() {
        for count in [0usize, 1, 20, 65] {
            let hashes: Vec<[u8; 32]> = (0..count).map(|i| [i as u8; 32]).collect();
            let bytes = borsh::to_vec(&hashes).unwrap();
            let mut slice = bytes.as_slice();
            assert_eq!(read_hashes(&mut slice).unwrap(), hashes, "{count} from bytes");
            assert!(slice.is_empty());
            let mut cursor = std::io::Cursor::new(&bytes);
            assert_eq!(read_hashes(&mut FromReader(&mut cursor)).unwrap(), hashes, "{count} from a reader");
            if count > 0 {
                let cut = &bytes[..bytes.len() - 1];
                assert!(read_hashes(&mut &cut[..]).is_err(), "cut short");
                assert!(read_hashes(&mut FromReader(&mut std::io::Cursor::new(cut))).is_err());
            }
        }
        // a length the bytes cannot hold is refused
        let forged = u32::MAX.to_le_bytes();
        assert!(read_hashes(&mut &forged[..]).is_err());
        assert!(read_hashes(&mut FromReader(&mut std::io::Cursor::new(forged))).is_err());
    }
}
