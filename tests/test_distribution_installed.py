"""Installed-CPython distributions: introspection of every CPython on the machine, errors, static linking."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pyoxidizer_py.distribution.elf import archive_is_pic, needed_libraries
from pyoxidizer_py.distribution.installed import (
    introspect_installed,
    resolve_distribution_spec,
    rust_target_triple,
    static_link_libraries,
)
from pyoxidizer_py.errors import DistributionError

PYENV = Path("/root/.pyenv/versions")
PYTHONS = {
    "3.10": PYENV / "3.10.13/bin/python",
    "3.11": PYENV / "3.11.7/bin/python",
    "debian-3.11": Path("/usr/bin/python3.11"),
}


def _run(python: Path, code: str) -> str:
    return subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("key", sorted(PYTHONS))
def test_introspect_machine_cpython(key: str) -> None:
    python = PYTHONS[key]
    dist = introspect_installed(python)
    assert dist.origin == "installed"
    assert dist.python_exe == python
    assert dist.version == _run(python, "import platform; print(platform.python_version())")
    assert dist.major_minor == key.rsplit("-", 1)[-1]
    assert dist.target_triple == "x86_64-unknown-linux-gnu"
    assert dist.cache_tag == f"cpython-{dist.major_minor.replace('.', '')}"
    assert dist.bytecode_magic.hex() == _run(python, "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())")
    assert dist.extension_suffixes[0] == f".cpython-{dist.major_minor.replace('.', '')}-x86_64-linux-gnu.so"
    assert (dist.stdlib_dir / "os.py").is_file()
    assert dist.lib_dynload_dir is not None
    assert any(dist.lib_dynload_dir.glob("_ssl.*.so"))
    assert (dist.include_dir / "Python.h").is_file()
    # Shared libpython resolved to the real SONAME file.
    assert dist.shared_library is not None
    assert dist.shared_library.name == f"libpython{dist.major_minor}.so.1.0"
    assert not dist.shared_library.is_symlink()
    # A PIC static libpython exists for every CPython on this machine.
    assert dist.static_library is not None
    assert archive_is_pic(dist.static_library) is True
    assert {"m", "dl", "pthread", "util"} <= set(dist.static_link_libraries)
    assert "sys" in dist.builtin_extensions
    assert dist.license_text
    assert "PYTHON SOFTWARE FOUNDATION" in dist.license_text


def test_debian_static_library_is_the_pic_archive() -> None:
    dist = introspect_installed(PYTHONS["debian-3.11"])
    assert dist.static_library is not None
    assert dist.static_library.name == "libpython3.11-pic.a"
    # Debian's plain libpython3.11.a is not position independent: never chosen.
    plain = dist.static_library.with_name("libpython3.11.a")
    assert archive_is_pic(plain) is False
    # zlib and pyexpat are built into Debian's libpython: their libraries are needed.
    assert {"z", "expat"} <= set(dist.static_link_libraries)
    assert {"zlib", "pyexpat"} <= set(dist.builtin_extensions)


@pytest.mark.parametrize("key", ["3.10", "debian-3.11"])
def test_static_library_links_into_pie_executable(key: str, tmp_path: Path) -> None:
    dist = introspect_installed(PYTHONS[key])
    assert dist.static_library is not None
    main_c = tmp_path / "main.c"
    main_c.write_text(
        "#include <Python.h>\n"
        "int main(void) { Py_Initialize();\n"
        "  PyRun_SimpleString(\"import sys, zlib, _ctypes; print('embedded', sys.version_info[:2])\");\n"
        "  return Py_FinalizeEx(); }\n"
    )
    exe = tmp_path / "embedded"
    cmd = [
        "gcc",
        "-pie",
        "-fPIE",
        "-o",
        str(exe),
        str(main_c),
        f"-I{dist.include_dir}",
        str(dist.static_library),
        "-Wl,--export-dynamic",
        *(f"-l{lib}" for lib in dist.static_link_libraries),
    ]
    link = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert link.returncode == 0, link.stderr
    assert "libpython" not in " ".join(needed_libraries(exe))
    run = subprocess.run(
        [str(exe)],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONHOME": str(dist.prefix), "PATH": os.environ.get("PATH", "")},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"embedded ({dist.version_tuple[0]}, {dist.version_tuple[1]})"


def test_host_spec_is_the_running_interpreter() -> None:
    import sys

    dist = resolve_distribution_spec("host")
    assert dist.description == "host"
    assert dist.python_exe == Path(sys.executable)
    assert dist.major_minor == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_path_spec() -> None:
    dist = resolve_distribution_spec(str(PYTHONS["3.10"]))
    assert dist.major_minor == "3.10"
    assert dist.description == str(PYTHONS["3.10"])


@pytest.mark.parametrize(
    ("python", "expected"),
    [
        (PYENV / "2.7.18/bin/python", "CPython 2.7.18 is too old; CPython 3.10 or newer is required"),
        (PYENV / "3.9.18/bin/python", "CPython 3.9.18 is too old; CPython 3.10 or newer is required"),
    ],
)
def test_old_cpython_rejected(python: Path, expected: str) -> None:
    with pytest.raises(DistributionError) as info:
        introspect_installed(python)
    assert str(info.value) == f"{python}: {expected}"


def test_non_python_executable_rejected(tmp_path: Path) -> None:
    script = tmp_path / "python3"
    script.write_text("#!/bin/sh\necho not python\n")
    script.chmod(0o755)
    with pytest.raises(DistributionError, match=r"python3: not a Python interpreter"):
        introspect_installed(script)


def test_non_executable_file_rejected(tmp_path: Path) -> None:
    data = tmp_path / "notes.txt"
    data.write_text("hello\n")
    with pytest.raises(DistributionError) as info:
        resolve_distribution_spec(str(data))
    assert str(info.value) == f"{data}: not executable"


def test_missing_path_rejected(tmp_path: Path) -> None:
    with pytest.raises(DistributionError) as info:
        resolve_distribution_spec(str(tmp_path / "nope" / "python"))
    assert str(info.value) == f"{tmp_path / 'nope' / 'python'}: no such Python executable"


@pytest.mark.parametrize("spec", ["cpython-3.11.tar.zst", "https://example.invalid/python.tar.zst"])
def test_archive_specs_are_not_for_this_resolver(spec: str) -> None:
    with pytest.raises(DistributionError, match="python-build-standalone archives"):
        resolve_distribution_spec(spec)


@pytest.mark.parametrize(
    ("platform", "machine", "multiarch", "bits", "triple"),
    [
        ("linux-x86_64", "x86_64", "x86_64-linux-gnu", 64, "x86_64-unknown-linux-gnu"),
        ("linux-x86_64", "x86_64", "x86_64-linux-musl", 64, "x86_64-unknown-linux-musl"),
        ("linux-aarch64", "aarch64", "aarch64-linux-gnu", 64, "aarch64-unknown-linux-gnu"),
        ("linux-x86_64", "x86_64", "i386-linux-gnu", 32, "i686-unknown-linux-gnu"),
        ("macosx-11.0-arm64", "arm64", "", 64, "aarch64-apple-darwin"),
        ("macosx-10.9-x86_64", "x86_64", "", 64, "x86_64-apple-darwin"),
        ("win-amd64", "AMD64", "", 64, "x86_64-pc-windows-msvc"),
    ],
)
def test_rust_target_triple(platform: str, machine: str, multiarch: str, bits: int, triple: str) -> None:
    assert rust_target_triple(platform, machine, multiarch, bits) == triple


def test_static_link_libraries_parsing() -> None:
    config = {"LIBS": "-ldl -L/opt/lib -Wl,-rpath,/opt/lib", "SYSLIBS": "-lm", "MODLIBS": "-lz  -lexpat -lz"}
    assert static_link_libraries(config, "x86_64-unknown-linux-gnu") == ("dl", "m", "z", "expat", "pthread", "util")
