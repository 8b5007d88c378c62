"""The static-libpython check that runs before cargo (artifacts/static_check.py), with real archives:
Debian's PIC libpython3.11, archives made here with cc and ar, and an LLVM-bitcode member; and the
installed-CPython version check of distribution/resolve.py."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
from pathlib import Path

import pytest
from fixtures_runtime import DEBIAN_311, DEBIAN_311_PIC, installed_distribution

from pyoxidizer_py.artifacts.pyo3_config import plan_link
from pyoxidizer_py.artifacts.static_check import (
    CHECK_FILENAME,
    archive_has_bitcode,
    check_static_libpython,
    link_arguments,
)
from pyoxidizer_py.config.context import DistributionRequest
from pyoxidizer_py.distribution.resolve import resolve_request
from pyoxidizer_py.errors import BuildError, DistributionError

TRIPLE = "x86_64-unknown-linux-gnu"
DEBIAN_LIBS = ("m", "dl", "pthread", "util", "expat", "z")


def debian_311(*, extra_libs: tuple[str, ...] = (), library: Path = DEBIAN_311_PIC):
    return installed_distribution(DEBIAN_311, static_library=library, static_link_libraries=DEBIAN_LIBS + extra_libs)


def archive(tmp_path: Path, name: str, c_source: str) -> Path:
    src = tmp_path / f"{name}.c"
    src.write_text(c_source)
    obj = tmp_path / f"{name}.o"
    subprocess.run(["cc", "-fPIC", "-c", str(src), "-o", str(obj)], check=True)
    lib = tmp_path / f"lib{name}.a"
    subprocess.run(["ar", "rcs", str(lib), str(obj)], check=True)
    return lib


def test_link_lines_become_compiler_arguments() -> None:
    assert link_arguments(
        [
            "cargo:rustc-link-search=native=/a/lib",
            "cargo:rustc-link-lib=static:-bundle=ssl",
            "cargo:rustc-link-lib=static:+whole-archive,-bundle=python3",
            "cargo:rustc-link-lib=dylib:+verbatim=libpython3.11.so.1.0",
            "cargo:rustc-link-lib=framework=CoreFoundation",
            "cargo:rustc-link-lib=m",
            "cargo:rustc-link-arg=-Wl,--export-dynamic",
        ]
    ) == [
        "-L/a/lib",
        "-Wl,-Bstatic",
        "-lssl",
        "-Wl,-Bdynamic",
        "-Wl,-Bstatic",
        "-Wl,--whole-archive",
        "-lpython3",
        "-Wl,--no-whole-archive",
        "-Wl,-Bdynamic",
        "-l:libpython3.11.so.1.0",
        "-lm",
        "-Wl,--export-dynamic",
    ]


def test_debians_311_pic_archive_passes_and_the_verdict_is_cached(tmp_path: Path) -> None:
    lines = [f"cargo:rustc-link-lib={name}" for name in DEBIAN_LIBS] + ["cargo:rustc-link-arg=-Wl,--export-dynamic"]
    assert check_static_libpython(DEBIAN_311_PIC, lines, target_triple=TRIPLE, cache_dir=tmp_path) is None
    assert (tmp_path / CHECK_FILENAME).is_file()
    plan = plan_link(debian_311(), "default", artifacts_dir=tmp_path / "art")
    assert plan.mode == "static"


def test_missing_system_library_static_is_an_error_default_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dist = debian_311(extra_libs=("pyoxidizer_py_absent",))
    with pytest.raises(BuildError) as info:
        plan_link(dist, "static", artifacts_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(
        f"static linking of libpython was requested, but the static libpython {DEBIAN_311_PIC} "
        f"of {DEBIAN_311} cannot be linked into an executable: it needs the system library "
        "-lpyoxidizer_py_absent, which the linker cannot find"
    )
    assert "\n" not in message and info.value.hint and "dynamic" in info.value.hint
    with caplog.at_level(logging.WARNING, logger="pyoxidizer_py"):
        plan = plan_link(dist, "default", artifacts_dir=tmp_path)
    assert plan.mode == "dynamic" and plan.runtime_files
    notes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("note:")]
    assert len(notes) == 1 and "-lpyoxidizer_py_absent" in notes[0]
    assert notes[0].startswith("note: linking libpython dynamically: the static libpython ")
    # Without a shared libpython there is nothing to fall back to: an error in default mode too.
    with pytest.raises(BuildError, match="has no shared libpython, and its static libpython"):
        plan_link(dataclasses.replace(dist, shared_library=None), "default", artifacts_dir=tmp_path)


def test_undefined_symbols_are_named(tmp_path: Path) -> None:
    hacl = archive(
        tmp_path,
        "hacl",
        "void _Py_LibHacl_Hash_SHA2_update(void);\nvoid use(void) { _Py_LibHacl_Hash_SHA2_update(); }\n",
    )
    why = check_static_libpython(hacl, [], target_triple=TRIPLE)
    assert why == (
        "it leaves 1 symbol undefined that no library on its link line provides "
        "(_Py_LibHacl_Hash_SHA2_update); the archive holds the hashlib modules but not the HACL* objects "
        "they call, a known gap of Debian's static libpython for 3.12+ (python/cpython#131298)"
    )
    other = archive(
        tmp_path,
        "other",
        "void a1(void); void a2(void); void a3(void); void a4(void);\nvoid use(void) { a1(); a2(); a3(); a4(); }\n",
    )
    assert check_static_libpython(other, [], target_triple=TRIPLE) == (
        "it leaves 4 symbols undefined that no library on its link line provides (a1, a2, a3 and 1 more)"
    )
    # Not checked for a foreign target (the linker here cannot answer for it).
    assert check_static_libpython(other, [], target_triple="aarch64-unknown-linux-gnu") is None


def test_llvm_bitcode_members_are_refused(tmp_path: Path) -> None:
    member = tmp_path / "abstract.o"
    member.write_bytes(b"BC\xc0\xde" + bytes(60))
    lib = tmp_path / "libpython3.11.a"
    subprocess.run(["ar", "rcS", str(lib), str(member)], check=True)
    assert archive_has_bitcode(lib) and not archive_has_bitcode(DEBIAN_311_PIC)
    with pytest.raises(BuildError, match="cannot be linked into an executable: its object files are LLVM bitcode"):
        plan_link(debian_311(library=lib), "static", artifacts_dir=tmp_path)


def test_installed_cpython_must_match_the_requested_version(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PYOXIDIZER_PY_DISTRIBUTION", str(DEBIAN_311))
    request = DistributionRequest(kind="default", python_version="3.12")
    with pytest.raises(DistributionError) as info:
        resolve_request(request, target_triple=TRIPLE)
    version = installed_distribution(DEBIAN_311).version
    assert str(info.value) == (
        f"the Python distribution {DEBIAN_311} (from PYOXIDIZER_PY_DISTRIBUTION) is CPython "
        f"{version} ({TRIPLE}), but Python 3.12 was requested"
    )
    with pytest.raises(DistributionError, match=r"but Python 3\.11t was requested"):
        resolve_request(DistributionRequest(kind="default", python_version="3.11t"), target_triple=TRIPLE)
    with pytest.raises(DistributionError, match="but target aarch64-unknown-linux-gnu was requested"):
        resolve_request(
            DistributionRequest(kind="default", python_version="3.11"), target_triple="aarch64-unknown-linux-gnu"
        )
    assert resolve_request(DistributionRequest(kind="default", python_version="3.11"), target_triple=TRIPLE)
    assert resolve_request(DistributionRequest(kind="default"), target_triple=TRIPLE)  # any version will do
    # Chosen explicitly for this command: one warning, and it is used.
    with caplog.at_level(logging.WARNING, logger="pyoxidizer_py"):
        dist = resolve_request(request, target_triple=TRIPLE, override=str(DEBIAN_311))
    assert dist.major_minor == "3.11"
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        f"warning: the Python distribution {DEBIAN_311} (from --python-distribution) is CPython "
        f"{version} ({TRIPLE}), but Python 3.12 was requested; using it as given"
    ]


def test_free_threaded_pyo3_config(tmp_path: Path) -> None:
    from pyoxidizer_py.artifacts.pyo3_config import render_pyo3_config

    dist = dataclasses.replace(installed_distribution(DEBIAN_311), major_minor="3.14", version="3.14.9", abiflags="t")
    text = render_pyo3_config(dist, plan_link(dist, "dynamic", artifacts_dir=tmp_path))
    assert "version=3.14\n" in text and "lib_name=python3.14t\n" in text
    assert "build_flags=Py_GIL_DISABLED\n" in text and "shared=true\n" in text


def test_config_asking_for_314t_with_an_installed_311_is_one_error(tmp_path: Path) -> None:
    import os
    import sys

    from cli_helpers import one_error_line

    (tmp_path / "pyoxidizer.bzl").write_text(
        "def make_exe():\n"
        "    dist = default_python_distribution(python_version = '3.14t')\n"
        "    return dist.to_python_executable(name = 'ft')\n"
        "register_target('exe', make_exe, default = True)\nresolve_targets()\n"
    )
    env = {**os.environ, "PYOXIDIZER_PY_DISTRIBUTION": str(DEBIAN_311)}
    result = subprocess.run(
        [sys.executable, "-m", "pyoxidizer_py", "build", "--path", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    line = one_error_line(result)
    version = installed_distribution(DEBIAN_311).version
    assert f"(from PYOXIDIZER_PY_DISTRIBUTION) is CPython {version} ({TRIPLE}), but Python 3.14t was requested" in line
