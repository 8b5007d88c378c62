"""Typed, validated settings: the single table behind dialect attributes and their docs.

Records such as ``artifacts.interpreter_config.InterpreterConfig`` and
``resources.policy.PackagingPolicy`` declare each setting with ``setting()``. The
Starlark façade types read those declarations to validate assignments, and
``docs/configuration.md`` is generated from the same declarations, so the code,
the dialect and the reference cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Setting", "setting", "settings_of", "validate_setting"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Setting:
    """How one attribute may be set.

    Attributes:
        name: the attribute name, as spelled in Starlark.
        type_name: human-readable type, e.g. ``"bool"``, ``"str | None"``, ``"list[str]"``.
        choices: allowed strings for enumerations (empty when free-form).
        prefixes: allowed ``prefix:`` forms for strings such as ``"filesystem-relative:lib"``.
        optional: whether None is accepted.
        default: the default value (as Starlark sees it).
        doc: one-sentence description for the configuration reference.
        group: section of the reference the setting belongs to (for example ``"PyConfig"``).
        read_only: True when Starlark may read but not assign it.
        int_range: inclusive (lowest, highest) for ``int`` settings, or None.
    """

    name: str
    type_name: str
    choices: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    optional: bool = False
    default: Any = None
    doc: str = ""
    group: str = ""
    read_only: bool = False
    int_range: tuple[int, int] | None = None


_KINDS: dict[str, type | tuple[type, ...]] = {
    "bool": bool,
    "int": int,
    "str": str,
    "list[str]": list,
    "dict": dict,
}


def setting(
    kind: str,
    default: Any = None,
    *,
    doc: str,
    choices: Sequence[str] = (),
    prefixes: Sequence[str] = (),
    optional: bool = False,
    group: str = "",
    read_only: bool = False,
    int_range: tuple[int, int] | None = None,
) -> Any:
    """Declare a dataclass field that is a validated setting.

    Args:
        kind: one of ``bool``, ``int``, ``str``, ``list[str]``, ``dict``.
        default: default value; lists are copied per instance.
        doc: description for the reference.
        choices: allowed values for ``str``/``int`` enumerations.
        prefixes: allowed ``prefix:`` forms (``"static:"`` accepts ``"static:/x"``).
        optional: accept None.
        group: reference section.
        read_only: not assignable from Starlark.
        int_range: inclusive bounds of an ``int`` setting (the C type it ends up in).

    Returns:
        A ``dataclasses.field`` carrying the setting in its metadata.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown setting kind {kind!r}")
    type_name = kind + (" | None" if optional else "")
    meta = Setting(
        name="",
        type_name=type_name,
        choices=tuple(str(c) for c in choices),
        prefixes=tuple(prefixes),
        optional=optional,
        default=default,
        doc=doc,
        group=group,
        read_only=read_only,
        int_range=int_range,
    )
    if isinstance(default, (list, dict)):

        def factory(d: Any = default) -> Any:
            return type(d)(d)

        return dataclasses.field(default_factory=factory, metadata={"setting": meta, "kind": kind})
    return dataclasses.field(default=default, metadata={"setting": meta, "kind": kind})


def settings_of(record_type: type) -> dict[str, Setting]:
    """Return the settings a record type declares, in declaration order.

    Args:
        record_type: a dataclass whose fields were declared with ``setting()``.

    Returns:
        ``{attribute name: Setting}``.
    """
    out: dict[str, Setting] = {}
    for f in dataclasses.fields(record_type):
        meta = f.metadata.get("setting")
        if meta is None:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"{record_type.__name__}.{f.name}: a setting needs a default")
        out[f.name] = dataclasses.replace(meta, name=f.name, default=default)
    return out


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_setting(record_type: type, name: str, value: Any, *, type_label: str | None = None) -> Any:
    """Check a value for one setting and return it normalised.

    Args:
        record_type: the record declaring the setting.
        name: attribute name.
        value: the value Starlark assigned (already unwrapped from the engine).
        type_label: the type name used in messages (default: the record's class name).

    Returns:
        The value to store (lists become lists of str, ints stay ints).

    Raises:
        AttributeError: the record has no such setting, or it is read-only.
        TypeError: the value has the wrong type.
        ValueError: the value is not one of the allowed strings.
    """
    fields = {f.name: f for f in dataclasses.fields(record_type)}
    f = fields.get(name)
    if f is None or "setting" not in f.metadata:
        raise AttributeError(f"{type_label or record_type.__name__} has no attribute {name!r}")
    meta: Setting = f.metadata["setting"]
    kind: str = f.metadata["kind"]
    label = f"{type_label or record_type.__name__}.{name}"
    if meta.read_only:
        raise AttributeError(f"{label} is read-only")
    if value is None:
        if meta.optional:
            return None
        raise TypeError(f"{label} must be {meta.type_name}, got None")
    expected = _KINDS[kind]
    # bool is a subclass of int: keep them apart.
    if (kind == "int" and isinstance(value, bool)) or not isinstance(value, expected):
        raise TypeError(f"{label} must be {meta.type_name}, got {_type_name(value)}")
    if kind == "int" and meta.int_range is not None and isinstance(value, int):
        low, high = meta.int_range
        if not low <= value <= high:
            raise ValueError(f"{label} must be between {low} and {high}; got {value}")
    if kind == "list[str]" and isinstance(value, list):
        value = list(value)
        for item in value:
            if not isinstance(item, str):
                raise TypeError(f"{label} must be a list of strings, got an item of type {_type_name(item)}")
    if meta.choices or meta.prefixes:
        text = str(value)
        ok = text in meta.choices or any(text.startswith(p) and len(text) > len(p) for p in meta.prefixes)
        if not ok:
            allowed = [repr(c) if kind == "str" else c for c in meta.choices]
            allowed += [f"'{p}<value>'" for p in meta.prefixes]
            raise ValueError(f"{label} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _type_name(value: Any) -> str:
    return {bool: "bool", int: "int", str: "string", list: "list", dict: "dict", tuple: "tuple"}.get(
        type(value), type(value).__name__
    )
