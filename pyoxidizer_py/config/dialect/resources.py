"""Dialect façades for Python resources (``PythonModuleSource``, ``PythonPackageResource``, ...).

Each façade wraps one frozen record of ``resources.model`` and lets Starlark read
its descriptive attributes and set its ``add_*`` placement attributes (the
record is replaced, never mutated).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from pyoxidizer_py.config.dialect.base import type_name
from pyoxidizer_py.resources import model
from pyoxidizer_py.resources.policy import parse_location

__all__ = ["ADD_ATTRIBUTES", "ResourceFacade", "unwrap_resource", "wrap_resource"]

# Starlark attribute -> (AddAttributes field, kind)
ADD_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "add_include": ("include", "bool"),
    "add_location": ("location", "location"),
    "add_location_fallback": ("location_fallback", "optional_location"),
    "add_source": ("source", "bool"),
    "add_bytecode_optimization_level_zero": ("bytecode_optimization_level_zero", "bool"),
    "add_bytecode_optimization_level_one": ("bytecode_optimization_level_one", "bool"),
    "add_bytecode_optimization_level_two": ("bytecode_optimization_level_two", "bool"),
}


class ResourceFacade:
    """Base of resource façades: ``record`` is the current frozen record."""

    STARLARK_TYPE: ClassVar[str] = "PythonResource"
    FIELDS: ClassVar[tuple[str, ...]] = ()
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset(ADD_ATTRIBUTES)
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.STARLARK_GET = frozenset(cls.FIELDS) | frozenset(ADD_ATTRIBUTES)

    def __init__(self, record: model.Resource) -> None:
        object.__setattr__(self, "record", record)

    def __getattr__(self, name: str) -> Any:
        if name in ADD_ATTRIBUTES:
            return getattr(self.record.add, ADD_ATTRIBUTES[name][0])
        if name in self.FIELDS:
            return self._field(name)
        raise AttributeError(name)

    def _field(self, name: str) -> Any:
        return getattr(self.record, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ADD_ATTRIBUTES:
            raise AttributeError(f"{self.STARLARK_TYPE}.{name} cannot be assigned")
        field, kind = ADD_ATTRIBUTES[name]
        label = f"{self.STARLARK_TYPE}.{name}"
        if kind == "bool":
            if not isinstance(value, bool):
                raise TypeError(f"{label} must be a bool, got {type_name(value)}")
        elif value is None and kind == "optional_location":
            pass
        elif not isinstance(value, str):
            raise TypeError(f"{label} must be a string, got {type_name(value)}")
        else:
            try:
                parse_location(value)
            except ValueError as exc:
                raise ValueError(f"{label}: {exc}") from None
        add = dataclasses.replace(self.record.add, **{field: value})
        object.__setattr__(self, "record", dataclasses.replace(self.record, add=add))

    def __repr__(self) -> str:
        return f"<{self.STARLARK_TYPE} {getattr(self.record, 'name', '')}>"


class PythonModuleSource(ResourceFacade):
    """A module's source code."""

    STARLARK_TYPE = "PythonModuleSource"
    FIELDS = ("name", "source", "is_package", "is_stdlib", "is_test")

    def _field(self, name: str) -> Any:
        if name == "source":
            return model.read_content(self.record).decode("utf-8", "replace")
        return getattr(self.record, name)


class PythonPackageResource(ResourceFacade):
    """A data file of a package."""

    STARLARK_TYPE = "PythonPackageResource"
    FIELDS = ("package", "name", "is_stdlib", "is_test")


class PythonPackageDistributionResource(ResourceFacade):
    """A file of a package's distribution metadata (``*.dist-info``)."""

    STARLARK_TYPE = "PythonPackageDistributionResource"
    FIELDS = ("package", "version", "name", "is_stdlib")


class PythonExtensionModule(ResourceFacade):
    """A compiled extension module."""

    STARLARK_TYPE = "PythonExtensionModule"
    FIELDS = ("name", "is_stdlib", "is_builtin")


class SharedLibrary(ResourceFacade):
    """A shared library needed by an extension module."""

    STARLARK_TYPE = "SharedLibrary"
    FIELDS = ("name",)


class File(ResourceFacade):
    """A plain file resource."""

    STARLARK_TYPE = "File"
    FIELDS = ("path", "is_executable")

    def _field(self, name: str) -> Any:
        if name == "path":
            return self.record.path_in_install
        return getattr(self.record, name)

    def __repr__(self) -> str:
        return f"<File {self.record.path_in_install}>"


_FACADES: dict[type, type[ResourceFacade]] = {
    model.PythonModuleSource: PythonModuleSource,
    model.PythonPackageResource: PythonPackageResource,
    model.PythonPackageDistributionResource: PythonPackageDistributionResource,
    model.PythonExtensionModule: PythonExtensionModule,
    model.SharedLibrary: SharedLibrary,
    model.File: File,
}


def wrap_resource(record: model.Resource) -> ResourceFacade:
    """Return the dialect façade for a resource record."""
    return _FACADES[type(record)](record)


def unwrap_resource(value: Any, fn: str) -> model.Resource:
    """Return the record behind a resource façade.

    Raises:
        TypeError: ``value`` is not a Python resource (message names ``fn``).
    """
    if isinstance(value, ResourceFacade):
        record: model.Resource = value.record
        return record
    raise TypeError(f"{fn}(): resource argument must be a Python resource type, got {type_name(value)}")
