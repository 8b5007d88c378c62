"""The resource plan: every resource's final location, decided once, before any artifact is written.

``plan_resources`` takes an executable's resources (``add`` attributes set by the packaging
policy and callbacks) and says, for each included one, where it lives at run time:

* ``built-in``: an extension module compiled into libpython (nothing to write);
* ``in-memory``: in the packed resources. Module sources, package data and distribution
  metadata always can be. Extension modules and the shared libraries they need can be when
  the build loads shared objects from memory (``shared_objects_in_memory``: the target is
  Linux, libpython is linked statically and ``allow_in_memory_shared_library_loading`` is on);
* ``filesystem-relative:PREFIX``: files beside the executable. Resources that must be files
  (``File`` records, and extension modules and shared libraries when the build does not load
  them from memory) and whose location is ``in-memory`` take their ``location_fallback``.

Package data of packages whose code uses ``__file__`` moves to its filesystem fallback first
(``resources.file_users``).

Shared objects in memory follow these rules, so that what is loaded from memory finds what it
needs:

* the shared libraries an in-memory extension module needs (its ``DT_NEEDED`` names matched to
  the bundled libraries' ``DT_SONAME`` or file name, transitively) are loaded first, in
  dependency order; ``ResourcePlan.library_dependencies`` holds that order per module;
* a bundled library that no in-memory extension module needs stays a file (its fallback), since
  only ``ctypes``-style loading by path can reach it;
* an extension module that needs a bundled library which is a file is itself a file, so that its
  ``$ORIGIN``-relative ``RUNPATH`` still finds the library.

The artifact stage writes exactly what the plan says and asks nothing back.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyoxidizer_py.distribution.elf import dynamic_names
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.resources.file_users import place_data_beside_file_users
from pyoxidizer_py.resources.model import (
    File,
    PythonExtensionModule,
    Resource,
    SharedLibrary,
)
from pyoxidizer_py.resources.placement import (
    BUILT_IN,
    FALLBACK_HINT,
    IN_MEMORY,
    describe_resource,
    normalize_prefix,
)
from pyoxidizer_py.resources.policy import PackagingPolicy, parse_location

__all__ = [
    "BUILT_IN",
    "DEFAULT_IN_MEMORY_PREFIX",
    "FILESYSTEM",
    "IN_MEMORY",
    "PlannedResource",
    "ResourcePlan",
    "extension_path",
    "plan_resources",
    "shared_objects_in_memory",
]

_log = logging.getLogger(__name__)

FILESYSTEM = "filesystem-relative"
DEFAULT_IN_MEMORY_PREFIX = "lib"


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedResource:
    """One included resource and where it lives at run time.

    Attributes:
        resource: the resource record.
        location: ``"built-in"``, ``"in-memory"`` or ``"filesystem-relative"``.
        prefix: for ``filesystem-relative``, the normalised prefix (``"lib"``, ``"."``); else ``""``.
    """

    resource: Resource
    location: str
    prefix: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourcePlan:
    """Where every resource of one executable goes.

    Attributes:
        resources: included resources, in input order, each with its final location.
        excluded: resources left out (``add.include`` False), in input order.
        in_memory_prefix: the directory (relative to the executable) in-memory resources appear
            to be in: the commonest filesystem fallback among them, else ``lib``.
        library_dependencies: for each in-memory extension module (by name) and in-memory shared
            library (by its ``SharedLibrary.name``), the in-memory shared libraries to load
            before it, in load order.
        memory_only: a shared object that cannot be loaded from memory at run time is an import
            error rather than extracted to the per-user cache.
        cache_shared_objects: in-memory shared objects load from copies in the per-user cache,
            written at the first start that needs them (``policy.in_memory_shared_library_cache``).
    """

    resources: tuple[PlannedResource, ...]
    excluded: tuple[Resource, ...] = ()
    in_memory_prefix: str = DEFAULT_IN_MEMORY_PREFIX
    library_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    memory_only: bool = False
    cache_shared_objects: bool = False

    def at(self, location: str) -> list[PlannedResource]:
        """The planned resources with this location, in order."""
        return [p for p in self.resources if p.location == location]


def extension_path(resource: PythonExtensionModule) -> str:
    """An extension module's file path relative to its prefix (``yaml/_yaml.abi3.so``,
    ``pkg/__init__.cpython-311-x86_64-linux-gnu.so`` for a package)."""
    base = resource.name.replace(".", "/")
    return f"{base}/__init__{resource.file_suffix}" if resource.is_package else base + resource.file_suffix


def _is_shared_object(resource: Resource) -> bool:
    return isinstance(resource, SharedLibrary) or (
        isinstance(resource, PythonExtensionModule) and not resource.is_builtin
    )


def _fallback(resource: Resource) -> tuple[str, str] | None:
    """The resource's filesystem fallback ``(kind, normalised prefix)``, or None when it has none."""
    fallback = resource.add.location_fallback
    if fallback is None:
        return None
    try:
        kind, prefix = parse_location(fallback)
    except ValueError as exc:
        raise BuildError(f"{describe_resource(resource)}: {exc}") from exc
    return None if kind == IN_MEMORY else (FILESYSTEM, normalize_prefix(prefix))


