#!/usr/bin/env bash
# Build cattn with AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover=all) in a
# scratch copy of the tree and run the whole test suite against that build, with the ASan runtime
# preloaded and PYTHONMALLOC=malloc so that Python's own allocations go through ASan too.
# Any report aborts the run with a non-zero exit.  Needs the test extra in the current Python:
#     pip install -e ".[test]" && bash scripts/sanitize.sh [pytest args, default: the suite]
# LeakSanitizer is on: at exit it reports every block that C code allocated and lost.  CPython
# keeps objects alive until exit by design (interned strings, type caches, module state), so
# scripts/lsan.supp suppresses leaks whose allocating caller is inside the Python interpreter --
# and only those: with malloc_context_size=2 a leak's stack is the allocator and its direct
# caller, so a block that cattn's own code (or NumPy) allocated is always reported.
# (The refcount side of leaks is tests/test_leaks.py's.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/csrc" "$here/python" "$here/tests" "$here/examples" "$here/benchmarks" "$here/scripts" \
      "$here/docs" "$here/setup.py" \
      "$here/pyproject.toml" "$here/README.md" "$here/.gitignore" "$work/"
rm -rf "$work/docs/_build"  # the site's build, if one was made: the tests read its sources
rm -f "$work"/python/cattn/_cattn*.so  # the tree's own build must never stand in for this one
cd "$work"
export CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
export LDFLAGS="-fsanitize=address,undefined"
# needs the build requirements of pyproject.toml (setuptools >= 77) in this Python
python setup.py -q build_ext --inplace --force > "$work/build.log" 2>&1 || {
    cat "$work/build.log"; echo "sanitize.sh: the sanitized build failed"; exit 1; }
so=$(ls python/cattn/_cattn*.so)
# (not grep -q: it stops reading at the first match, nm dies of SIGPIPE, and pipefail fails)
nm -D "$so" | grep "__asan_report" > /dev/null || {
    echo "sanitize.sh: $so is not instrumented"; exit 1; }
# The runtime is preloaded into the Python processes only (sanitized, below): a cat, grep or
# tail of the logs would otherwise leave leak reports of its own among them.
preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
sanitized() { LD_PRELOAD="$preload" "$@"; }
# allocator_may_return_null: a huge request returns NULL, as from the real malloc, so that the
# out-of-memory paths are tested instead of reported; reports go to files, because pytest
# captures the test process's stderr and an abort would swallow them
export LSAN_OPTIONS="suppressions=$here/scripts/lsan.supp:print_suppressions=0:malloc_context_size=2"
# intercept_tls_get_addr=0: up to GCC 13 the runtime's __tls_get_addr interceptor takes any
# block of dynamic TLS that malloc placed 16 bytes past a page boundary for a pre-2.25 glibc
# header, reads a start and a size from the two words before it, and LeakSanitizer's tracer then
# dies scanning that range ("Tracer caught signal 11: addr=0x500"; google/sanitizers#1322).  The
# blocks at risk are the small ones: every extension module with thread-locals (matplotlib's,
# libstdc++'s, ...) has one per thread, and ASan's allocator puts a small block 16 bytes past a
# page now and then (cattn's own, 144 KiB, always lands 2048 bytes past one).  It failed 3
# sanitized runs of 6 in a day, once on a retry too.  Without the interceptor the blocks are
# plain heap blocks, reached from glibc's per-thread vector like any other.
export ASAN_OPTIONS="intercept_tls_get_addr=0:detect_leaks=1:abort_on_error=1:halt_on_error=1:print_summary=1:allocator_may_return_null=1:log_path=$work/report"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONMALLOC=malloc PYTHONPATH="$work/python"
sanitized python -c "import cattn, sys; assert cattn.__file__.startswith('$work'), cattn.__file__; print('sanitized build:', cattn.__file__, cattn._config.config())"
export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$work/report"
reports() {  # print every sanitizer report and fail if there is one; the warnings that a huge
    # request failed (the out-of-memory tests make them on purpose) are counted, not failed on
    local errors warnings
    errors=$(cat "$work"/report.* 2>/dev/null |
             grep -c -E "ERROR: |runtime error|SUMMARY: |fatal error|CHECK failed" || true)
    warnings=$(cat "$work"/report.* 2>/dev/null | grep -c "failed to allocate" || true)
    echo "sanitizer reports: $errors (and $warnings refused huge allocations, as intended)"
    if [ "$errors" != "0" ]; then
        cat "$work"/report.*
        exit 1
    fi
    rm -f "$work"/report.*
}
# LeakSanitizer is live and the suppressions do not swallow a leak from outside Python and NumPy:
# a block lost through ctypes (its caller is libffi) must be reported
sanitized python -c "import ctypes; ctypes.CDLL(None).malloc(12345)" || true
if ! cat "$work"/report.* 2>/dev/null | grep -q "12345 byte(s) in 1 object"; then
    cat "$work"/report.* 2>/dev/null || true
    echo "sanitize.sh: LeakSanitizer did not report a planted leak"; exit 1
fi
rm -f "$work"/report.*
echo "LeakSanitizer: on (a planted leak was reported)"
if [ "${CATTN_SANITIZE_TESTS:-1}" = "1" ]; then
    # the notebooks run their own kernels, which would not load the sanitized build
    if [ "$#" -eq 0 ]; then set -- tests -k "not notebook"; fi
    failed() {
        echo "sanitize.sh: pytest failed; the sanitizers' logs (huge-allocation warnings left out):"
        cat "$work"/report.* 2>/dev/null | grep -v "failed to allocate" | tail -60 || true
        reports; exit 1
    }
    sanitized python -m pytest -q -p no:cacheprovider "$@" || failed
    reports
fi
if [ -n "${CATTN_FUZZ_SECONDS:-}" ]; then
    # Fuzzing in two halves.  gcc's sanitizer runtime, preloaded, takes over the coverage hooks of
    # atheris's libFuzzer (and gcc cannot emit libFuzzer's C coverage), so:
    #   1. coverage-guided (by cattn's Python paths) on the regular build, growing the corpus;
    #   2. every input of that corpus replayed, then mutated further, under ASan + UBSan.
    cp -r "$here/fuzz" "$work/fuzz"
    half=$(( CATTN_FUZZ_SECONDS / 2 ))
    env -u PYTHONPATH -u PYTHONMALLOC python "$work/fuzz/fuzz_cattn.py" \
        "$work/fuzz/corpus" -max_total_time="$half" -rss_limit_mb=4096 -timeout=20 \
        -print_final_stats=1
    echo "corpus after the guided half: $(ls "$work/fuzz/corpus" | wc -l) inputs"
    sanitized python "$work/fuzz/fuzz_cattn.py" "$work/fuzz/corpus" -max_total_time="$half" \
        -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 || { reports; exit 1; }
    reports
fi
