"""The standard library of a distribution as resources, with the packaging policy applied.

Collected from ``Distribution.stdlib_dir`` (module sources and package data, all
``is_stdlib=True``), ``lib_dynload_dir`` (extension modules as files) and
``builtin_extensions`` (extension modules compiled into libpython, ``is_builtin``).
``site-packages``/``dist-packages`` and non-package directories such as
``config-3.11-x86_64-linux-gnu`` are not part of the stdlib.

Test code and development tools (``test``, ``*.test(s)``, ``idlelib``,
``ensurepip``, ``turtledemo``, ... see ``scan.is_stdlib_test_name``) and the test
extension modules (``_test*``, ``_ctypes_test``, ``xxlimited*``, ``_xxtestfuzz``) are
excluded unless ``include_test``.

``extension_module_filter`` for an installed CPython (whose extensions are shared
objects, not PYTHON.json entries), decided from each module's ``DT_NEEDED`` list:

* ``all``: every lib-dynload module;
* ``no-unused-ui`` (the default): every one here; the Tk and curses modules are dropped later,
  when the whole build is known, if nothing uses them (``resources.stdlib_filter``);
* ``minimal``: none of them (the built-in modules are enough to start an interpreter);
* ``no-libraries``: modules needing only the C runtime (libc, libm, libpthread, libdl,
  libutil, librt, the loader) and libpython;
* ``no-copyleft``: modules not linking a copyleft library: GNU readline, gdbm and Berkeley DB
  (``readline``, ``_gdbm``, ``_dbm`` on Debian); the C runtime counts as a safe system library.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pyoxidizer_py.distribution.elf import needed_libraries
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.resources.model import File, PythonExtensionModule, Resource, SharedLibrary
from pyoxidizer_py.resources.placement import apply_policy
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.resources.scan import ScanOptions, scan_tree

__all__ = ["extension_allowed", "is_stdlib_test_extension", "stdlib_resources"]

_log = logging.getLogger(__name__)

_TEST_EXTENSION_RE = re.compile(r"^(_test.*|_ctypes_test|xxlimited.*|_xxtestfuzz|xxsubtype)$")
_CRT_RE = re.compile(r"^(libc|libm|libpthread|libdl|libutil|librt|libpython[\d.]+\w*|ld-linux[\w-]*)\.so")
_COPYLEFT_RE = re.compile(r"^(libreadline|libgdbm|libgdbm_compat|libdb)[-.]")


def is_stdlib_test_extension(name: str) -> bool:
    """Whether a stdlib extension module exists only for CPython's test suite."""
    return bool(_TEST_EXTENSION_RE.match(name))


def extension_allowed(needed: tuple[str, ...], filter_name: str) -> bool:
    """Apply ``extension_module_filter`` to an extension module's ``DT_NEEDED`` list.

    Args:
        needed: library names the module's shared object needs.
        filter_name: ``all``, ``no-unused-ui``, ``minimal``, ``no-libraries`` or ``no-copyleft``.

    Returns:
        Whether the module is kept (``minimal`` keeps none).

    Raises:
        ValueError: unknown filter name.
    """
    if filter_name in ("all", "no-unused-ui"):  # no-unused-ui is applied once the whole build is known
        return True
    if filter_name == "minimal":
        return False
    if filter_name == "no-libraries":
        return all(_CRT_RE.match(lib) for lib in needed)
    if filter_name == "no-copyleft":
        return not any(_COPYLEFT_RE.match(lib) for lib in needed)
    raise ValueError(f"unknown extension_module_filter {filter_name!r}")


# Modules `site` imports when present; distributors drop them into the stdlib dir
# (Debian links /etc/python3.11/sitecustomize.py there), so they are not part of CPython.
_SITE_HOOKS = frozenset({"sitecustomize", "usercustomize"})


def _stdlib_skips(dist: Distribution) -> frozenset[str]:
    stdlib = dist.stdlib_dir
    skips = {"site-packages", "dist-packages", "__pycache__"}
    if dist.lib_dynload_dir is not None and dist.lib_dynload_dir.parent == stdlib:
        skips.add(dist.lib_dynload_dir.name)
    if stdlib.is_dir():
        skips.update(p.name for p in stdlib.iterdir() if p.is_dir() and not p.name.isidentifier())
    return frozenset(skips)


def _dynload_extensions(dist: Distribution) -> list[PythonExtensionModule]:
    directory = dist.lib_dynload_dir
    if directory is None or not directory.is_dir():
        return []
    out = []
    suffixes = sorted(dist.extension_suffixes, key=len, reverse=True)
    for path in sorted(directory.iterdir()):
        for suffix in suffixes:
            stem = path.name[: -len(suffix)] if path.name.endswith(suffix) else ""
            if stem.isidentifier():
                out.append(PythonExtensionModule(name=stem, is_stdlib=True, file_suffix=suffix, path=path))
                break
        else:
            _log.debug("%s: not an extension module, ignored", path)
    return out


def stdlib_resources(dist: Distribution, policy: PackagingPolicy) -> list[Resource]:
    """Collect the distribution's stdlib and apply ``policy`` to every record.

    Args:
        dist: the distribution (its ``stdlib_dir`` must exist on this machine).
        policy: the packaging policy (``include_test``, ``include_distribution_sources``,
            ``include_distribution_resources``, ``extension_module_filter``, bytecode levels, location).

    Returns:
        Module sources, package resources and extension modules (file-backed from lib-dynload,
        then ``is_builtin`` ones), each with ``add`` set. Excluded records are returned with
        ``add.include=False`` rather than dropped, so callers can report or re-include them.
    """
    scanned = scan_tree(
        Path(dist.stdlib_dir),
        ScanOptions(
            extension_suffixes=dist.extension_suffixes,
            is_stdlib=True,
            classify=True,
            emit_files=False,
            skip_top_level=_stdlib_skips(dist),
        ),
    )
    out: list[Resource] = []
    for resource in scanned:
        if isinstance(resource, (PythonExtensionModule, SharedLibrary, File)):
            continue  # stray .so files in the stdlib tree are not stdlib resources
        if getattr(resource, "name", "") in _SITE_HOOKS:
            continue  # a distributor's machine-local site hook (Debian's apport), not the stdlib
        out.append(apply_policy(resource, policy))
    builtin = set(dist.builtin_extensions)
    for ext in _dynload_extensions(dist):
        if ext.name in builtin:
            continue
        if is_stdlib_test_extension(ext.name) and not policy.include_test:
            keep = False
        else:
            needed = needed_libraries(ext.path) if ext.path is not None else ()
            keep = extension_allowed(needed, policy.extension_module_filter)
        out.append(apply_policy(ext, policy, extension_included=keep))
    for name in dist.builtin_extensions:
        ext = PythonExtensionModule(name=name, is_stdlib=True, is_builtin=True)
        out.append(apply_policy(ext, policy, extension_included=True))
    return out
