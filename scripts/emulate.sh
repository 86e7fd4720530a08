#!/usr/bin/env bash
# Run the kernels of a level this machine lacks: avx512 on an x86-64 without AVX-512, or neon
# (ARM64's) on an x86-64.  Builds cattn in a scratch copy of the tree with csrc/isa/<level>/
# compiled against SIMDe's portable intrinsics for that level (a test build: CATTN_EMULATE_AVX512
# or CATTN_EMULATE_NEON in setup.py; csrc/isa/avx512/avx512.h, csrc/isa/neon/neon.h), then runs pytest on that level
# with the arguments given (default: the whole suite but the notebooks).  Needs the test extra
# and SIMDe:
#     pip install -e ".[test]" simde-py && bash scripts/emulate.sh avx512|neon [pytest args]
# With the CPU's own AVX-512 there is nothing to emulate: run `CATTN_ARCH=avx512 pytest` instead.
set -euo pipefail
level=${1:-}
case $level in
    avx512 | neon) shift ;;
    *) echo "usage: emulate.sh avx512|neon [pytest args]"; exit 2 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/csrc" "$here/python" "$here/tests" "$here/benchmarks" "$here/examples" \
      "$here/scripts" "$here/docs" "$here/setup.py" \
      "$here/pyproject.toml" "$here/README.md" "$here/.gitignore" "$work/"
rm -rf "$work/docs/_build"  # the site's build, if one was made: the tests read its sources
rm -f "$work"/python/cattn/_cattn*.so
cd "$work"
var=CATTN_EMULATE_${level^^}
export "$var=$(python -c "import simde_py; print(simde_py.get_include())")"
# needs the build requirements of pyproject.toml (setuptools >= 77) in this Python
python setup.py -q build_ext --inplace --force > "$work/build.log" 2>&1 || {
    cat "$work/build.log"; echo "emulate.sh: the emulated build failed"; exit 1; }
export PYTHONPATH="$work/python" CATTN_ARCH=$level
python - "$work" "$level" <<'PY'
import sys
import cattn
from cattn import _cattn
c = _cattn.get_config()
assert cattn.__file__.startswith(sys.argv[1]), cattn.__file__   # the scratch build, not another
assert c[sys.argv[2] + "_emulated"] and c["level"] == sys.argv[2], c
cattn.show_config()
PY
if [ "$#" -eq 0 ]; then set -- tests -k "not notebook"; fi
python -m pytest -q -p no:cacheprovider "$@"
