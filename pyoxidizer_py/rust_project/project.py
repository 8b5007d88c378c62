"""Render ``templates/`` into a Rust project directory.

A project holds ``Cargo.toml`` (written here with tomlkit, edition pinned), the
``Cargo.lock`` pyoxidizer-py ships (``rust_project.lockfile``), ``build.rs``,
``src/main.rs``, ``.cargo/config.toml`` and the runtime crate copied
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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from pyoxidizer_py.artifacts.atomic_write import write_bytes_if_changed, write_text_if_changed
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.rust_project.lockfile import render_lockfile
from pyoxidizer_py.templates_dir import templates_dir

__all__ = [
    "BUILD_MODE_FEATURES",
    "FIRST_BUILD_PLACEHOLDER",
    "GLOBAL_ALLOCATOR_FEATURES",
    "PYTHON_ALLOCATOR_FEATURES",
    "RELEASE_STRIP",
    "RUNTIME_CRATE_DIR",
    "RustProject",
    "init_rust_project",
    "persistent_distribution_spec",
    "record_distribution",
    "render_cargo_toml",
    "render_init_readme",
    "render_project",
    "templates_dir",
]

_log = logging.getLogger(__name__)

RUST_EDITION = "2021"
RELEASE_STRIP = "symbols"
"""``[profile.release] strip`` of generated projects (https://doc.rust-lang.org/cargo/reference/profiles.html#strip)."""
RUNTIME_CRATE_DIR = "pyembed"
"""Directory of the runtime crate inside a generated project."""

BUILD_MODE_FEATURES = ("build-mode-standalone", "build-mode-pyoxidizer-exe", "build-mode-prebuilt-artifacts")
GLOBAL_ALLOCATOR_FEATURES = ("global-allocator-jemalloc", "global-allocator-mimalloc", "global-allocator-snmalloc")
PYTHON_ALLOCATOR_FEATURES = ("allocator-jemalloc", "allocator-mimalloc", "allocator-snmalloc")

# Optional dependencies behind the global-allocator-* features: (dependency key, table). Their -sys
# crates (tikv-jemalloc-sys 0.7, libmimalloc-sys 0.1, snmalloc-sys 0.7) are the runtime crate's
# allocator-* dependencies too: keep the majors in step so Cargo links one copy of each C library
# (the key `jemallocator` is the name templates/project/src/main.rs uses).
_ALLOCATOR_DEPENDENCIES: tuple[tuple[str, dict[str, object]], ...] = (
    ("jemallocator", {"package": "tikv-jemallocator", "version": "0.7", "optional": True}),
    ("mimalloc", {"version": "0.1", "optional": True, "default-features": False}),
    ("snmalloc-rs", {"version": "0.7", "optional": True}),
)

# Cargo rejects these package names (keywords and the names of built-in crates).
_RESERVED_NAMES = frozenset(
    {
        "alloc",
        "core",
        "proc_macro",
        "proc-macro",
        "std",
        "test",
        "pyembed",
        "build",
        "deps",
        "examples",
        "incremental",
        "as",
        "break",
        "const",
        "continue",
        "crate",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "async",
        "await",
        "dyn",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "macro",
        "override",
        "priv",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "try",
    }
)
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


def program_name(text: str) -> str:
    """Turn ``text`` (a directory's name, say ``my app``) into a usable executable and Cargo package name.

    Cargo package names are ASCII letters, digits, ``-`` and ``_``, starting with a letter, and not a
    Rust keyword or a built-in crate's name (https://doc.rust-lang.org/cargo/reference/manifest.html#the-name-field;
    ``cargo new`` refuses the rest). Accents are dropped (``café`` -> ``cafe``, Unicode NFKD), every
    other run of characters becomes one ``-``, a name starting with a digit gets an ``app-`` prefix, a
    reserved name an ``-app`` suffix, and nothing usable at all becomes ``app``.

    Args:
        text: any string.

    Returns:
        ``text`` itself when it is already usable, else the name made from it.
    """
    if _NAME_RE.match(text) and text.lower() not in _RESERVED_NAMES:
        return text
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text).strip("-_")
    if not name:
        return "app"
    if not name[0].isalpha():
        name = f"app-{name}"
    if name.lower() in _RESERVED_NAMES:
        name = f"{name}-app"
    return name


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
        a release profile that strips symbols (``RELEASE_STRIP``), and an empty
        ``[workspace]`` so the project is its own workspace.

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
    features["default"] = ["build-mode-pyoxidizer-exe"]
    for mode in BUILD_MODE_FEATURES:
        features[mode] = []
    for feature, (dep, _) in zip(GLOBAL_ALLOCATOR_FEATURES, _ALLOCATOR_DEPENDENCIES, strict=True):
        features[feature] = [f"dep:{dep}"]
    for feature in PYTHON_ALLOCATOR_FEATURES:
        features[feature] = [f"pyembed/{feature}"]
    doc["features"] = features

    # Release executables carry no symbol table or debug info (a third of a hello's size with a static
    # libpython); the dynamic symbol table that extension modules link against is kept. Debug builds
    # keep everything. CARGO_PROFILE_RELEASE_STRIP=false in the environment keeps the symbols
    # (Cargo's profile environment variables win over Cargo.toml).
    profile = tomlkit.table(is_super_table=True)
    release = tomlkit.table()
    release["strip"] = RELEASE_STRIP
    profile["release"] = release
    doc["profile"] = profile

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
        put(Path("Cargo.lock"), render_lockfile(name).encode("utf-8"))
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


