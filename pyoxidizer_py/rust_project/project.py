"""Render ``templates/`` into a Rust project directory.

A project holds ``Cargo.toml`` (written here with tomlkit, edition pinned),
``build.rs``, ``src/main.rs``, ``.cargo/config.toml`` and the runtime crate copied
into ``pyembed/`` as a path dependency. Rendering is idempotent: a file whose
content is unchanged is not rewritten, so its mtime stays and cargo does not
rebuild anything when only Python resources changed.

Templates are found in ``pyoxidizer_py/_templates`` inside an installed wheel
(pyproject force-includes the top-level ``templates/`` there), else in
``<repo>/templates`` of a source checkout.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed, write_text_if_changed
from pyoxidizer_py.errors import BuildError

__all__ = [
    "BUILD_MODE_FEATURES",
    "GLOBAL_ALLOCATOR_FEATURES",
    "PYTHON_ALLOCATOR_FEATURES",
    "RUNTIME_CRATE_DIR",
    "RustProject",
    "render_cargo_toml",
    "render_project",
    "templates_dir",
]

_log = logging.getLogger(__name__)

RUST_EDITION = "2021"
RUNTIME_CRATE_DIR = "pyembed"
"""Directory of the runtime crate inside a generated project."""

BUILD_MODE_FEATURES = ("build-mode-standalone", "build-mode-pyoxidizer-exe", "build-mode-prebuilt-artifacts")
GLOBAL_ALLOCATOR_FEATURES = ("global-allocator-jemalloc", "global-allocator-mimalloc", "global-allocator-snmalloc")
PYTHON_ALLOCATOR_FEATURES = ("allocator-jemalloc", "allocator-mimalloc", "allocator-snmalloc")

# Optional dependencies behind the global-allocator-* features: (dependency key, table).
_ALLOCATOR_DEPENDENCIES: tuple[tuple[str, dict[str, object]], ...] = (
    ("jemallocator", {"package": "tikv-jemallocator", "version": "0.7", "optional": True}),
    ("mimalloc", {"version": "0.1", "optional": True, "default-features": False}),
    ("snmalloc-rs", {"version": "0.7", "optional": True}),
)

# Cargo rejects these package names (keywords and the names of built-in crates).
_RESERVED_NAMES = frozenset({
    "alloc", "core", "proc_macro", "proc-macro", "std", "test", "pyembed", "build", "deps",
    "examples", "incremental", "as", "break", "const", "continue", "crate", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do",
    "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
})
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

_SKIP_NAMES = frozenset({"__pycache__", "target", "Cargo.lock", ".DS_Store"})


@dataclass(frozen=True, kw_only=True, slots=True)
class RustProject:
    """A generated Rust project.

    Attributes:
        path: the project directory (absolute).
        name: package and binary name (the executable's name).
        manifest_path: ``<path>/Cargo.toml``.
        changed: files (relative to ``path``) written by this render because they
            were new or different; empty when the project was already up to date.
        removed: runtime-crate files deleted because the templates no longer have them.
    """

    path: Path
    name: str
    manifest_path: Path
    changed: tuple[str, ...]
    removed: tuple[str, ...] = ()


def templates_dir() -> Path:
    """The directory holding ``project/`` and ``pyembed/`` templates.

    Returns:
        ``pyoxidizer_py/_templates`` when present (installed wheel), else the
        source checkout's top-level ``templates/``.

    Raises:
        BuildError: neither exists (a broken installation).
    """
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir / "_templates", package_dir.parent / "templates"):
        if (candidate / "project").is_dir() and (candidate / RUNTIME_CRATE_DIR).is_dir():
            return candidate
    raise BuildError(
        f"pyoxidizer-py's Rust templates were not found (looked in {package_dir / '_templates'} "
        f"and {package_dir.parent / 'templates'})",
        hint="reinstall pyoxidizer-py",
    )


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name) or name.lower() in _RESERVED_NAMES:
        raise BuildError(
            f"{name!r} cannot be used as the executable's name in the generated Rust project",
            hint="use a name made of letters, digits, '-' and '_', starting with a letter, "
            "that is not a Rust keyword or the name of a built-in crate",
        )


def render_cargo_toml(name: str) -> str:
    """Render the project's ``Cargo.toml``.

    Args:
        name: package and binary name.

    Returns:
        The TOML text: package (edition pinned), one bin, the runtime crate as a path
        dependency, optional allocator crates, the build-mode and allocator features,
        and an empty ``[workspace]`` so the project is its own workspace.

    Raises:
        BuildError: ``name`` is not usable as a Cargo package name.
    """
    _check_name(name)
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Generated by pyoxidizer-py. You may edit it; `pyoxidizer-py build` rewrites it"))
    doc.add(tomlkit.comment("for its own projects under the build directory."))
    package = tomlkit.table()
    package["name"] = name
    package["version"] = "0.1.0"
    package["edition"] = RUST_EDITION
    package["publish"] = False
    package["build"] = "build.rs"
    doc["package"] = package

    bins = tomlkit.aot()
    bin_table = tomlkit.table()
    bin_table["name"] = name
    bin_table["path"] = "src/main.rs"
    bins.append(bin_table)
    doc["bin"] = bins

    deps = tomlkit.table()
    runtime = tomlkit.inline_table()
    runtime.update({"path": RUNTIME_CRATE_DIR, "default-features": False})
    deps["pyembed"] = runtime
    for key, spec in _ALLOCATOR_DEPENDENCIES:
        t = tomlkit.inline_table()
        t.update(spec)
        deps[key] = t
    doc["dependencies"] = deps

    features = tomlkit.table()
    features["default"] = ["build-mode-standalone"]
    for mode in BUILD_MODE_FEATURES:
        features[mode] = []
    for feature, (dep, _) in zip(GLOBAL_ALLOCATOR_FEATURES, _ALLOCATOR_DEPENDENCIES, strict=True):
        features[feature] = [f"dep:{dep}"]
    for feature in PYTHON_ALLOCATOR_FEATURES:
        features[feature] = [f"pyembed/{feature}"]
    doc["features"] = features

    doc["workspace"] = tomlkit.table()
    return tomlkit.dumps(doc)


def _template_files(root: Path) -> list[Path]:
    """Files under ``root`` (relative paths), skipping caches, build output and lock files."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_NAMES)
        for fn in sorted(filenames):
            if fn not in _SKIP_NAMES and not fn.endswith((".pyc", "~")):
                out.append(Path(dirpath, fn).relative_to(root))
    return out


def render_project(project_dir: Path, *, name: str, pyoxidizer_bzl: str | None = None) -> RustProject:
    """Create or update a Rust project in ``project_dir``.

    Only files whose content differs are written (atomically); the runtime crate in
    ``<project_dir>/pyembed`` is kept identical to the templates (stale files removed).

    Args:
        project_dir: the project directory (created if missing).
        name: package and binary name (the executable's name).
        pyoxidizer_bzl: text for ``<project_dir>/pyoxidizer.bzl``, or None to leave it alone.

    Returns:
        The RustProject.

    Raises:
        BuildError: a bad name, missing templates, or files that cannot be written.
    """
    project_dir = Path(os.path.abspath(project_dir))
    templates = templates_dir()
    changed: list[str] = []
    removed: list[str] = []

    def put(rel: Path, data: bytes, mode: int | None = None) -> None:
        if write_bytes_if_changed(project_dir / rel, data, mode=mode):
            changed.append(rel.as_posix())

    try:
        put(Path("Cargo.toml"), render_cargo_toml(name).encode("utf-8"))
        for rel in _template_files(templates / "project"):
            put(rel, (templates / "project" / rel).read_bytes())
        runtime_src = templates / RUNTIME_CRATE_DIR
        wanted = set()
        for rel in _template_files(runtime_src):
            wanted.add(rel)
            put(Path(RUNTIME_CRATE_DIR) / rel, (runtime_src / rel).read_bytes())
        runtime_dst = project_dir / RUNTIME_CRATE_DIR
        for rel in _template_files(runtime_dst):
            if rel not in wanted:
                (runtime_dst / rel).unlink()
                removed.append((Path(RUNTIME_CRATE_DIR) / rel).as_posix())
        if pyoxidizer_bzl is not None and write_text_if_changed(project_dir / "pyoxidizer.bzl", pyoxidizer_bzl):
            changed.append("pyoxidizer.bzl")
    except OSError as e:
        raise BuildError(f"cannot write the Rust project {project_dir}: {e}") from e
    if changed:
        _log.info("Rust project %s: wrote %s", project_dir, ", ".join(changed))
    else:
        _log.debug("Rust project %s is up to date", project_dir)
    return RustProject(
        path=project_dir,
        name=name,
        manifest_path=project_dir / "Cargo.toml",
        changed=tuple(changed),
        removed=tuple(removed),
    )
