"""The Rust target triple of the machine running pyoxidizer-py (one definition for every stage)."""

from __future__ import annotations

import os
import sys

__all__ = ["host_triple"]


def host_triple() -> str:
    """The Rust target triple of this machine (the default build target and catalog key).

    Returns:
        For example ``x86_64-unknown-linux-gnu``, ``aarch64-apple-darwin`` or
        ``x86_64-pc-windows-msvc``; ``*-linux-musl`` when the C library is musl.
    """
    # os.uname() is what platform.machine() reads on POSIX, without importing platform (CLI start-up).
    machine = (os.uname().machine if hasattr(os, "uname") else _windows_machine()).lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i386": "i686", "x86": "i686"}.get(machine, machine)
    if sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    if sys.platform == "win32":
        return f"{arch}-pc-windows-msvc"
    if sys.platform.startswith("linux"):
        musl = os.path.exists(f"/lib/ld-musl-{arch}.so.1") and _libc() != "glibc"
        return f"{arch}-unknown-linux-{'musl' if musl else 'gnu'}"
    return f"{arch}-unknown-{sys.platform}"


def _windows_machine() -> str:
    import platform

    return platform.machine()


def _libc() -> str:
    import platform

    return platform.libc_ver()[0]
