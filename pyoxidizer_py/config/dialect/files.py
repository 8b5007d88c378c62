"""Dialect types for files: ``FileManifest``, ``FileContent`` and ``glob()`` (Tugger's, in PyOxidizer).

A ``FileManifest`` maps install-relative paths to file content. PyOxidizer's
``add_python_resource(prefix, exe)`` compiled the executable immediately; here
the executable is recorded and built when the manifest's target is built.
"""

from __future__ import annotations

import glob as globmod
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pyoxidizer_py.config.context import current_context
from pyoxidizer_py.config.dialect.base import (
    check_bool,
    check_list_of_str,
    check_optional_str,
    check_str,
    type_name,
)
from pyoxidizer_py.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = ["DeferredWrite", "FileContent", "FileEntry", "FileManifest", "check_filename", "defer_write", "glob"]


@dataclass(frozen=True, kw_only=True, slots=True)
class FileEntry:
    """One file of a manifest: bytes in ``data``, a file at ``source``, or output this
    machine cannot build (``unavailable`` says why; reading it raises ``BuildError``)."""

    data: bytes | None = None
    source: Path | None = None
    executable: bool = False
    unavailable: str | None = None

    def read(self) -> bytes:
        """The file's bytes.

        Raises:
            BuildError: the content comes from an object that builds only on another platform.
        """
        if self.unavailable is not None:
            from pyoxidizer_py.errors import BuildError

            raise BuildError(self.unavailable)
        if self.data is not None:
            return self.data
        assert self.source is not None
        return self.source.read_bytes()


@dataclass(frozen=True, kw_only=True, slots=True)
class DeferredWrite:
    """A file a config asked to write (``write_to_directory``); written when a target is built.

    Attributes:
        dest: absolute destination path.
        entry: the content.
    """

    dest: Path
    entry: FileEntry


