"""Keep every path an archive names inside the archive's own tree.

A python-build-standalone archive is data from the network: its ``PYTHON.json`` names files
(``license_path``, ``python_paths.stdlib``, ``build_info.core.objs[]``, link entries' ``path_static``,
...) that later stages read, copy into the build, compile against or run. Every such path is
relative to the archive's ``python/`` directory (python-build-standalone's ``docs/distributions.rst``,
"PYTHON.json File"); this module resolves each one with ``os.path.realpath`` (so symbolic links
inside the tree are followed) and refuses any that ends up outside ``python/``.

The same resolution (``real_path``) and containment test (``within``) are used by ``extract`` for
archive members and links.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from pyoxidizer_py.distribution.pbs.python_json import PythonJson, PythonJsonError
from pyoxidizer_py.errors import DistributionError

__all__ = [
    "MAX_SYMLINKS",
    "LinkLoop",
    "check_python_json_paths",
    "inside_or_error",
    "python_json_paths",
    "real_path",
    "resolve_inside",
    "within",
]


MAX_SYMLINKS = 40
"""Most symbolic links followed while resolving one path (Linux's ``MAXSYMLINKS``, path_resolution(7))."""


class LinkLoop(Exception):
    """Resolving a path followed more than ``MAX_SYMLINKS`` symbolic links (a loop or a long chain)."""


def real_path(path: str | os.PathLike[str]) -> str:
    """``os.path.realpath(path)`` (non-strict: missing components are kept as written), computed
    without recursion and following at most ``MAX_SYMLINKS`` links, as the kernel does.

    ``os.path.realpath`` recurses once per link in a chain, so an archive holding a chain of a few
    thousand links would end it in a ``RecursionError``.

    Raises:
        LinkLoop: more than ``MAX_SYMLINKS`` links on the way.
    """
    pending = os.path.abspath(os.fspath(path)).split(os.sep)[::-1]
    resolved = os.sep
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        try:
            st = os.lstat(candidate)
        except OSError:  # missing, or a parent that is not a directory: keep it as written
            resolved = candidate
            continue
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        hops += 1
        if hops > MAX_SYMLINKS:
            raise LinkLoop(path)
        target = os.readlink(candidate)
        if target.startswith(os.sep):
            resolved = os.sep
        pending.extend(target.split(os.sep)[::-1])
    return resolved


def within(path: str, root: str) -> bool:
    """True when the (already resolved) ``path`` is ``root`` or below it.

    Args:
        path: an absolute, normalised path (``os.path.realpath`` output).
        root: an absolute, normalised directory.
    """
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_inside(root: Path, relative: str) -> Path | None:
    """Resolve ``root/relative`` through every symbolic link and keep it only if it stays in ``root``.

    Args:
        root: the directory every path must stay in (normally ``<tree>/python``).
        relative: a path as written in the archive's metadata (``/`` separated).

    Returns:
        The resolved absolute path (which need not exist), or None when ``relative`` is absolute,
        contains a NUL byte or a Windows drive, resolves outside ``root``, or passes more than
        ``MAX_SYMLINKS`` links.
    """
    if "\0" in relative or relative.startswith(("/", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        return None
    try:
        real_root = real_path(root)
        resolved = real_path(os.path.join(real_root, relative))
    except LinkLoop:
        return None
    return Path(resolved) if within(resolved, real_root) else None


def python_json_paths(pj: PythonJson) -> Iterator[tuple[str, str]]:
    """Every path a ``PYTHON.json`` names, as ``(dotted key, path relative to python/)``.

    Includes the paths this tool derives from config variables (``python_config_vars.LIBRARY``,
    ``.LDVERSION``, ``.INSTSONAME``: see ``PythonJson.static_library_path`` and
    ``shared_library_path``) and ``tcl_library_paths`` joined to ``tcl_library_path``.
    """
    yield "python_exe", pj.python_exe
    for key, value in pj.python_paths.items():
        yield f"python_paths.{key}", value
    for key in ("python_stdlib_platform_config", "license_path", "tcl_library_path"):
        value = getattr(pj, key)
        if value is not None:
            yield key, value
    for i, name in enumerate(pj.tcl_library_paths or ()):
        yield f"tcl_library_paths[{i}]", f"{pj.tcl_library_path}/{name}" if pj.tcl_library_path else name
    yield "run_tests", pj.run_tests
    cv = pj.python_config_vars
    if pj.python_stdlib_platform_config and cv.get("LIBRARY"):
        yield "python_config_vars.LIBRARY", f"{pj.python_stdlib_platform_config}/{cv['LIBRARY']}"
    if cv.get("LDVERSION"):
        yield "python_config_vars.LDVERSION", f"install/lib/libpython{cv['LDVERSION']}.a"
    if cv.get("INSTSONAME"):
        yield "python_config_vars.INSTSONAME", f"install/lib/{cv['INSTSONAME']}"
    bi = pj.build_info
    yield "build_info.inittab_object", bi.inittab_object
    yield "build_info.inittab_source", bi.inittab_source
    for i, obj in enumerate(bi.core.objs):
        yield f"build_info.core.objs[{i}]", obj
    for key in ("static_lib", "shared_lib"):
        value = getattr(bi.core, key)
        if value is not None:
            yield f"build_info.core.{key}", value
    for i, link in enumerate(bi.core.links):
        for key in ("path_static", "path_dynamic"):
            value = getattr(link, key)
            if value is not None:
                yield f"build_info.core.links[{i}].{key}", value
    for name, variants in bi.extensions.items():
        for i, variant in enumerate(variants):
            prefix = f"build_info.extensions.{name}[{i}]"
            for j, obj in enumerate(variant.objs):
                yield f"{prefix}.objs[{j}]", obj
            for key in ("shared_lib", "static_lib"):
                value = getattr(variant, key)
                if value is not None:
                    yield f"{prefix}.{key}", value
            for j, lic in enumerate(variant.license_paths or ()):
                yield f"{prefix}.license_paths[{j}]", lic
            for j, link in enumerate(variant.links):
                for key in ("path_static", "path_dynamic"):
                    value = getattr(link, key)
                    if value is not None:
                        yield f"{prefix}.links[{j}].{key}", value


_MAX_REPORTED = 20


def check_python_json_paths(pj: PythonJson, python_dir: Path, *, source: str) -> None:
    """Refuse a ``PYTHON.json`` naming any path that resolves outside ``python_dir``.

    Args:
        pj: the validated document.
        python_dir: the extracted archive's ``python/`` directory.
        source: where the document came from, for the message.

    Raises:
        PythonJsonError: every offending key (up to 20), each as
            ``<dotted key>: <path> resolves outside the archive's python/ directory``.
    """
    problems = []
    for key, rel in python_json_paths(pj):
        if resolve_inside(python_dir, rel) is None:
            problems.append(f"{key}: {rel!r} resolves outside the archive's python/ directory")
            if len(problems) == _MAX_REPORTED:
                problems.append("(further paths not checked)")
                break
    if problems:
        raise PythonJsonError(source, problems)


def inside_or_error(root: Path, relative: str, *, what: str) -> Path:
    """``root / relative`` after checking that it resolves inside ``root``.

    The returned path is not resolved (a symbolic link keeps its own name, which matters for
    ``-l`` lookups of ``libfoo.a`` links), but its resolution is known to stay in ``root``.

    Raises:
        DistributionError: it resolves outside; the message names ``what`` (a dotted key or file).
    """
    if resolve_inside(root, relative) is None:
        raise DistributionError(f"{what}: {relative!r} resolves outside {root}; refusing to use it")
    return root / relative
