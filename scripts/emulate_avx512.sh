#!/usr/bin/env bash
# Run the AVX-512 kernels on a machine without AVX-512.  Builds cattn in a scratch copy of the
# tree with csrc/*_avx512.c compiled against SIMDe's portable AVX-512 intrinsics (a test build:
# CATTN_EMULATE_AVX512 in setup.py, csrc/avx512.h), then runs pytest on that level with the
# arguments given (default: the whole suite but the notebooks).  Needs the test extra and SIMDe:
#     pip install -e ".[test]" simde-py && bash scripts/emulate_avx512.sh [pytest args]
# With the CPU's own AVX-512 there is nothing to emulate: run `CATTN_ARCH=avx512 pytest` instead.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/csrc" "$here/python" "$here/tests" "$here/setup.py" "$here/pyproject.toml" \
      "$here/README.md" "$work/"
rm -f "$work"/python/cattn/_cattn*.so
cd "$work"
CATTN_EMULATE_AVX512=$(python -c "import simde_py; print(simde_py.get_include())")
export CATTN_EMULATE_AVX512
# needs the build requirements of pyproject.toml (setuptools >= 77) in this Python
python setup.py -q build_ext --inplace --force > "$work/build.log" 2>&1 || {
    cat "$work/build.log"; echo "emulate_avx512.sh: the emulated build failed"; exit 1; }
export PYTHONPATH="$work/python" CATTN_ARCH=avx512
python - "$work" <<'PY'
import sys
import cattn
from cattn import _cattn
c = _cattn.get_config()
assert cattn.__file__.startswith(sys.argv[1]), cattn.__file__   # the scratch build, not another
assert c["avx512_emulated"] and c["level"] == "avx512", c
cattn.show_config()
PY
if [ "$#" -eq 0 ]; then set -- tests -k "not notebook"; fi
python -m pytest -q -p no:cacheprovider "$@"