def check_filename(fn: str, name: str) -> str:
    """Require a plain file name (no directory part, not ``.``/``..``), as ``add_file`` paths are checked.

    Raises:
        ValueError: naming the function and the bad name.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"{fn}(): filename must be a plain file name without directories, got {name!r}")
    return name


def defer_write(fn: str, path: Any, filename: str, entry: FileEntry) -> str:
    """Record that ``filename`` goes into directory ``path`` when a target is built.

    A relative ``path`` is relative to the build path and must stay inside it (checked
    like ``add_file`` paths); an absolute path is a destination the config names.
    Nothing is written during evaluation.

    Returns:
        The destination path (as PyOxidizer's ``write_to_directory`` returned it).

    Raises:
        ValueError: a relative path leaves the build path.
    """
    ctx = current_context()
    directory = check_str(fn, "path", path)
    if PurePosixPath(directory.replace("\\", "/")).is_absolute():
        dest = Path(directory) / filename
    else:
        rel = _norm(directory, fn)
        dest = ctx.build_path / rel / filename if rel else ctx.build_path / filename
    ctx.deferred_writes.append(DeferredWrite(dest=dest, entry=entry))
    return str(dest)


def _norm(path: str, fn: str) -> str:
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts:
        raise ValueError(f"{fn}(): path must be relative and stay inside the manifest: {path!r}")
    text = str(p)
    return "" if text == "." else text


class FileContent:
    """``FileContent(path=None, filename=None, content=None, executable=False)``: one file's content."""

    STARLARK_TYPE: ClassVar[str] = "FileContent"
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset({"executable", "filename"})
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset({"executable", "filename"})
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset({"write_to_directory"})

    def __init__(self, path: Any = None, filename: Any = None, content: Any = None, executable: Any = False) -> None:
        fn = "FileContent"
        check_optional_str(fn, "path", path)
        check_optional_str(fn, "filename", filename)
        if (path is None) == (content is None):
            raise ValueError("FileContent(): exactly one of path and content must be given")
        if content is not None and not isinstance(content, str):
            raise TypeError(f"FileContent(): content must be a string, got {type_name(content)}")
        source = current_context().resolve_path(path) if path is not None else None
        if source is not None and not source.is_file():
            raise ValueError(f"FileContent(): {source} is not a file")
        if filename is None:
            if source is None:
                raise ValueError("FileContent(): filename is required with content")
            filename = source.name
        check_filename(fn, filename)
        object.__setattr__(
            self,
            "entry",
            FileEntry(
                data=content.encode("utf-8") if content is not None else None,
                source=source,
                executable=check_bool(fn, "executable", executable),
            ),
        )
        object.__setattr__(self, "_filename", filename)

    def __getattr__(self, name: str) -> Any:
        if name == "executable":
            return self.entry.executable
        if name == "filename":
            return self._filename
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "executable":
            check_bool("FileContent", "executable", value)
            object.__setattr__(
                self, "entry", FileEntry(data=self.entry.data, source=self.entry.source, executable=value)
            )
        elif name == "filename":
            value = check_filename("FileContent", check_str("FileContent", "filename", value))
            object.__setattr__(self, "_filename", value)
        else:
            raise AttributeError(f"FileContent.{name} cannot be assigned")

    @classmethod
    def from_entry(cls, entry: FileEntry, filename: str) -> FileContent:
        """A ``FileContent`` for existing content (``get_file``, ``to_file_content``)."""
        fc = cls.__new__(cls)
        object.__setattr__(fc, "entry", entry)
        object.__setattr__(fc, "_filename", filename)
        return fc

    def write_to_directory(self, path: Any) -> str:
        """Write the file into directory ``path`` when the target is built (relative to the build
        path; nothing is written while the config evaluates). Returns the destination path."""
        return defer_write("write_to_directory", path, self._filename, self.entry)

    def __repr__(self) -> str:
        return f"<FileContent {self._filename}>"


class FileManifest:
    """``FileManifest()``: files to install, by relative path, plus executables built with it."""

    STARLARK_TYPE: ClassVar[str] = "FileManifest"
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset(
        {
            "add_manifest",
            "add_file",
            "add_path",
            "get_file",
            "install",
            "paths",
            "remove",
            "build",
            "add_python_resource",
            "add_python_resources",
        }
    )

    def __init__(self) -> None:
        self.files: dict[str, FileEntry] = {}
        # (prefix, PythonExecutable) pairs, built when the manifest is built.
        self.executables: list[tuple[str, Any]] = []
        # (prefix, resource record) pairs, materialised under prefix.
        self.resources: list[tuple[str, Any]] = []
        self.installs: list[tuple[Path, bool]] = []

    def __repr__(self) -> str:
        return f"<FileManifest {len(self.files)} files, {len(self.executables)} executables>"

    def add_manifest(self, manifest: Any) -> None:
        """Merge another manifest into this one."""
        if not isinstance(manifest, FileManifest):
            raise TypeError(f"add_manifest(): expected a FileManifest, got {type_name(manifest)}")
        self.files.update(manifest.files)
        self.executables.extend(manifest.executables)
        self.resources.extend(manifest.resources)

    def add_file(self, content: Any, path: Any = None, directory: Any = None) -> None:
        """Add a ``FileContent`` at ``path`` (default: its filename), optionally inside ``directory``."""
        if not isinstance(content, FileContent):
            raise TypeError(f"add_file(): content must be a FileContent, got {type_name(content)}")
        name = check_optional_str("add_file", "path", path) or content.filename
        if directory is not None:
            name = f"{check_str('add_file', 'directory', directory)}/{name}"
        self.files[_norm(name, "add_file")] = content.entry

    def add_path(self, path: Any, strip_prefix: Any, force_read: Any = False) -> None:
        """Add a file (or every file under a directory) from disk, stripping ``strip_prefix``."""
        fn = "add_path"
        ctx = current_context()
        src = ctx.resolve_path(check_str(fn, "path", path))
        prefix = ctx.resolve_path(check_str(fn, "strip_prefix", strip_prefix))
        check_bool(fn, "force_read", force_read)
        if not src.exists():
            raise ValueError(f"{fn}(): {src} does not exist")
        sources = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for s in sources:
            try:
                rel = s.relative_to(prefix)
            except ValueError:
                raise ValueError(f"{fn}(): {s} is not under strip_prefix {prefix}") from None
            data = s.read_bytes() if force_read else None
            self.files[_norm(rel.as_posix(), fn)] = FileEntry(
                data=data, source=None if data is not None else s, executable=os.access(s, os.X_OK)
            )

    def get_file(self, path: Any) -> FileContent | None:
        """Return the ``FileContent`` at ``path``, or None."""
        entry = self.files.get(_norm(check_str("get_file", "path", path), "get_file"))
        if entry is None:
            return None
        return FileContent.from_entry(entry, PurePosixPath(str(path)).name)

    def paths(self) -> list[str]:
        """Sorted relative paths of the manifest's files."""
        return sorted(self.files)

    def remove(self, path: Any) -> None:
        """Remove a file; an unknown path is an error."""
        key = _norm(check_str("remove", "path", path), "remove")
        if key not in self.files:
            raise ValueError(f"remove(): {path!r} is not in the manifest")
        del self.files[key]

    def install(self, path: Any, replace: Any = True) -> None:
        """Record a copy of the manifest's files into ``path`` (relative to the build path), done at build.

        A relative ``path`` must name a directory inside the build path, checked like ``add_file``
        paths (no ``..``; not the build path itself, which holds the build's own output); an
        absolute one is a destination the config names. With ``replace`` (PyOxidizer's default)
        the build empties the destination first, and refuses to when it holds the config, the
        build path, the working directory or the home directory (``pyoxidizer_py/build.py``).

        Raises:
            ValueError: a relative ``path`` leaves the build path or is the build path.
        """
        dest = check_str("install", "path", path)
        flag = check_bool("install", "replace", replace)
        base = current_context().build_path
        if PurePosixPath(dest.replace("\\", "/")).is_absolute():
            self.installs.append((Path(dest), flag))
            return
        rel = _norm(dest, "install")
        if not rel:
            raise ValueError(f"install(): path must name a directory inside the build path, got {path!r}")
        self.installs.append((base / rel, flag))

    def build(self, target: Any) -> None:
        """Building happens after evaluation (``pyoxidizer-py build``), not from Starlark."""
        raise ConfigError("FileManifest.build() cannot be called from a config; register a target instead")

    def add_python_resource(self, prefix: Any, resource: Any) -> None:
        """Add a resource as files under ``prefix``; a ``PythonExecutable`` is built with the manifest."""
        from pyoxidizer_py.config.dialect.python import PythonExecutable
        from pyoxidizer_py.config.dialect.resources import unwrap_resource

        pre = _norm(check_str("add_python_resource", "prefix", prefix), "add_python_resource")
        if isinstance(resource, PythonExecutable):
            self.executables.append((pre, resource))
        else:
            self.resources.append((pre, unwrap_resource(resource, "add_python_resource")))

    def add_python_resources(self, prefix: Any, resources: Any) -> None:
        """Add every resource of a list under ``prefix``."""
        if not isinstance(resources, (list, tuple)):
            raise TypeError(f"add_python_resources(): expected a list, got {type_name(resources)}")
        for r in resources:
            self.add_python_resource(prefix, r)


def glob(include: Any, exclude: Any = None, strip_prefix: Any = None, relative_to: Any = None) -> FileManifest:
    """``glob(include, exclude=None, strip_prefix=None)``: a FileManifest of files matching patterns.

    Patterns are relative to CWD and support ``**``. Paths in the manifest are
    relative to ``strip_prefix`` (or ``relative_to``), default CWD.
    """
    fn = "glob"
    ctx = current_context()
    inc = check_list_of_str(fn, "include", include)
    exc = check_list_of_str(fn, "exclude", exclude, optional=True)
    base_arg = check_optional_str(fn, "strip_prefix", strip_prefix) or check_optional_str(
        fn, "relative_to", relative_to
    )
    base = ctx.resolve_path(base_arg) if base_arg else ctx.cwd
    excluded: set[str] = set()
    for pattern in exc:
        excluded.update(globmod.glob(str(ctx.resolve_path(pattern)), recursive=True))
    manifest = FileManifest()
    for pattern in inc:
        for match in sorted(globmod.glob(str(ctx.resolve_path(pattern)), recursive=True)):
            p = Path(match)
            if match in excluded or not p.is_file():
                continue
            try:
                rel = p.resolve().relative_to(base.resolve())
            except ValueError:
                raise ValueError(f"glob(): {p} is not under {base}") from None
            manifest.files[rel.as_posix()] = FileEntry(source=p, executable=os.access(p, os.X_OK))
    return manifest
