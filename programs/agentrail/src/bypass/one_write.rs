//! Accounts the money instructions write back on every call, written in one copy.
//!
//! `#[account]` writes an account back through Anchor's `BpfWriter`, which makes one
//! `sol_memcpy` syscall for each write Borsh makes, one per field. [`one_write_account!`]
//! gives a Borsh account the same traits `#[account]` would (discriminator, owner, reads with
//! Anchor's errors) but gathers Borsh's writes in a buffer on the stack ([`Gathered`]) and
//! passes them on a few hundred bytes at a time.

use anchor_lang::prelude::*;

/// Bytes gathered before they are passed on: a 16-milestone job takes four copies.
const GATHER: usize = 512;

/// A writer that gathers small writes on the stack and passes them to `inner` in
/// [`GATHER`]-byte pieces. No heap: `sweep_fees` writes a dozen jobs in one instruction, and
/// the program's heap is never freed.
pub struct Gathered<'w, W: std::io::Write> {
    inner: &'w mut W,
    buf: [u8; GATHER],
    len: usize,
}

impl<'w, W: std::io::Write> Gathered<'w, W> {
    /// Gathers writes for `inner`; call [`std::io::Write::flush`] at the end.
    pub fn new(inner: &'w mut W) -> Self {
        Self { inner, buf: [0; GATHER], len: 0 }
    }
}

impl<W: std::io::Write> std::io::Write for Gathered<'_, W> {
    #[inline(always)]
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    // inlined into each of Borsh's field writes, so the copy has a constant length and compiles
    // to a few loads and stores instead of a call
    #[inline(always)]
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.len + data.len() > GATHER {
            self.flush()?;
            if data.len() > GATHER {
                // larger than the buffer: passed on as it is
                return self.inner.write_all(data);
            }
        }
        let to = &mut self.buf[self.len..self.len + data.len()];
        // the length is a constant here: a field's few bytes are copied inline, a larger piece
        // (a milestone) by the runtime, which is cheaper than the byte-by-byte copy of
        // unaligned memory the compiler would make (crate::mem)
        if data.len() < 32 {
            to.copy_from_slice(data);
        } else {
            crate::bypass::mem::copy(to, data);
        }
        self.len += data.len();
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.write_all(&self.buf[..self.len])?;
        self.len = 0;
        Ok(())
    }
}

/// Writes `discriminator` and `value` through a [`Gathered`] writer.
pub fn write_once<T: AnchorSerialize, W: std::io::Write>(
    discriminator: &[u8],
    value: &T,
    writer: &mut W,
) -> Result<()> {
    use std::io::Write;
    let mut gathered = Gathered::new(writer);
    let written = gathered.write_all(discriminator).and_then(|()| value.serialize(&mut gathered));
    written.and_then(|()| gathered.flush()).map_err(|_| ErrorCode::AccountDidNotSerialize.into())
}

/// Reads a Borsh account after its discriminator, with the errors `#[account]` gives.
pub fn read_checked<T: AnchorDeserialize>(discriminator: &[u8], name: &'static str, buf: &mut &[u8]) -> Result<T> {
    if buf.len() < discriminator.len() {
        return Err(ErrorCode::AccountDiscriminatorNotFound.into());
    }
    if &buf[..discriminator.len()] != discriminator {
        return Err(error!(ErrorCode::AccountDiscriminatorMismatch).with_account_name(name));
    }
    read_unchecked(discriminator, buf)
}

/// Reads a Borsh account after its discriminator, not checking it.
pub fn read_unchecked<T: AnchorDeserialize>(discriminator: &[u8], buf: &mut &[u8]) -> Result<T> {
    let mut data: &[u8] = &buf[discriminator.len()..];
    T::deserialize(&mut data).map_err(|_| ErrorCode::AccountDidNotDeserialize.into())
}

/// Implements `Discriminator`, `Owner`, `AccountSerialize` (gathered writes, [`write_once`]) and
/// `AccountDeserialize` for a Borsh account struct, as `#[account]` would. The discriminator is
/// `#[account]`'s, `sha256("account:<Name>")[..8]` (checked by the tests).
#[macro_export]
macro_rules! one_write_account {
    ($name:ident, $discriminator:expr) => {
        impl ::anchor_lang::Discriminator for $name {
            const DISCRIMINATOR: &'static [u8] = &$discriminator;
        }

        impl ::anchor_lang::Owner for $name {
            fn owner() -> ::anchor_lang::prelude::Pubkey {
                $crate::ID
            }
        }

        impl ::anchor_lang::AccountSerialize for $name {
            fn try_serialize<W: ::std::io::Write>(&self, writer: &mut W) -> ::anchor_lang::Result<()> {
                $crate::bypass::one_write::write_once(
                    <Self as ::anchor_lang::Discriminator>::DISCRIMINATOR,
                    self,
                    writer,
                )
            }
        }

        impl ::anchor_lang::AccountDeserialize for $name {
            fn try_deserialize(buf: &mut &[u8]) -> ::anchor_lang::Result<Self> {
                $crate::bypass::one_write::read_checked(
                    <Self as ::anchor_lang::Discriminator>::DISCRIMINATOR,
                    stringify!($name),
                    buf,
                )
            }

            fn try_deserialize_unchecked(buf: &mut &[u8]) -> ::anchor_lang::Result<Self> {
                $crate::bypass::one_write::read_unchecked(<Self as ::anchor_lang::Discriminator>::DISCRIMINATOR, buf)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use anchor_lang::{AccountSerialize, Discriminator};

    use super::*;
    use crate::state::{Checkpoint, Job, ReceiptLog, TrackRecord};

    #[test]
    fn gathered_writes_are_the_bytes_written_in_order() {
        let record = TrackRecord { released: 3, volume: u128::MAX, shard: 2, ..Default::default() };
        let mut plain = Vec::new();
        plain.extend_from_slice(TrackRecord::DISCRIMINATOR);
        record.serialize(&mut plain).unwrap();
        let mut gathered = Vec::new();
        record.try_serialize(&mut gathered).unwrap();
        assert_eq!(gathered, plain);
        // pieces that straddle, fill and exceed the buffer
        let pieces: Vec<Vec<u8>> =
            [300, 212, 1, GATHER, GATHER + 7, 5].iter().enumerate().map(|(i, n)| vec![i as u8; *n]).collect();
        let mut out = Vec::new();
        let mut w = Gathered::new(&mut out);
        for p in &pieces {
            std::io::Write::write_all(&mut w, p).unwrap();
        }
        std::io::Write::flush(&mut w).unwrap();
        assert_eq!(out, pieces.concat());
    }

    #[test]
    fn discriminators_are_the_ones_account_gives() {
        let accounts = [
            ("Job", Job::DISCRIMINATOR),
            ("TrackRecord", TrackRecord::DISCRIMINATOR),
            ("ReceiptLog", ReceiptLog::DISCRIMINATOR),
            ("Checkpoint", Checkpoint::DISCRIMINATOR),
        ];
        for (name, discriminator) in accounts {
            let hash = solana_sha256_hasher::hash(format!("account:{name}").as_bytes()).to_bytes();
            assert_eq!(discriminator, &hash[..8], "{name}");
        }
    }
}
