"""Collect application resources: ``pip_install``, ``read_package_root``, ``read_virtualenv``,
``make_python_module_source``.

Each collector scans a directory with ``scan.scan_tree`` using the policy's scanner
settings and the distribution's extension suffixes, then applies the policy
(``placement.apply_policy``). Resources read their bytes lazily from the scanned
files, so a pip staging directory must live until the build has materialised them.

pip: the **target** Python's own pip runs ``install --target <fresh staging dir>``
(``--no-compile``: bytecode is compiled later). When the target interpreter has no
pip (a Debian ``python3.X`` without ``python3-pip``; Debian also strips
``ensurepip``), pip from the interpreter running this tool runs with
``--python <target>`` (pip >= 22.3), which re-executes pip's own code under the
target interpreter, so wheel tags, markers and builds are the target's. ``PIP_*``
environment variables are passed through; ``extra_envs`` are added on top.
"""

from __future__ import annotations

import atexit
import csv
import dataclasses
import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyoxidizer_py import progress
from pyoxidizer_py.distribution.model import Distribution
from pyoxidizer_py.errors import ResourceError
from pyoxidizer_py.resources import pip_cache
from pyoxidizer_py.resources.model import (
    File,
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageResource,
    Resource,
)
from pyoxidizer_py.resources.placement import apply_policy
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.resources.scan import ScanOptions, scan_tree

__all__ = [
    "make_python_module_source",
    "pip_command",
    "pip_install",
    "read_package_root",
    "read_virtualenv",
    "scan_options",
]

_log = logging.getLogger(__name__)


def scan_options(dist: Distribution, policy: PackagingPolicy, **overrides: object) -> ScanOptions:
    """Scanner options from the policy's ``file_scanner_*`` settings and the distribution's suffixes."""
    values: dict[str, object] = {
        "extension_suffixes": dist.extension_suffixes,
        "classify": policy.file_scanner_classify_files,
        "emit_files": policy.file_scanner_emit_files,
    }
    values.update(overrides)
    return ScanOptions(**values)  # type: ignore[arg-type]


def make_python_module_source(
    name: str, source: str | bytes, is_package: bool = False, *, policy: PackagingPolicy | None = None
) -> PythonModuleSource:
    """Build a module source from a string (``PythonExecutable.make_python_module_source``).

    Args:
        name: dotted module name; every component must be an identifier.
        source: the module's code (str is encoded as UTF-8).
        is_package: whether the module is a package's ``__init__``.
        policy: when given, ``add`` is filled from it.

    Returns:
        A non-stdlib ``PythonModuleSource`` holding the bytes in ``data``.

    Raises:
        ResourceError: the name is not a valid dotted module name.
    """
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise ResourceError(f"invalid Python module name {name!r}")
    data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
    module = PythonModuleSource(name=name, is_package=is_package, data=data, first_party=True)
    return apply_policy(module, policy) if policy is not None else module  # type: ignore[return-value]


def _installed(resource: Resource, policy: PackagingPolicy) -> Resource:
    """Apply the policy to a resource of an installed package (pip, a virtualenv).

    Their module sources are kept only with both ``include_non_distribution_sources`` and
    ``include_third_party_sources`` (bytecode only by default).
    """
    placed = apply_policy(resource, policy)
    if isinstance(placed, PythonModuleSource) and placed.add.source and not policy.include_third_party_sources:
        placed = dataclasses.replace(placed, add=dataclasses.replace(placed.add, source=False))
    return placed


def read_package_root(
    path: Path | str, packages: Sequence[str], dist: Distribution, policy: PackagingPolicy
) -> list[Resource]:
    """Scan a directory and keep the resources of the named packages or modules.

    Follows PyOxidizer's filter (``PythonResource::is_in_packages``): a resource is kept
    when its name (for package data, the package holding it) equals one of ``packages``
    or lies inside it. So ``"myapp"`` keeps ``myapp`` and ``myapp.*``, and a dotted
    ``"myapp.cli"`` keeps only ``myapp.cli`` and ``myapp.cli.*``.

    Args:
        path: the directory containing the packages (``src/`` of a project).
        packages: names to keep (``["myapp"]``, ``["myapp.cli"]``); a ``myapp.py`` module counts too.
        dist: the target distribution (extension suffixes).
        policy: the packaging policy.

    Returns:
        Module sources, package resources and extension modules of those packages, with ``add``
        set; ``File`` records under them when the policy emits files. A name that matches
        nothing is logged as a ``warning:`` line, as PyOxidizer silently kept nothing for it.

    Raises:
        ResourceError: ``path`` is not a directory.
    """
    root = Path(path)
    if not root.is_dir():
        raise ResourceError(f"{root}: package root is not a directory")
    wanted = list(dict.fromkeys(packages))
    kept: list[Resource] = []
    found: set[str] = set()
    for resource in scan_tree(root, scan_options(dist, policy)):
        name = _filter_name(resource)
        if name is None:
            continue
        matched = [p for p in wanted if name == p or name.startswith(p + ".")]
        if matched:
            found.update(matched)
            own = resource
            if isinstance(resource, PythonModuleSource):
                own = dataclasses.replace(resource, first_party=True)
            kept.append(apply_policy(own, policy))
    for missing in (p for p in wanted if p not in found):
        _log.warning("warning: read_package_root(%s): no package or module named %r there", root, missing)
    return kept


