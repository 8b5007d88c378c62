"""Apply a packaging policy to fresh resources: fill their ``add`` attributes.

Follows PyOxidizer's ``PythonPackagingPolicy`` resolution
(https://gregoryszorc.com/docs/pyoxidizer/main/pyoxidizer_config_type_python_packaging_policy.html):

* include: ``File`` records follow ``include_file_resources``; every other record needs
  ``include_classified_resources``; then module sources are dropped when they are test
  code and ``include_test`` is off; stdlib package resources need
  ``include_distribution_resources`` (and ``include_test`` for test data); distribution
  metadata, shared libraries and non-stdlib resources are kept. Stdlib extension modules
  are selected by ``extension_module_filter`` in ``resources.stdlib`` (which passes the
  verdict as ``extension_included``).
* location / fallback: ``resources_location`` / ``resources_location_fallback``.
* source: for module sources, ``include_distribution_sources`` (stdlib) or
  ``include_non_distribution_sources``; False for other kinds.
* bytecode levels: ``bytecode_optimize_level_zero|one|two`` for module sources; False otherwise.

Where each included resource finally lives is decided once, for the whole executable, by
``resources.plan.plan_resources``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.model import (
    AddAttributes,
    File,
    PythonExtensionModule,
    PythonModuleSource,
    PythonPackageResource,
    Resource,
    SharedLibrary,
)
from pyoxidizer_py.resources.policy import PackagingPolicy

__all__ = [
    "BUILT_IN",
    "IN_MEMORY",
    "add_attributes_for",
    "apply_policy",
    "apply_policy_all",
    "describe_resource",
    "normalize_prefix",
]

IN_MEMORY = "in-memory"
BUILT_IN = "built-in"


def _included(resource: Resource, policy: PackagingPolicy, extension_included: bool | None) -> bool:
    if isinstance(resource, File):
        return policy.include_file_resources
    if not policy.include_classified_resources:
        return False
    if isinstance(resource, PythonModuleSource):
        return policy.include_test or not resource.is_test
    if isinstance(resource, PythonPackageResource):
        if resource.is_stdlib:
            return policy.include_distribution_resources and (policy.include_test or not resource.is_test)
        return True
    if isinstance(resource, PythonExtensionModule) and extension_included is not None:
        return extension_included
    return True


def add_attributes_for(
    resource: Resource, policy: PackagingPolicy, *, extension_included: bool | None = None
) -> AddAttributes:
    """Compute the placement the policy gives a resource.

    Args:
        resource: any resource record (its current ``add`` is ignored).
        policy: the packaging policy.
        extension_included: for stdlib extension modules, the ``extension_module_filter`` verdict
            (None: included like any classified resource).

    Returns:
        The ``AddAttributes`` for it.
    """
    is_module = isinstance(resource, PythonModuleSource)
    source = False
    if isinstance(resource, PythonModuleSource):
        source = policy.include_distribution_sources if resource.is_stdlib else policy.include_non_distribution_sources
    return AddAttributes(
        include=_included(resource, policy, extension_included),
        location=policy.resources_location,
        location_fallback=policy.resources_location_fallback,
        source=source,
        bytecode_optimization_level_zero=is_module and policy.bytecode_optimize_level_zero,
        bytecode_optimization_level_one=is_module and policy.bytecode_optimize_level_one,
        bytecode_optimization_level_two=is_module and policy.bytecode_optimize_level_two,
    )


def apply_policy(resource: Resource, policy: PackagingPolicy, *, extension_included: bool | None = None) -> Resource:
    """Return a copy of ``resource`` whose ``add`` attributes come from ``policy``.

    Args and semantics: see ``add_attributes_for``. Starlark resource callbacks are not run
    here (the dialect layer runs ``policy.resource_callbacks`` on the result).
    """
    add = add_attributes_for(resource, policy, extension_included=extension_included)
    return dataclasses.replace(resource, add=add)


def apply_policy_all(resources: Iterable[Resource], policy: PackagingPolicy) -> list[Resource]:
    """``apply_policy`` over an iterable; returns a new list in the same order."""
    return [apply_policy(r, policy) for r in resources]


def normalize_prefix(prefix: str) -> str:
    """Normalise a ``filesystem-relative`` prefix: ``"./lib/"`` -> ``"lib"``, ``""``/``"./"`` -> ``"."``.

    Raises:
        BuildError: the prefix is absolute or climbs out of the executable's directory (``..``).
    """
    if prefix.startswith("/"):
        raise BuildError(f"filesystem-relative:{prefix}: the prefix must be relative to the executable")
    parts = [p for p in prefix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BuildError(f"filesystem-relative:{prefix}: the prefix must not leave the executable's directory")
    return "/".join(parts) or "."


def describe_resource(resource: Resource) -> str:
    """A resource as messages name it (``extension module yaml._yaml``, ``shared library x.so``)."""
    if isinstance(resource, PythonExtensionModule):
        return f"extension module {resource.name}"
    if isinstance(resource, SharedLibrary):
        return f"shared library {resource.name}"
    if isinstance(resource, File):
        return f"file {resource.path_in_install}"
    return f"resource {getattr(resource, 'name', '?')}"


FALLBACK_HINT = (
    'set policy.resources_location_fallback = "filesystem-relative:lib" (or the resource\'s '
    "add_location_fallback), or leave it out (add_include = False; for the standard library "
    'policy.extension_module_filter = "minimal")'
)
"""The hint of the error for resources that must be files but have no filesystem location."""
