"""Typed Python resources: what a build can put into an executable.

These records are the hand-off between resource collection (stdlib, pip,
package roots, virtualenvs), the packaging policy and the artifact stage. Their
kinds and names follow PyOxidizer's resource types (https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_packaging_resources.html):
``PythonModuleSource``, ``PythonPackageResource``,
``PythonPackageDistributionResource``, ``PythonExtensionModule``, ``File``, plus
``SharedLibrary`` for libraries that extension modules load.

Every record carries the ``add_*`` placement attributes the policy (and Starlark
resource callbacks) set: whether to include it, where it goes, and which bytecode
levels to compile. Content is either in ``data`` or read lazily from ``path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AddAttributes",
    "File",
    "PythonExtensionModule",
    "PythonModuleSource",
    "PythonPackageDistributionResource",
    "PythonPackageResource",
    "Resource",
    "SharedLibrary",
    "read_content",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class AddAttributes:
    """Placement of one resource, as set by the packaging policy and callbacks.

    Attributes:
        include: whether the resource goes into the build.
        location: ``"in-memory"`` or ``"filesystem-relative:PREFIX"``.
        location_fallback: used when ``location`` cannot hold the resource, or None.
        source: keep the module's source (needed for tracebacks and ``inspect``).
        bytecode_optimization_level_zero / _one / _two: bytecode levels to compile.
    """

    include: bool = True
    location: str = "in-memory"
    location_fallback: str | None = None
    source: bool = True
    bytecode_optimization_level_zero: bool = True
    bytecode_optimization_level_one: bool = False
    bytecode_optimization_level_two: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class _Content:
    data: bytes | None = None
    path: Path | None = None


def read_content(resource: _Content) -> bytes:
    """Return a resource's bytes, reading ``path`` when ``data`` is None.

    Raises:
        OSError: the backing file cannot be read.
    """
    if resource.data is not None:
        return resource.data
    if resource.path is None:
        return b""
    return resource.path.read_bytes()


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonModuleSource(_Content):
    """A module's source. ``name`` is dotted (``pkg.mod``); ``is_package`` for ``__init__``.

    ``first_party`` marks the application's own code (``read_package_root()``,
    ``make_python_module_source()``, a project pip installed from a local directory): a syntax
    error in it fails the build.
    """

    name: str
    is_package: bool = False
    is_stdlib: bool = False
    is_test: bool = False
    first_party: bool = False
    add: AddAttributes = AddAttributes()


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonPackageResource(_Content):
    """A data file inside a package. ``name`` is the path relative to the package dir, with ``/``."""

    package: str
    name: str
    is_stdlib: bool = False
    is_test: bool = False
    add: AddAttributes = AddAttributes()


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonPackageDistributionResource(_Content):
    """A file of a ``*.dist-info`` (or ``*.egg-info``) directory.

    ``package`` is the distribution name as in the directory name, ``version`` its
    version, ``name`` the path inside the metadata directory (``METADATA``,
    ``entry_points.txt``, ...). ``directory`` is the metadata directory's name.
    """

    package: str
    version: str
    name: str
    directory: str
    is_stdlib: bool = False
    add: AddAttributes = AddAttributes()


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonExtensionModule(_Content):
    """A compiled extension module. ``path`` is its shared library file; ``is_builtin`` when
    it is compiled into libpython (no file); ``link_libraries`` it needs when linked statically;
    ``is_package`` when the file is a package's ``__init__`` (``pkg/__init__.cpython-311-x86_64-linux-gnu.so``,
    as mypyc compiles ``__init__.py``)."""

    name: str
    is_stdlib: bool = False
    is_builtin: bool = False
    is_package: bool = False
    file_suffix: str = ""
    link_libraries: tuple[str, ...] = ()
    add: AddAttributes = AddAttributes()


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedLibrary(_Content):
    """A shared library an extension module loads (for example ``libyaml.so`` in a wheel's ``.libs``).

    ``name`` is the path relative to the install root (site-packages), with ``/``.
    """

    name: str
    add: AddAttributes = AddAttributes()


@dataclass(frozen=True, kw_only=True, slots=True)
class File(_Content):
    """A plain file, installed at ``path_in_install`` (relative, ``/``-separated)."""

    path_in_install: str
    is_executable: bool = False
    add: AddAttributes = AddAttributes()


Resource = (
    PythonModuleSource
    | PythonPackageResource
    | PythonPackageDistributionResource
    | PythonExtensionModule
    | SharedLibrary
    | File
)