def render_init_readme(name: str) -> str:
    """Render the ``README.md`` of a project made by ``init-rust-project``.

    Args:
        name: the program (package) name.

    Returns:
        Markdown text saying how to build the project with cargo and with pyoxidizer-py.
    """
    import jinja2

    from pyoxidizer_py import __version__

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "init")),
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("README.md.j2").render(name=name, version=__version__)


# What ``artifacts/pyo3-build-config-file.txt`` holds until ``run-build-script`` writes the real one.
# PyO3's build script reads that file before this project's build.rs can run; without it a first
# ``cargo build`` fails inside pyo3-ffi with "failed to open PyO3 config file". PyO3 reports a value
# it cannot parse by quoting it, so this value is the instruction the user then sees.
FIRST_BUILD_PLACEHOLDER = (
    "version=run `pyoxidizer-py run-build-script build.rs` in this project once before the first "
    "`cargo build` (it writes this file)\n"
)


def persistent_distribution_spec(spec: str, cwd: Path) -> str:
    """The form of a ``--python-distribution`` SPEC that means the same from any directory.

    Args:
        spec: ``host``, a URL, or a path (python executable or archive) as the user typed it.
        cwd: the directory a relative path was given in.

    Returns:
        ``spec`` itself, except an existing relative path, which becomes absolute.
    """
    if spec == "host" or "://" in spec or os.path.isabs(spec) or not (cwd / spec).exists():
        return spec
    return str((cwd / spec).absolute())


def record_distribution(project_dir: Path, spec: str) -> bool:
    """Set ``PYOXIDIZER_PY_DISTRIBUTION`` in the ``[env]`` table of PROJECT_DIR's ``.cargo/config.toml``.

    Cargo sets ``[env]`` variables for build scripts unless the environment already has them
    (https://doc.rust-lang.org/cargo/reference/config.html#env), so a later plain ``cargo build``,
    whose ``build.rs`` runs ``pyoxidizer-py run-build-script``, embeds the same CPython as the
    run that recorded it, and a user's own ``PYOXIDIZER_PY_DISTRIBUTION`` still wins. Comments and
    other keys of the file are kept (tomlkit).

    Args:
        project_dir: the Rust project's directory.
        spec: the distribution spec to record, already in ``persistent_distribution_spec`` form.

    Returns:
        True when the file changed; False when it already held ``spec`` or does not exist.

    Raises:
        BuildError: the file is not valid TOML or cannot be written.
    """
    path = project_dir / ".cargo" / "config.toml"
    if not path.is_file():
        return False
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, tomlkit.exceptions.TOMLKitError) as e:
        raise BuildError(f"{path}: cannot record the Python distribution: {e}") from e
    env = doc.get("env")
    if env is None:
        env = tomlkit.table()
        doc["env"] = env
    env["PYOXIDIZER_PY_DISTRIBUTION"] = spec
    try:
        return write_text_if_changed(path, tomlkit.dumps(doc))
    except OSError as e:
        raise BuildError(f"cannot write {path}: {e}") from e


def init_rust_project(path: Path, *, pyoxidizer_bzl: str, name: str | None = None) -> RustProject:
    """Create a new Rust project for ``init-rust-project`` (no network access needed).

    Writes ``Cargo.toml`` (edition pinned), ``build.rs``, ``src/main.rs``,
    ``.cargo/config.toml``, the runtime crate in ``pyembed/``, ``pyoxidizer.bzl``,
    ``README.md`` and ``.gitignore``. The package name is ``name``, by default the directory's name.

    Args:
        path: the project directory; it must not exist or be empty.
        pyoxidizer_bzl: the config text to write.
        name: the package and executable name (default: ``path``'s last component).

    Returns:
        The RustProject.

    Raises:
        BuildError: ``path`` exists and is not an empty directory, its name is not a
            usable package name, or files cannot be written.
    """
    path = Path(os.path.abspath(path))
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BuildError(
            f"{path} already exists and is not an empty directory",
            hint="choose a new directory; init-rust-project never overwrites files",
        )
    name = name or path.name
    _check_name(name)
    project = render_project(path, name=name, pyoxidizer_bzl=pyoxidizer_bzl)
    try:
        write_text_if_changed(path / "README.md", render_init_readme(name))
        write_bytes_if_changed(path / ".gitignore", (templates_dir() / "init" / "gitignore").read_bytes())
        write_text_if_changed(path / "artifacts" / "pyo3-build-config-file.txt", FIRST_BUILD_PLACEHOLDER)
    except OSError as e:
        raise BuildError(f"cannot write the Rust project {path}: {e}") from e
    return project
