"""Apply a packaging policy to fresh resources: fill their ``add`` attributes.

Follows PyOxidizer's ``PythonPackagingPolicy`` resolution (pyoxidizer-facts.md §5.7):

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

``resolve_location`` then says where an included resource ends up at run time: module
sources, package data and distribution metadata can live ``in-memory`` (in the packed
resources) or as files; extension modules that are not built into libpython, shared
libraries and ``File`` records must be files, so an ``in-memory`` location sends them to
their ``location_fallback``, and without a filesystem fallback the build fails naming them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

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
from pyoxidizer_py.resources.policy import PackagingPolicy, parse_location

__all__ = [
    "BUILT_IN",
    "IN_MEMORY",
    "add_attributes_for",
    "apply_policy",
    "apply_policy_all",
    "normalize_prefix",
    "resolve_location",
    "resolve_locations",
]

IN_MEMORY = "in-memory"
BUILT_IN = "built-in"


def _included(
    resource: Resource, policy: PackagingPolicy, extension_included: bool | None
) -> bool:
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
        source = (
            policy.include_distribution_sources
            if resource.is_stdlib
            else policy.include_non_distribution_sources
        )
    return AddAttributes(
        include=_included(resource, policy, extension_included),
        location=policy.resources_location,
        location_fallback=policy.resources_location_fallback,
        source=source,
        bytecode_optimization_level_zero=is_module and policy.bytecode_optimize_level_zero,
        bytecode_optimization_level_one=is_module and policy.bytecode_optimize_level_one,
        bytecode_optimization_level_two=is_module and policy.bytecode_optimize_level_two,
    )


def apply_policy(
    resource: Resource, policy: PackagingPolicy, *, extension_included: bool | None = None
) -> Resource:
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


def _describe(resource: Resource) -> str:
    if isinstance(resource, PythonExtensionModule):
        return f"extension module {resource.name}"
    if isinstance(resource, SharedLibrary):
        return f"shared library {resource.name}"
    if isinstance(resource, File):
        return f"file {resource.path_in_install}"
    return f"resource {getattr(resource, 'name', '?')}"


def _needs_file(resource: Resource) -> bool:
    return isinstance(resource, SharedLibrary | File) or (
        isinstance(resource, PythonExtensionModule) and not resource.is_builtin
    )


def resolve_location(resource: Resource) -> tuple[str, str] | None:
    """Where an included resource lives at run time.

    Args:
        resource: a resource with ``add`` set.

    Returns:
        None when the resource is excluded (``add.include`` False); ``("built-in", "")`` for an
        extension module compiled into libpython; ``("in-memory", "")``; or
        ``("filesystem-relative", PREFIX)`` with a normalised prefix (``"lib"``, ``"."``).
        Extension modules, shared libraries and ``File`` records cannot be loaded from memory:
        an ``in-memory`` location sends them to ``add.location_fallback``.

    Raises:
        BuildError: an invalid location string, or a resource that must be a file whose location
            is ``in-memory`` without a ``filesystem-relative`` fallback (the message names it and
            the settings to change).
    """
    if not resource.add.include:
        return None
    if isinstance(resource, PythonExtensionModule) and resource.is_builtin:
        return (BUILT_IN, "")
    try:
        kind, prefix = parse_location(resource.add.location)
        if kind == IN_MEMORY and _needs_file(resource):
            fallback = resource.add.location_fallback
            kind, prefix = parse_location(fallback) if fallback is not None else (IN_MEMORY, "")
            if kind == IN_MEMORY:
                raise BuildError(
                    f"{_describe(resource)} cannot be loaded from memory: its location is 'in-memory' "
                    f"and resources_location_fallback is {fallback!r}",
                    hint=_FALLBACK_HINT,
                )
    except ValueError as exc:
        raise BuildError(f"{_describe(resource)}: {exc}") from exc
    if kind == IN_MEMORY:
        return (IN_MEMORY, "")
    return (kind, normalize_prefix(prefix))


_FALLBACK_HINT = (
    'set policy.resources_location_fallback = "filesystem-relative:lib" (or the resource\'s '
    "add_location_fallback), or leave it out (add_include = False; for the standard library "
    'policy.extension_module_filter = "minimal")'
)


def resolve_locations(resources: Sequence[Resource]) -> list[tuple[str, str] | None]:
    """``resolve_location`` for every resource, reporting every unplaceable one at once.

    Returns:
        One result per resource, in order.

    Raises:
        BuildError: one or more resources that must be files have no filesystem location; the
            message names them all (the first eight, then a count).
    """
    out: list[tuple[str, str] | None] = []
    bad: list[str] = []
    errors: list[BuildError] = []
    for resource in resources:
        try:
            out.append(resolve_location(resource))
        except BuildError as exc:
            if exc.hint != _FALLBACK_HINT:
                raise
            errors.append(exc)
            bad.append(_describe(resource))
            out.append(None)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        shown = ", ".join(bad[:8]) + (f" and {len(bad) - 8} more" if len(bad) > 8 else "")
        raise BuildError(
            f"{len(bad)} resources cannot be loaded from memory and have no filesystem location "
            f"(location 'in-memory', resources_location_fallback None): {shown}",
            hint=_FALLBACK_HINT,
        )
    return out
