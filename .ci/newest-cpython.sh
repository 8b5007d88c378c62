#!/bin/sh
# Runs INSIDE the Debian unstable chroot (see .ci/run), with the checkout at /src: installs
# pyoxidizer-py into a venv of every CPython >= 3.14 found in /usr/bin, checks the tool runs there,
# then runs the tests for the newest CPythons (build, in-memory imports, multiprocessing, a
# C-extension wheel, init-rust-project + cargo, a plain PyO3 program, the static-libpython check)
# against all of them, from the newest interpreter's venv.
set -eu
cd /src
found=""
for exe in /usr/bin/python3.*; do
    case "${exe##*/}" in python3.[0-9]|python3.[0-9][0-9]|python3.[0-9][0-9]t) ;; *) continue ;; esac
    "$exe" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 14))' 2>/dev/null || continue
    found="$found${found:+:}$exe"
done
[ -n "$found" ] || { echo "error: no CPython >= 3.14 in the chroot" >&2; exit 1; }
echo "newest-cpython: interpreters: $found"

newest=""
for exe in $(echo "$found" | tr ':' ' '); do
    v=$("$exe" -c 'import sys; print("%d.%d" % sys.version_info[:2] + sys.abiflags)')
    # A free-threaded build is embedded by the tests; the tool itself runs on the GIL builds
    # (not every dependency has a free-threaded wheel).
    case "$v" in *t) echo "newest-cpython: free-threaded CPython $v found: $exe"; continue ;; esac
    venv=/opt/pyoxidizer-py-ci/venv-$v
    [ -x "$venv/bin/python" ] || "$exe" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet -e ".[test]"
    # The tool itself runs on this CPython.
    "$venv/bin/pyoxidizer-py" python-distribution-list --python-version 3.15 >/dev/null
    if "$venv/bin/pyoxidizer-py" python-distribution-list --python-version 3.9 >/dev/null 2>&1; then
        echo "error: an unknown version was accepted under $v" >&2; exit 1
    fi
    echo "newest-cpython: pyoxidizer-py $("$venv/bin/pyoxidizer-py" --version | cut -d' ' -f2) runs on CPython $v"
    newest=$venv
done

export PYOXIDIZER_PY_TEST_PYTHONS="$found"
exec "$newest/bin/python" -m pytest -q -p no:cacheprovider tests/test_newest_cpython.py tests/test_catalog.py