def _first_location(
    resource: Resource, shared_objects_in_memory: bool, in_memory_as: str | None
) -> tuple[str, str] | None:
    """Location before the shared-object rules; None when it must be a file but has no fallback."""
    if isinstance(resource, PythonExtensionModule) and resource.is_builtin:
        return (BUILT_IN, "")
    try:
        kind, prefix = parse_location(resource.add.location)
    except ValueError as exc:
        raise BuildError(f"{describe_resource(resource)}: {exc}") from exc
    if kind != IN_MEMORY:
        return (FILESYSTEM, normalize_prefix(prefix))
    if in_memory_as is not None:
        return (FILESYSTEM, normalize_prefix(in_memory_as))
    must_be_file = isinstance(resource, File) or (_is_shared_object(resource) and not shared_objects_in_memory)
    if not must_be_file:
        return (IN_MEMORY, "")
    return _fallback(resource)


def _library_key(resource: Resource) -> str:
    return resource.name if isinstance(resource, SharedLibrary | PythonExtensionModule) else ""


_Names = tuple[str | None, tuple[str, ...]]


def _needed(resource: Resource, cache: dict[int, _Names]) -> _Names:
    key = id(resource)
    if key not in cache:
        names = None
        if resource.path is not None:
            try:
                names = dynamic_names(resource.path)
            except OSError as exc:
                raise BuildError(f"cannot read shared object {resource.path}: {exc}") from exc
        cache[key] = (names.soname, names.needed) if names is not None else (None, ())
    return cache[key]


def _order_dependencies(
    memory: list[int],
    planned: list[tuple[Resource, tuple[str, str] | None]],
    cache: dict[int, _Names],
) -> dict[int, list[int]]:
    """For each shared object index reachable from ``memory``, the bundled shared libraries it
    needs directly (indexes into ``planned``, in memory or not)."""
    by_name: dict[str, int] = {}
    for i, (resource, _where) in enumerate(planned):
        if isinstance(resource, SharedLibrary):
            soname, _ = _needed(resource, cache)
            basename = resource.name.rpartition("/")[2]
            by_name.setdefault(basename, i)
            if soname:
                by_name[soname] = i
    direct: dict[int, list[int]] = {}
    pending = list(memory)
    seen: set[int] = set()
    while pending:
        i = pending.pop()
        if i in seen:
            continue
        seen.add(i)
        _soname, needed = _needed(planned[i][0], cache)
        deps = [by_name[n] for n in needed if n in by_name and by_name[n] != i]
        direct[i] = deps
        pending.extend(deps)
    return direct


def _load_order(start: int, direct: Mapping[int, list[int]]) -> list[int]:
    """Dependencies of ``start`` in post-order (a library before those that need it), cycles cut."""
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(i: int) -> None:
        if state.get(i):
            return
        state[i] = 1
        for dep in direct.get(i, ()):
            visit(dep)
        state[i] = 2
        order.append(i)

    for dep in direct.get(start, ()):
        visit(dep)
    return order


def shared_objects_in_memory(policy: PackagingPolicy, target_triple: str, link_mode: str) -> bool:
    """Whether a build loads extension modules and shared libraries from memory.

    Args:
        policy: the executable's packaging policy (``allow_in_memory_shared_library_loading``).
        target_triple: the target (``x86_64-unknown-linux-gnu``); only Linux targets can.
        link_mode: the libpython link, ``"static"`` or ``"dynamic"``: only a static libpython
            makes a single file, so a dynamic build keeps shared objects beside it.

    Returns:
        True when all three allow it (the runtime uses ``memfd_create(2)``, Linux 3.17+).
    """
    return bool(policy.allow_in_memory_shared_library_loading) and "-linux" in target_triple and link_mode == "static"


