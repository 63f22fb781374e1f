#!/usr/bin/env bash
# One-time setup of an SBF toolchain that needs no Solana platform-tools download:
# upstream rustc (Debian's rustc-web 1.96 with its std sources) + the sbpf-linker crate,
# running on LLVM 23 from Debian unstable, unpacked under $SBF_HOME (not installed).
# Everything comes from the package registries (Debian, the crate registry). Idempotent: each
# part is redone only when what it depends on changed, so an updated script never forces a full
# rebuild of the programs (the patched std keeps its timestamps unless the patch changed).
# Usage: [SBF_HOME=dir] bash setup.sh        (root or sudo, for apt-get)
set -euo pipefail
SBF_HOME=${SBF_HOME:-$HOME/.cache/sbf-upstream}
HERE=$(cd "$(dirname "$0")" && pwd)
fail() { echo "sbf-toolchain setup: $1. Fix: $2" >&2; exit 1; }
# stamp NAME INPUT...: whether part NAME is done for these inputs (their hash is its stamp)
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
done_for() { local name=$1; shift; [ -f "$SBF_HOME/.$name" ] && [ "$(cat "$SBF_HOME/.$name")" = "$(stamp_of "$@")" ]; }
mark() { local name=$1; shift; stamp_of "$@" >"$SBF_HOME/.$name"; }

