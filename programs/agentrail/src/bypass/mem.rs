//! Copies through the runtime's `sol_memcpy_` syscall.
//!
//! The SBF backend copies a constant-length slice it cannot prove aligned one byte at a time
//! (two instructions a byte, inline); the syscall's price is flat for copies of this size.

use std::mem::MaybeUninit;

/// Copies `src` into the first `src.len()` bytes of `dst`, which may be uninitialized.
/// Returns `false`, copying nothing, when `dst` is shorter.
pub fn copy_to_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8]) -> bool {
    if dst.len() < src.len() {
        return false;
    }
    // SAFETY: `dst` has room for `src.len()` bytes (checked above); a `&mut` and a `&` never
    // overlap; `MaybeUninit<u8>` may be written with any byte
    unsafe { copy_raw(dst.as_mut_ptr().cast::<u8>(), src.as_ptr(), src.len()) };
    true
}

/// Copies `src` into `dst`, of the same length. Returns `false`, copying nothing, otherwise.
pub fn copy(dst: &mut [u8], src: &[u8]) -> bool {
    if dst.len() != src.len() {
        return false;
    }
    // SAFETY: as in `copy_to_uninit`, with equal lengths
    unsafe { copy_raw(dst.as_mut_ptr(), src.as_ptr(), src.len()) };
    true
}

/// # Safety
/// `dst` and `src` valid for `n` bytes and not overlapping.
#[inline(always)]
unsafe fn copy_raw(dst: *mut u8, src: *const u8, n: usize) {
    #[cfg(target_os = "solana")]
    // SAFETY: the caller's promise; the syscall aborts on unmapped memory
    unsafe {
        anchor_lang::solana_program::program_memory::syscalls::sol_memcpy_(dst, src, n as u64)
    };
    #[cfg(not(target_os = "solana"))]
    // SAFETY: the caller's promise
    unsafe {
        std::ptr::copy_nonoverlapping(src, dst, n)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_only_what_fits() {
        let mut dst = [0u8; 4];
        assert!(copy(&mut dst, &[1, 2, 3, 4]));
        assert_eq!(dst, [1, 2, 3, 4]);
        assert!(!copy(&mut dst, &[9; 3]), "a shorter source");
        assert!(!copy(&mut dst, &[9; 5]), "a longer source");
        assert_eq!(dst, [1, 2, 3, 4], "nothing copied on refusal");
        let mut uninit = [MaybeUninit::<u8>::uninit(); 4];
        assert!(copy_to_uninit(&mut uninit, &[5, 6]));
        // SAFETY: the first two were written just above
        assert_eq!(unsafe { [uninit[0].assume_init(), uninit[1].assume_init()] }, [5, 6]);
        assert!(!copy_to_uninit(&mut uninit, &[0; 5]));
    }
}