def plan_resources(
    resources: Iterable[Resource],
    *,
    shared_objects_in_memory: bool = False,
    memory_only: bool = False,
    cache_shared_objects: bool = False,
    in_memory_as: str | None = None,
) -> ResourcePlan:
    """Decide every resource's location (see the module docstring).

    Args:
        resources: resources with ``add`` set, in the order they were added.
        shared_objects_in_memory: extension modules and shared libraries whose location is
            ``in-memory`` stay in memory (the runtime loads them from memory; Linux only).
        memory_only: recorded in the plan for the runtime (``ResourcePlan.memory_only``).
        cache_shared_objects: recorded in the plan for the runtime (``ResourcePlan.cache_shared_objects``).
        in_memory_as: put every ``in-memory`` resource under this filesystem prefix instead
            (for a ``FileManifest``, which has no packed resources).

    Returns:
        The ``ResourcePlan``.

    Raises:
        BuildError: an invalid location string; resources that must be files but have no
            filesystem location (all named at once: the first eight, then a count); an
            unreadable shared object.
    """
    resources = list(resources)
    if in_memory_as is None:
        resources, _moved = place_data_beside_file_users(resources)
    excluded: list[Resource] = []
    planned: list[tuple[Resource, tuple[str, str] | None]] = []
    for resource in resources:
        if not resource.add.include:
            excluded.append(resource)
            continue
        planned.append((resource, _first_location(resource, shared_objects_in_memory, in_memory_as)))

    if shared_objects_in_memory and in_memory_as is None:
        planned, dependencies = _apply_shared_object_rules(planned)
    else:
        dependencies = {}

    unplaceable = [describe_resource(r) for r, where in planned if where is None]
    if unplaceable:
        fallback = next(r.add.location_fallback for r, where in planned if where is None)
        if len(unplaceable) == 1:
            message = (
                f"{unplaceable[0]} cannot be loaded from memory: its location is 'in-memory' "
                f"and resources_location_fallback is {fallback!r}"
            )
        else:
            shown = ", ".join(unplaceable[:8]) + (f" and {len(unplaceable) - 8} more" if len(unplaceable) > 8 else "")
            message = (
                f"{len(unplaceable)} resources cannot be loaded from memory and have no filesystem location "
                f"(location 'in-memory', resources_location_fallback None): {shown}"
            )
        raise BuildError(message, hint=FALLBACK_HINT)

    final = tuple(PlannedResource(resource=r, location=w[0], prefix=w[1]) for r, w in planned if w is not None)
    return ResourcePlan(
        resources=final,
        excluded=tuple(excluded),
        in_memory_prefix=_in_memory_prefix(final),
        library_dependencies=dependencies,
        memory_only=memory_only,
        cache_shared_objects=cache_shared_objects,
    )


def _apply_shared_object_rules(
    planned: list[tuple[Resource, tuple[str, str] | None]],
) -> tuple[list[tuple[Resource, tuple[str, str] | None]], dict[str, tuple[str, ...]]]:
    cache: dict[int, _Names] = {}
    planned = list(planned)

    def in_memory(i: int) -> bool:
        where = planned[i][1]
        return where is not None and where[0] == IN_MEMORY

    extensions = [i for i, (r, _w) in enumerate(planned) if isinstance(r, PythonExtensionModule) and in_memory(i)]
    libraries = [i for i, (r, _w) in enumerate(planned) if isinstance(r, SharedLibrary) and in_memory(i)]
    direct = _order_dependencies(extensions + libraries, planned, cache)

    # An extension module needing a bundled library that is a file stays a file too (RUNPATH).
    changed = True
    while changed:
        changed = False
        for i in extensions:
            if in_memory(i) and any(not in_memory(d) for d in _load_order(i, direct)):
                planned[i] = (planned[i][0], _fallback(planned[i][0]))
                changed = True
    # Libraries that no in-memory extension module needs are files (ctypes loads them by path).
    needed: set[int] = set()
    for i in extensions:
        if in_memory(i):
            needed.update(_load_order(i, direct))
    for i in libraries:
        if i not in needed:
            fallback = _fallback(planned[i][0])
            if fallback is not None:
                planned[i] = (planned[i][0], fallback)
            else:
                _log.debug("%s: needed by no extension module in memory", getattr(planned[i][0], "name", "?"))

    dependencies: dict[str, tuple[str, ...]] = {}
    for i in extensions + libraries:
        if in_memory(i):
            dependencies[_library_key(planned[i][0])] = tuple(
                _library_key(planned[d][0]) for d in _load_order(i, direct) if in_memory(d)
            )
    return planned, dependencies


def _in_memory_prefix(planned: Iterable[PlannedResource]) -> str:
    counts: Counter[str] = Counter()
    for p in planned:
        if p.location != IN_MEMORY or p.resource.add.location_fallback is None:
            continue
        try:
            fallback = _fallback(p.resource)
        except BuildError:
            continue
        if fallback is not None:
            counts[fallback[1]] += 1
    return counts.most_common(1)[0][0] if counts else DEFAULT_IN_MEMORY_PREFIX
