"""Rust target triples: the host's, and the mapping from CPython platform names."""

from __future__ import annotations

import platform
import sys

__all__ = ["host_triple"]


def host_triple() -> str:
    """The Rust target triple of this machine (PyOxidizer's default build target).

    Returns:
        For example ``x86_64-unknown-linux-gnu``, ``aarch64-apple-darwin`` or
        ``x86_64-pc-windows-msvc``. musl hosts map to ``*-linux-gnu`` as PyOxidizer did.
    """
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        return f"{arch}-unknown-linux-gnu"
    if sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    if sys.platform == "win32":
        return f"{arch}-pc-windows-msvc"
    return f"{arch}-unknown-{sys.platform}"
