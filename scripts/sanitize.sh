#!/usr/bin/env bash
# Build cattn with AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover=all) in a
# scratch copy of the tree and run the whole test suite against that build, with the ASan runtime
# preloaded and PYTHONMALLOC=malloc so that Python's own allocations go through ASan too.
# Any report aborts the run with a non-zero exit.  Needs the test extra in the current Python:
#     pip install -e ".[test]" && bash scripts/sanitize.sh [extra pytest args]
# Leak detection is off here (CPython keeps interned objects alive at exit); tests/test_leaks.py
# checks leaks through reference counts, tracemalloc and the resident size instead.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/csrc" "$here/python" "$here/tests" "$here/examples" "$here/setup.py" \
      "$here/pyproject.toml" "$here/README.md" "$work/"
cd "$work"
export CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
export LDFLAGS="-fsanitize=address,undefined"
python setup.py -q build_ext --inplace 2>&1 | grep -v -i "deprecat" || true
ls python/cattn/_cattn*.so >/dev/null
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONMALLOC=malloc PYTHONPATH="$work/python"
python -c "import cattn, sys; assert cattn.__file__.startswith('$work'), cattn.__file__; print('sanitized build:', cattn.__file__)"
if [ "${CATTN_SANITIZE_TESTS:-1}" = "1" ]; then
    # the notebooks run their own kernels, which would not load the sanitized build
    python -m pytest -q -p no:cacheprovider tests -k "not notebook" "$@"
fi
if [ -n "${CATTN_FUZZ_SECONDS:-}" ]; then
    # the fuzz harness under the same build, for a bounded time, on a copy of the kept corpus
    cp -r "$here/fuzz" "$work/fuzz"
    python "$work/fuzz/fuzz_cattn.py" "$work/fuzz/corpus" -max_total_time="$CATTN_FUZZ_SECONDS" \
        -rss_limit_mb=4096 -timeout=20 -print_final_stats=1
fi
