//! Values whose memory is their Borsh encoding, read and written in one copy.
//!
//! A `repr(C)` struct with its fields in Borsh's order, each at the offset Borsh puts it (no
//! padding before the last field), holds its encoding in its first bytes on a little-endian
//! machine such as SBF. Decoding it is then one copy and a check of the fields that have
//! invalid byte patterns (a bool, an enum), instead of a read, a check and a call per field:
//! ~300 units for a track record through Borsh's derive, ~20 this way.

use std::mem::MaybeUninit;

use crate::mem;

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

/// Any reader as a [`Source`].
pub struct FromReader<'r, R>(pub &'r mut R);

impl<R: std::io::Read> Source for FromReader<'_, R> {
    fn fill(&mut self, dst: &mut [MaybeUninit<u8>]) -> std::io::Result<()> {
        // zeroed first: a reader writes into initialized bytes
        dst.fill(MaybeUninit::new(0));
        // SAFETY: every byte was initialized just above
        self.0.read_exact(unsafe { &mut *(dst as *mut [MaybeUninit<u8>] as *mut [u8]) })
    }
}

/// Implements Borsh's traits for a [`BorshMemory`] type as one copy each way (outside the IDL
/// build, which describes the bytes with Borsh's derive).
#[macro_export]
macro_rules! borsh_memory_codec {
    ($name:ty) => {
        #[cfg(not(feature = "idl-build"))]
        impl ::anchor_lang::AnchorSerialize for $name {
            fn serialize<W: ::std::io::Write>(&self, writer: &mut W) -> ::std::io::Result<()> {
                writer.write_all($crate::state::borsh_memory::encoded(self))
            }
        }

        #[cfg(not(feature = "idl-build"))]
        impl ::anchor_lang::AnchorDeserialize for $name {
            // an account's bytes: copied by the runtime
            fn deserialize(buf: &mut &[u8]) -> ::std::io::Result<Self> {
                $crate::state::borsh_memory::Source::value(buf)
            }

            fn deserialize_reader<R: ::std::io::Read>(reader: &mut R) -> ::std::io::Result<Self> {
                $crate::state::borsh_memory::Source::value(&mut $crate::state::borsh_memory::FromReader(reader))
            }
        }
    };
}
