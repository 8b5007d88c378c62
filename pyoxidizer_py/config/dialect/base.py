"""Building blocks for dialect types: argument checks and settings-backed façades.

A dialect type declares ``STARLARK_TYPE`` (its name in messages and ``type()``),
``STARLARK_GET`` / ``STARLARK_SET`` / ``STARLARK_CALL`` (what Starlark may
touch; see ``config.engine``) and delegates real work to the stage packages.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = ["SettingsFacade", "check_bool", "check_list_of_str", "check_optional_str", "check_str"]


def _tn(value: Any) -> str:
    if value is None:
        return "NoneType"
    starlark = getattr(type(value), "STARLARK_TYPE", None)
    if starlark:
        return str(starlark)
    return {bool: "bool", int: "int", str: "string", list: "list", dict: "dict", tuple: "tuple"}.get(
        type(value), type(value).__name__
    )


def check_str(fn: str, arg: str, value: Any) -> str:
    """Require a string argument; raise ``TypeError`` naming the function and argument otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{fn}(): {arg} must be a string, got {_tn(value)}")
    return value


def check_optional_str(fn: str, arg: str, value: Any) -> str | None:
    """Require a string or None."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{fn}(): {arg} must be a string or None, got {_tn(value)}")
    return value


def check_bool(fn: str, arg: str, value: Any) -> bool:
    """Require a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"{fn}(): {arg} must be a bool, got {_tn(value)}")
    return value


def check_list_of_str(fn: str, arg: str, value: Any, *, optional: bool = False) -> list[str]:
    """Require a list (or tuple) of strings; None allowed when ``optional`` (returns [])."""
    if value is None and optional:
        return []
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{fn}(): {arg} must be a list of strings, got {_tn(value)}")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"{fn}(): {arg} must be a list of strings, got an item of type {_tn(item)}")
    return list(value)


type_name = _tn


class SettingsFacade:
    """A dialect type whose attributes are the settings of a record (validated on assignment).

    Subclasses set ``RECORD_TYPE`` and list their methods in ``STARLARK_CALL``;
    ``STARLARK_GET``/``STARLARK_SET`` are derived from the record's settings.
    """

    RECORD_TYPE: ClassVar[type]
    STARLARK_TYPE: ClassVar[str]
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The settings table loads with the first façade type (none is needed to list targets).
        from pyoxidizer_py.settings import settings_of

        settings = settings_of(cls.RECORD_TYPE)
        cls.STARLARK_GET = frozenset(settings)
        cls.STARLARK_SET = frozenset(n for n, s in settings.items() if not s.read_only)

    def __init__(self, record: Any) -> None:
        object.__setattr__(self, "record", record)

    def __getattr__(self, name: str) -> Any:
        if name in type(self).STARLARK_GET:
            value = getattr(self.record, name)
            return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        raise AttributeError(f"{self.STARLARK_TYPE} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).STARLARK_GET:
            raise AttributeError(f"{self.STARLARK_TYPE} has no attribute {name!r}")
        from pyoxidizer_py.settings import validate_setting

        setattr(self.record, name, validate_setting(self.RECORD_TYPE, name, value, type_label=self.STARLARK_TYPE))

    def __repr__(self) -> str:
        return f"<{self.STARLARK_TYPE}>"
