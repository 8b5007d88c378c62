"""The Rust target triple of the machine running pyoxidizer-py (one definition for every stage)."""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["host_triple"]


def host_triple() -> str:
    """The Rust target triple of this machine (the default build target and catalog key).

    Returns:
        For example ``x86_64-unknown-linux-gnu``, ``aarch64-apple-darwin`` or
        ``x86_64-pc-windows-msvc``; ``*-linux-musl`` when the C library is musl.
    """
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i386": "i686", "x86": "i686"}.get(
        machine, machine
    )
    if sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    if sys.platform == "win32":
        return f"{arch}-pc-windows-msvc"
    if sys.platform.startswith("linux"):
        musl = platform.libc_ver()[0] != "glibc" and os.path.exists(f"/lib/ld-musl-{arch}.so.1")
        return f"{arch}-unknown-linux-{'musl' if musl else 'gnu'}"
    return f"{arch}-unknown-{sys.platform}"
