#!/usr/bin/env bash
# c_check.sh -- the C kernels without Python: build tests/c/kernels_check.c with csrc/'s runtime
# and kernels (not the glue) and the ISA folders' files for a target, and run it there.  The ISA
# flags come from each csrc/isa/<level>/FLAGS (setup.py reads the same files).
#   native    gcc; x86-64 with the AVX2 and AVX-512 files (each level runs where the CPU has it)
#   aarch64   aarch64-linux-gnu-gcc, run under qemu-aarch64 (Debian: gcc-aarch64-linux-gnu,
#             qemu-user); the NEON files
#   windows   x86_64-w64-mingw32-gcc, run under wine (Debian: gcc-mingw-w64-x86-64, wine64);
#             the AVX2 and AVX-512 files and the Win32 threads of runtime/threads_os.h
# usage: bash scripts/c_check.sh [native|aarch64|windows ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${CATTN_C_CHECK_DIR:-build/c_check}
mkdir -p "$out"
out=$(cd "$out" && pwd)
flags=(-O2 -std=c11 -Wall -Wextra -Werror -Wvla -fno-math-errno -fno-trapping-math -Icsrc)
portable=(csrc/runtime/*.c csrc/kernels/*.c)

# build <cc> <exe> <isa...>: objects of the portable files, then each ISA's files with its flags
build() {
    local cc=$1 exe=$2 dir=$out/$2.o
    shift 2
    rm -rf "$dir" && mkdir -p "$dir"
    local defs=() objs=()
    for isa in "$@"; do
        local isaflags
        read -r -a isaflags <<< "$(awk '$1 == "gcc" { $1 = ""; print }' "csrc/isa/$isa/FLAGS")"
        for f in csrc/isa/"$isa"/*.c; do
            local o=$dir/${isa}_$(basename "$f" .c).o
            "$cc" "${flags[@]}" "${isaflags[@]}" -c "$f" -o "$o"
            objs+=("$o")
        done
        defs+=("-DCATTN_HAVE_${isa^^}=1")
    done
    "$cc" "${flags[@]}" "${defs[@]}" "${portable[@]}" tests/c/kernels_check.c "${objs[@]}" \
        -o "$out/$exe" $LINK -lm
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(native aarch64 windows)
for t in "${targets[@]}"; do
    echo "== $t"
    case $t in
        native)
            LINK=-lpthread build gcc kernels_check avx2 avx512 avx512bf16
            "$out/kernels_check" ;;
        aarch64)
            LINK="-static -lpthread" build aarch64-linux-gnu-gcc kernels_check_aarch64 neon
            qemu-aarch64 "$out/kernels_check_aarch64" ;;
        windows)
            LINK=-static build x86_64-w64-mingw32-gcc kernels_check.exe avx2 avx512 avx512bf16
            wine=$(command -v wine || echo /usr/lib/wine/wine64)  # Debian's wine64 alone: no `wine`
            WINEDEBUG=-all WINEPREFIX=${WINEPREFIX:-$out/wine} "$wine" "$out/kernels_check.exe" ;;
        *) echo "unknown target $t (native, aarch64, windows)"; exit 2 ;;
    esac
done
