//! Signatures checked by the runtime's ed25519 program earlier or later in the same
//! transaction: how a party that sends no transaction (an agent accepting a job through its
//! keeper) shows that it signed a message. The ed25519 program fails the whole transaction on
//! a bad signature, so an instruction of it that names a key and a message is proof enough;
//! what this module checks is that the key and message it verified are the ones asked for.

use anchor_lang::prelude::*;
use solana_instructions_sysvar::{load_current_index_checked, load_instruction_at_checked};

/// Where one signature's parts are, in an ed25519 instruction's data (after its two-byte
/// header): signature, key and message, each an offset and the index of the instruction
/// holding it (`u16::MAX` for the ed25519 instruction itself).
const ENTRY_LEN: usize = 14;
/// The ed25519 instruction's header: the signature count and a padding byte.
const HEADER_LEN: usize = 2;
/// An entry's instruction index meaning "this instruction's own data".
const THIS_INSTRUCTION: u16 = u16::MAX;

/// Whether an ed25519 program instruction in this transaction verified `signer`'s signature
/// over exactly `message`. `instructions` must be the instructions sysvar (refused otherwise).
/// Only entries whose key and message lie in that ed25519 instruction's own data are read: the
/// ones a client builds (`new_ed25519_instruction_with_signature`).
pub fn signed_in_transaction(instructions: &AccountInfo, signer: &Pubkey, message: &[u8]) -> Result<bool> {
    let current = usize::from(load_current_index_checked(instructions)?);
    // the instructions sysvar lists the whole transaction; the current index bounds nothing,
    // since a failed signature anywhere fails the transaction, but it is where the list ends
    // for sure, so the scan reads on until an index is out of range
    let mut index = 0usize;
    loop {
        if index == current {
            index += 1;
            continue;
        }
        let ix = match load_instruction_at_checked(index, instructions) {
            Ok(ix) => ix,
            Err(ProgramError::InvalidArgument) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        if ix.program_id == solana_sdk_ids::ed25519_program::ID && verifies(&ix.data, index, signer, message) {
            return Ok(true);
        }
        index += 1;
    }
}

/// Whether the ed25519 instruction data `data` (of the instruction at `own_index`) has an
/// entry for `signer` over `message`, both read from its own data.
fn verifies(data: &[u8], own_index: usize, signer: &Pubkey, message: &[u8]) -> bool {
    let Some(&count) = data.first() else { return false };
    let own = |at: u16| at == THIS_INSTRUCTION || usize::from(at) == own_index;
    let u16_at = |entry: &[u8], i: usize| u16::from_le_bytes([entry[2 * i], entry[2 * i + 1]]);
    let slice = |offset: u16, len: usize| data.get(usize::from(offset)..usize::from(offset).checked_add(len)?);
    (0..usize::from(count)).any(|n| {
        let start = HEADER_LEN + n * ENTRY_LEN;
        let Some(entry) = data.get(start..start + ENTRY_LEN) else { return false };
        let (key_at, key_ix) = (u16_at(entry, 2), u16_at(entry, 3));
        let (msg_at, msg_len, msg_ix) = (u16_at(entry, 4), u16_at(entry, 5), u16_at(entry, 6));
        own(key_ix)
            && own(msg_ix)
            && usize::from(msg_len) == message.len()
            && slice(key_at, 32) == Some(signer.as_ref())
            && slice(msg_at, message.len()) == Some(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ed25519 instruction's data as clients build it: one entry, its parts after it.
    fn data(key: &Pubkey, message: &[u8], key_ix: u16, msg_ix: u16) -> Vec<u8> {
        let (key_at, sig_at) = (16u16, 48u16);
        let msg_at = sig_at + 64;
        let mut d = vec![1, 0];
        for v in [sig_at, THIS_INSTRUCTION, key_at, key_ix, msg_at, message.len() as u16, msg_ix] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(key.as_ref());
        d.extend_from_slice(&[7; 64]);
        d.extend_from_slice(message);
        d
    }

    #[test]
    fn reads_the_key_and_message_the_ed25519_program_verified() {
        let (key, other) = (Pubkey::new_unique(), Pubkey::new_unique());
        let msg = [3u8; 32];
        let own = data(&key, &msg, THIS_INSTRUCTION, THIS_INSTRUCTION);
        assert!(verifies(&own, 0, &key, &msg));
        assert!(!verifies(&own, 0, &other, &msg), "another key");
        assert!(!verifies(&own, 0, &key, &[4u8; 32]), "another message");
        assert!(!verifies(&own, 0, &key, &msg[..31]), "a prefix of the message");
        // parts named by the instruction's own index count; parts in another instruction do not
        assert!(verifies(&data(&key, &msg, 2, 2), 2, &key, &msg));
        assert!(!verifies(&data(&key, &msg, 1, THIS_INSTRUCTION), 2, &key, &msg), "key elsewhere");
        assert!(!verifies(&data(&key, &msg, THIS_INSTRUCTION, 1), 2, &key, &msg), "message elsewhere");
        // truncated or empty data is no proof, and never a panic
        for cut in 0..own.len() {
            assert!(!verifies(&own[..cut], 0, &key, &msg), "cut at {cut}");
        }
        let mut zero = own.clone();
        zero[0] = 0;
        assert!(!verifies(&zero, 0, &key, &msg), "no entries");
    }
}
