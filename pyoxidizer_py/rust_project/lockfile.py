"""The generated project's ``Cargo.lock``: the same crate versions for every build.

Without a lock file cargo resolves the newest matching crate versions from the registry
index at the first build, so two builds a month apart link different crates. pyoxidizer-py
ships a lock file (``templates/lock/Cargo.lock``) resolved for a project whose package is
named ``pyoxidizer-py-app``; ``render_lockfile`` renames that package to the executable's
name, keeping cargo's order of packages (by name, then version: cargo book, "Cargo.lock"),
and ``render_project`` writes the result beside ``Cargo.toml``. Cargo keeps locked versions
that still satisfy the manifests, so a build only resolves anew what the templates added.

After changing the runtime crate's or the project's dependencies, refresh the shipped lock
from a source checkout::

    python -m pyoxidizer_py.rust_project.lockfile            # resolve only what changed
    python -m pyoxidizer_py.rust_project.lockfile --upgrade  # newest versions of everything
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from pyoxidizer_py.templates_dir import templates_dir

__all__ = ["LOCK_PLACEHOLDER_NAME", "lock_template_path", "refresh_lock_template", "render_lockfile"]

LOCK_PLACEHOLDER_NAME = "pyoxidizer-py-app"
"""The root package's name in the shipped lock file."""

_PACKAGE_HEADER = "[[package]]\n"


def lock_template_path() -> Path:
    """The shipped lock file (``templates/lock/Cargo.lock``)."""
    return templates_dir() / "lock" / "Cargo.lock"


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    parts: list[tuple[int, int | str]] = []
    for piece in re.split(r"[.+-]", version):
        parts.append((0, int(piece)) if piece.isdigit() else (1, piece))
    return tuple(parts)


def _field(block: str, key: str) -> str:
    match = re.search(rf'^{key} = "([^"]*)"$', block, re.MULTILINE)
    return match.group(1) if match else ""


def render_lockfile(name: str, template: str | None = None) -> str:
    """The lock file for a generated project whose package is ``name``.

    Args:
        name: the project's package name (already validated by ``render_cargo_toml``).
        template: lock text with a root package named ``LOCK_PLACEHOLDER_NAME``
            (default: the shipped ``templates/lock/Cargo.lock``).

    Returns:
        The lock text with the root package renamed and the packages re-sorted by name and version.

    Raises:
        OSError: the shipped lock file cannot be read.
        ValueError: the template has no root package named ``LOCK_PLACEHOLDER_NAME``.
    """
    text = lock_template_path().read_text(encoding="utf-8") if template is None else template
    head, *blocks = text.split("\n" + _PACKAGE_HEADER)
    placeholder = f'name = "{LOCK_PLACEHOLDER_NAME}"\n'
    if not any(block.startswith(placeholder) for block in blocks):
        raise ValueError(f"the lock template has no package named {LOCK_PLACEHOLDER_NAME!r}")
    renamed = [
        f'name = "{name}"\n' + block[len(placeholder) :] if block.startswith(placeholder) else block for block in blocks
    ]
    normalized = [block if block.endswith("\n") else block + "\n" for block in renamed]
    normalized.sort(key=lambda b: (_field(b, "name"), _version_key(_field(b, "version")), _field(b, "source")))
    return head + "\n" + "\n".join(_PACKAGE_HEADER + block for block in normalized)


def refresh_lock_template(*, upgrade: bool = False) -> Path:
    """Re-resolve the shipped lock file against the current templates (source checkouts only).

    Args:
        upgrade: resolve every crate to its newest matching version (``cargo generate-lockfile``)
            instead of changing only what the manifests no longer satisfy (``cargo metadata``).

    Returns:
        The lock file's path.

    Raises:
        subprocess.CalledProcessError: cargo failed.
        OSError: files cannot be written.
    """
    from pyoxidizer_py.rust_project.project import render_project

    target = lock_template_path()
    with tempfile.TemporaryDirectory(prefix="pyoxidizer-py-lock-") as tmp:
        project = render_project(Path(tmp) / LOCK_PLACEHOLDER_NAME, name=LOCK_PLACEHOLDER_NAME)
        manifest = str(project.manifest_path)
        if upgrade:
            subprocess.run(["cargo", "generate-lockfile", "--manifest-path", manifest], check=True)
        else:
            subprocess.run(
                ["cargo", "metadata", "--format-version", "1", "--manifest-path", manifest],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        target.write_text((project.path / "Cargo.lock").read_text(encoding="utf-8"), encoding="utf-8")
    return target


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyoxidizer_py.rust_project.lockfile",
        description="Refresh templates/lock/Cargo.lock, the lock file of generated Rust projects.",
    )
    parser.add_argument("--upgrade", action="store_true", help="newest matching versions of every crate")
    ns = parser.parse_args(argv)
    print(refresh_lock_template(upgrade=ns.upgrade))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