mkdir -p "$SBF_HOME"
ready_inputs=("$HERE"/setup.sh "$HERE"/*.py "$HERE"/*.c)
if done_for ready "${ready_inputs[@]}" && [ -x /usr/bin/rustc ]; then
  echo "sbf toolchain ready in $SBF_HOME"; exit 0
fi
command -v apt-get >/dev/null || fail "apt-get not found" "this setup needs Debian (or use Solana's platform-tools: cargo build-sbf)"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "not root and no sudo" "run this script as root once"
  sudo="sudo"
fi
# wait for another apt (a background validator build installing its packages) instead of failing
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)

# 1. Debian stable packages: rustc 1.96 (LLVM 22), its std sources, prebuilt core/alloc for
#    bpfel-unknown-none, clang-22 (compiles the i128 builtins).
$sudo "${APT[@]}" update -qq || fail "apt-get update failed" "check the machine reaches its Debian mirror"
$sudo "${APT[@]}" install -y -qq rustc-web cargo-web rust-web-src libstd-rust-web-dev-bpf clang-22 llvm-22 >/dev/null ||
  fail "installing rustc-web, rust-web-src, clang-22 and llvm-22 failed" "check the apt output above and the Debian mirror"

# 2. LLVM 23 shared library and the runtime it needs (glibc 2.4x) from Debian unstable, unpacked
#    only. The mirror is the one this machine's apt already uses.
if ! ls "$SBF_HOME"/sid/root/usr/lib/x86_64-linux-gnu/libLLVM.so.23* >/dev/null 2>&1; then
  mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
  [ -n "$mirror" ] || mirror=$(sed -n 's/^deb \([^ ]*\/debian\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n1)
  [ -n "$mirror" ] || fail "no Debian mirror found in the apt sources" "add one to /etc/apt/sources.list.d/debian.sources"
  A="$SBF_HOME/apt"; rm -rf "$A" "$SBF_HOME/sid"
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$SBF_HOME/sid/debs"
  echo "deb $mirror sid main" > "$A/sources.list"
  APTOPT=(-o Dir::Etc::sourcelist="$A/sources.list" -o Dir::Etc::sourceparts=/nonexistent
          -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache" -o Dir::State::status=/var/lib/dpkg/status)
  apt-get "${APTOPT[@]}" update -qq || fail "reading Debian unstable's package list failed" "check $mirror serves sid"
  ( cd "$SBF_HOME/sid/debs" && apt-get "${APTOPT[@]}" download -qq \
      libllvm23 libc6 libgcc-s1 libstdc++6 libxml2-16 libz3-4 libzstd1 libedit2 libffi8 \
      libbsd0 libmd0 libtinfo6 zlib1g ) || fail "downloading LLVM 23 from Debian unstable failed" "check $mirror serves sid"
  for d in "$SBF_HOME"/sid/debs/*.deb; do dpkg-deb -x "$d" "$SBF_HOME/sid/root"; done
fi

# 3. sbpf-linker from the crate registry (its default build dlopens LLVM 23); a no-op when installed.
cargo install sbpf-linker@0.2.6 --locked --root "$SBF_HOME/sbpf-linker" -j2 ||
  fail "cargo install sbpf-linker@0.2.6 failed" "check the crate registry is reachable and read the compiler output above"

# 4. Memory builtins that call the runtime's syscalls, as platform-tools' do (mem.c says why).
if ! done_for mem "$HERE/mem.c" || [ ! -f "$SBF_HOME/mem.bc" ]; then
  clang-22 --target=bpfel -mcpu=v4 -O2 -fno-builtin -emit-llvm -c "$HERE/mem.c" -o "$SBF_HOME/mem.bc" ||
    fail "compiling mem.c failed" "read the clang-22 output above"
  mark mem "$HERE/mem.c"
fi

# 5. Linker wrapper: run sbpf-linker under unstable's loader so it finds libLLVM.so.23, with the
#    memory builtins linked in (here rather than in RUSTFLAGS, which would rebuild std).
cat > "$SBF_HOME/sbpf-linker.sh" <<EOS
#!/bin/sh
R=$SBF_HOME/sid/root/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=\$R
exec \$R/ld-linux-x86-64.so.2 --library-path \$R $SBF_HOME/sbpf-linker/bin/sbpf-linker "\$@" \\
  $SBF_HOME/mem.bc --export=memcpy,memmove,memset,memcmp,bcmp
EOS
chmod +x "$SBF_HOME/sbpf-linker.sh"

# 6. i128 libcalls with LLVM's own BPF calling convention (rustc 1.96 builds compiler_builtins'
#    versions with an indirect i128 ABI that LLVM 23's libcalls do not match).
if ! done_for i128 "$HERE/i128.c" || [ ! -f "$SBF_HOME/i128.bc" ]; then
  clang-22 --target=bpfel -mcpu=v4 -O2 -emit-llvm -c "$HERE/i128.c" -o "$SBF_HOME/i128.bc" ||
    fail "compiling i128.c failed" "read the clang-22 output above"
  mark i128 "$HERE/i128.c"
fi

# 7. Target: bpfel-unknown-none with os=solana, so Solana crates take their on-chain paths.
RUSTC_BOOTSTRAP=1 /usr/bin/rustc -Z unstable-options --print target-spec-json --target bpfel-unknown-none \
 | python3 -c 'import json,sys; s=json.load(sys.stdin); s.update({"os":"solana","vendor":"solana","atomic-cas":True,"min-atomic-width":8}); s["metadata"]["std"]=True; json.dump(s,open(sys.argv[1],"w"),indent=2)' \
   "$SBF_HOME/sbfup-solana-solana.json.new"
# replaced only when it changed: cargo rebuilds everything for a target spec it sees change
cmp -s "$SBF_HOME/sbfup-solana-solana.json.new" "$SBF_HOME/sbfup-solana-solana.json" 2>/dev/null &&
  rm "$SBF_HOME/sbfup-solana-solana.json.new" ||
  mv "$SBF_HOME/sbfup-solana-solana.json.new" "$SBF_HOME/sbfup-solana-solana.json"

# 8. Patched copy of the 1.96 std sources so std builds for target_os = "solana"; redone only
#    when the patch or Debian's std sources change (a fresh copy would rebuild every program).
rustc_version=$(mktemp); /usr/bin/rustc --version >"$rustc_version"
if ! done_for rustsrc "$HERE/patch_std.py" "$rustc_version" || [ ! -d "$SBF_HOME/rustsrc/library" ]; then
  rm -rf "$SBF_HOME/rustsrc"; mkdir -p "$SBF_HOME/rustsrc"
  cp -r /usr/lib/rustlib/src/rust/library "$SBF_HOME/rustsrc/"
  python3 "$HERE/patch_std.py" "$SBF_HOME/rustsrc/library" ||
    fail "patching the std sources failed (Debian's rust-web-src changed?)" "update tools/sbf-toolchain/patch_std.py for it"
  mark rustsrc "$HERE/patch_std.py" "$rustc_version"
fi
rm -f "$rustc_version"
mark ready "${ready_inputs[@]}"
echo "sbf toolchain ready in $SBF_HOME"