def _filter_name(resource: Resource) -> str | None:
    """The dotted name PyOxidizer's package filter compares for a resource."""
    if isinstance(resource, File):
        parts = resource.path_in_install.split("/")
        last = parts[-1]
        stem = last.split(".")[0] if last.endswith((".py", ".pyc", ".so", ".pyd")) else None
        dirs = parts[:-1]
        return ".".join([*dirs, stem] if stem and stem != "__init__" else dirs) or None
    if isinstance(resource, PythonModuleSource | PythonExtensionModule):
        return resource.name
    if isinstance(resource, PythonPackageResource):
        return resource.package
    return getattr(resource, "package", None) or None


def read_virtualenv(path: Path | str, dist: Distribution, policy: PackagingPolicy) -> list[Resource]:
    """Collect everything installed in a virtual environment's site-packages.

    Args:
        path: the venv root (containing ``pyvenv.cfg``).
        dist: the target distribution (its ``major_minor`` locates ``lib/pythonX.Y/site-packages``).
        policy: the packaging policy.

    Returns:
        The classified resources of ``site-packages`` with ``add`` set (pip's own ``bin``-less
        layout; ``.pth`` files are only reported as ``File`` when the policy emits files).

    Raises:
        ResourceError: no ``site-packages`` for this Python version under ``path``.
    """
    root = Path(path)
    candidates = [
        root / "lib" / f"python{dist.major_minor}{dist.abiflags}" / "site-packages",
        root / "lib" / f"python{dist.major_minor}" / "site-packages",
        root / "Lib" / "site-packages",
    ]
    for site in candidates:
        if site.is_dir():
            return [_installed(r, policy) for r in scan_tree(site, scan_options(dist, policy))]
    raise ResourceError(
        f"{root}: not a virtualenv for Python {dist.major_minor} (no {candidates[0].relative_to(root)})"
    )


