/* Memory builtins as Solana's platform-tools provide them: each calls the runtime's syscall
 * (sol_memcpy_, sol_memmove_, sol_memset_, sol_memcmp_), which costs 10 compute units up to
 * 2,500 bytes. Without this file the program gets compiler_builtins' generic loops (Rust's
 * `compiler-builtins-mem`), a few instructions per byte or word: every copy Borsh, Anchor and
 * the token programs' parsers make then costs several times what it costs in a program built
 * by `cargo build-sbf`, and compute measured here would not be what a deployed program pays.
 * Linked by the linker wrapper (setup.sh) as bitcode; these strong definitions replace the
 * weak ones compiler_builtins provides. Compiled with -fno-builtin: the bodies must stay calls
 * to the syscalls, never become calls to themselves. */
typedef unsigned long long u64;

extern void sol_memcpy_(void *dst, const void *src, u64 n);
extern void sol_memmove_(void *dst, const void *src, u64 n);
extern void sol_memset_(void *dst, unsigned char c, u64 n);
extern void sol_memcmp_(const void *a, const void *b, u64 n, int *result);

void *memcpy(void *dst, const void *src, u64 n) {
    sol_memcpy_(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, u64 n) {
    sol_memmove_(dst, src, n);
    return dst;
}

void *memset(void *dst, int c, u64 n) {
    sol_memset_(dst, (unsigned char)c, n);
    return dst;
}

int memcmp(const void *a, const void *b, u64 n) {
    int result = 0;
    sol_memcmp_(a, b, n, &result);
    return result;
}

int bcmp(const void *a, const void *b, u64 n) {
    return memcmp(a, b, n);
}