@functools.lru_cache(maxsize=16)
def _has_pip(python_exe: Path) -> bool:
    proc = subprocess.run(
        [str(python_exe), "-E", "-s", "-c", "import pip"],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def pip_command(python_exe: Path) -> list[str]:
    """The command prefix that runs pip for ``python_exe`` (see the module docstring).

    Returns:
        ``[python_exe, "-m", "pip"]`` when the target has pip, else
        ``[sys.executable, "-m", "pip", "--python", python_exe]``.

    Raises:
        ResourceError: neither the target nor the tool's interpreter has pip.
    """
    if _has_pip(python_exe):
        return [str(python_exe), "-m", "pip"]
    host = Path(sys.executable)
    if _has_pip(host):
        return [str(host), "-m", "pip", "--python", str(python_exe)]
    raise ResourceError(
        f"{python_exe}: pip is not available for this Python nor for {host}",
        hint="install pip for the target Python (Debian: apt-get install python3-pip)",
    )


def _pip_failure_lines(output: str) -> str:
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:") or ln.lstrip().startswith("error:")]
    chosen = errors[-3:] if errors else lines[-3:]
    return " | ".join(ln.strip() for ln in chosen)


def _new_staging_dir(staging_root: Path | None) -> Path:
    if staging_root is not None:
        staging_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="pip-", dir=staging_root))
    staging = Path(tempfile.mkdtemp(prefix="pyoxidizer-py-pip-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    return staging


def pip_install(
    dist: Distribution,
    args: Sequence[str],
    policy: PackagingPolicy,
    *,
    extra_envs: Mapping[str, str] | None = None,
    staging_root: Path | None = None,
    verbose: bool = False,
) -> list[Resource]:
    """Run the target Python's pip into a fresh staging directory and classify the result.

    When every requirement is pinned, the installed tree is cached and reused by later calls
    with the same interpreter and arguments (``resources/pip_cache.py``): no pip run, no network.

    Args:
        dist: the target distribution; needs ``python_exe``.
        args: pip install arguments (``["PyYAML==6.0.1"]``, ``["-r", "requirements.txt"]``).
        policy: the packaging policy.
        extra_envs: environment variables added for pip (on top of ``os.environ``, ``PIP_*`` included).
        staging_root: directory under which the staging dir is created (kept by the caller); default
            a temporary directory removed when the process exits.
        verbose: pass ``--verbose`` to pip (its output is still captured; logged at debug level).

    Returns:
        The classified resources of the installed files (console-script ``bin/`` dir excluded),
        with ``add`` set from the policy.

    Raises:
        ResourceError: no interpreter or pip is available, or pip fails (the message names the
            requested packages and quotes pip's last error lines).
    """
    if dist.python_exe is None:
        raise ResourceError(f"pip_install: distribution {dist.description} has no runnable python here")
    opts = scan_options(dist, policy, skip_top_level=frozenset({"bin"}))
    cache_key = pip_cache.install_key(dist, args, extra_envs, Path.cwd())
    if cache_key is not None and (cached := pip_cache.cache_entry(cache_key)) is not None:
        _log.info("pip install %s: reusing the cached install %s", " ".join(args), cached)
        return _installed_tree(cached, opts, policy)
    staging = pip_cache.new_staging() if cache_key is not None else _new_staging_dir(staging_root)
    cmd = [
        *pip_command(dist.python_exe),
        "--disable-pip-version-check",
        "--no-input",
        *(["--verbose"] if verbose else []),
        "install",
        "--target",
        str(staging),
        "--no-compile",
        "--no-warn-script-location",
        *args,
    ]
    env = dict(os.environ)
    env.setdefault("PIP_ROOT_USER_ACTION", "ignore")
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE"):
        env.pop(key, None)
    env.update(extra_envs or {})
    _log.debug("running %s", " ".join(cmd))
    requested = [a for a in args if not a.startswith("-")] or list(args)
    with progress.stage("pip install", " ".join(requested)):
        returncode, output = _run_pip(cmd, env)
        progress.update(" ".join(requested))
    if returncode != 0:
        if cache_key is not None:
            pip_cache.discard(staging)
        raise ResourceError(
            f"pip install {' '.join(requested)} failed (exit status {returncode}): {_pip_failure_lines(output)}"
        )
    if cache_key is not None:
        staging = pip_cache.publish(staging, cache_key)
    return _installed_tree(staging, opts, policy)


def _run_pip(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run pip with its stdout and stderr merged; each line is logged at info level as it comes (so
    ``-v`` streams it) and pip's ``Collecting``/``Downloading``/``Installing`` lines become the
    progress line's detail. Returns (exit status, the whole output)."""
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )
    except OSError as e:
        raise ResourceError(f"cannot run pip ({cmd[0]}): {e.strerror or e}") from e
    lines: list[str] = []
    with proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            _log.info("%s", line)
            if line.startswith(("Collecting ", "Downloading ", "Installing collected packages", "Processing ")):
                progress.update(line.strip())
        returncode = proc.wait()
    return returncode, "\n".join(lines)


def _installed_tree(tree: Path, opts: ScanOptions, policy: PackagingPolicy) -> list[Resource]:
    """Classify a pip ``--target`` tree; module sources of a project pip installed from a local
    directory (the application itself, as a build from ``pyproject.toml`` installs it) are marked
    ``first_party``, so their syntax is checked like ``read_package_root()``'s."""
    own = _local_directory_sources(tree)
    out: list[Resource] = []
    for found in scan_tree(tree, opts):
        resource = found
        if isinstance(found, PythonModuleSource) and found.path is not None and found.path in own:
            resource = dataclasses.replace(found, first_party=True)
        out.append(_installed(resource, policy))
    return out


def _local_directory_sources(tree: Path) -> frozenset[Path]:
    """The ``.py`` files of distributions in ``tree`` that pip installed from a local directory.

    pip records where a distribution came from in ``*.dist-info/direct_url.json`` (PEP 610,
    https://packaging.python.org/en/latest/specifications/direct-url-data-structure/): a
    ``dir_info`` key means a local directory; the distribution's files are listed in its
    ``RECORD`` (https://packaging.python.org/en/latest/specifications/recording-installed-packages/).
    """
    files: set[Path] = set()
    for direct_url in tree.glob("*.dist-info/direct_url.json"):
        try:
            info = json.loads(direct_url.read_text(encoding="utf-8"))
            if not isinstance(info, dict) or "dir_info" not in info:
                continue
            rows = list(csv.reader((direct_url.parent / "RECORD").read_text(encoding="utf-8").splitlines()))
        except (OSError, ValueError):
            continue
        files.update(tree / row[0] for row in rows if row and row[0].endswith(".py") and ".." not in row[0])
    return frozenset(files)
