"""Typed model of python-build-standalone's ``PYTHON.json`` (format versions 7 and 8).

``PYTHON.json`` is the first member (``python/PYTHON.json``) of a PBS *full* archive.
Its schema is PBS's ``src/json.rs`` (https://github.com/astral-sh/python-build-standalone;
described in https://gregoryszorc.com/docs/python-build-standalone/main/distributions.html):
version ``"7"`` (releases 20210325-20240909) and version ``"8"`` (20241002+, which adds
the required ``build_options`` key). Every path in the document is relative to the
archive's ``python/`` directory.

The raw JSON shape is described by ``TypedDict`` classes; ``PythonJson.from_dict``
validates a document once, reporting every problem with its dotted key
(``build_info.extensions._ssl[0].objs``), and returns frozen records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from pyoxidizer_py.errors import DistributionError

__all__ = [
    "MAX_PYTHON_JSON_BYTES",
    "SUPPORTED_VERSIONS",
    "BuildInfo",
    "BuildInfoDict",
    "CoreInfo",
    "CoreInfoDict",
    "ExtensionVariant",
    "ExtensionVariantDict",
    "LinkEntry",
    "LinkEntryDict",
    "PythonJson",
    "PythonJsonDict",
    "PythonJsonError",
    "load_python_json",
]

logger = logging.getLogger(__name__)

SUPPORTED_VERSIONS = ("7", "8")
"""``PYTHON.json`` format versions this model reads."""

MAX_PYTHON_JSON_BYTES = 64 << 20
"""Largest ``PYTHON.json`` read (real ones are 100-300 KB)."""

_LINK_MODES = ("shared", "static")
_SYMBOL_VISIBILITIES = ("global-default", "dllexport")
_SUFFIX_KEYS = ("bytecode", "debug_bytecode", "extension", "optimized_bytecode", "source")
_APPLE_KEYS = (
    "apple_sdk_canonical_name",
    "apple_sdk_platform",
    "apple_sdk_version",
    "apple_sdk_deployment_target",
)


# ---------------------------------------------------------------------------------------------
# Raw shapes (the JSON as read).


class _LinkEntryRequired(TypedDict):
    name: str


class LinkEntryDict(_LinkEntryRequired, total=False):
    """A link entry as written in PYTHON.json."""

    path_static: str
    path_dynamic: str
    framework: bool
    system: bool


class _ExtensionVariantRequired(TypedDict):
    in_core: bool
    init_fn: str
    links: list[LinkEntryDict]
    objs: list[str]
    required: bool
    variant: str


class ExtensionVariantDict(_ExtensionVariantRequired, total=False):
    """One variant of an extension module in ``build_info.extensions``."""

    shared_lib: str | None
    static_lib: str | None
    licenses: list[str] | None
    license_paths: list[str] | None
    license_public_domain: bool | None


class _CoreInfoRequired(TypedDict):
    objs: list[str]
    links: list[LinkEntryDict]


class CoreInfoDict(_CoreInfoRequired, total=False):
    """``build_info.core``."""

    shared_lib: str | None
    static_lib: str | None


class BuildInfoDict(TypedDict):
    """``build_info``."""

    core: CoreInfoDict
    extensions: dict[str, list[ExtensionVariantDict]]
    inittab_object: str
    inittab_source: str
    inittab_cflags: list[str]
    object_file_format: str


class _PythonJsonRequired(TypedDict):
    version: str
    target_triple: str
    optimizations: str
    python_tag: str
    python_version: str
    python_major_minor_version: str
    python_implementation_cache_tag: str
    python_implementation_hex_version: int
    python_implementation_name: str
    python_implementation_version: list[str]
    python_platform_tag: str
    python_exe: str
    python_paths: dict[str, str]
    python_paths_abstract: dict[str, str]
    python_config_vars: dict[str, str]
    python_suffixes: dict[str, list[str]]
    python_bytecode_magic_number: str
    python_stdlib_test_packages: list[str]
    python_symbol_visibility: str
    python_extension_module_loading: list[str]
    libpython_link_mode: str
    crt_features: list[str]
    run_tests: str
    build_info: BuildInfoDict


class PythonJsonDict(_PythonJsonRequired, total=False):
    """The whole document; ``build_options`` is required from version 8."""

    build_options: str
    python_abi_tag: str | None
    python_stdlib_platform_config: str | None
    licenses: list[str] | None
    license_path: str | None
    tcl_library_path: str | None
    tcl_library_paths: list[str] | None
    apple_sdk_canonical_name: str | None
    apple_sdk_platform: str | None
    apple_sdk_version: str | None
    apple_sdk_deployment_target: str | None


# ---------------------------------------------------------------------------------------------
# Validation helpers: each reads one key, records a problem naming the dotted key, and returns
# a usable placeholder so validation can continue and report every problem at once.

_T = TypeVar("_T")


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}" if key else message)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _get(  # noqa: PLR0917 - private validator called with positional (data, key, prefix, ...) everywhere
    data: Mapping[str, Any],
    key: str,
    prefix: str,
    problems: _Problems,
    check: Callable[[object], bool],
    expected: str,
    default: _T,
    *,
    required: bool = True,
    nullable: bool = False,
) -> Any:
    path = _join(prefix, key)
    if key not in data:
        if required:
            problems.add(path, "required key is missing")
        return default
    value = data[key]
    if value is None and (nullable or not required):
        return default
    if not check(value):
        problems.add(path, f"expected {expected}, got {_type_name(value)}")
        return default
    return value


def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _is_bool(v: object) -> bool:
    return isinstance(v, bool)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_str_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_str_map(v: object) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


def _is_str_list_map(v: object) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _is_str_list(x) for k, x in v.items())


def _is_obj(v: object) -> bool:
    return isinstance(v, dict)


def _is_list(v: object) -> bool:
    return isinstance(v, list)


def _opt_tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


# ---------------------------------------------------------------------------------------------
# Records.


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkEntry:
    """A library to link (``build_info.core.links[]`` or an extension's ``links[]``).

    Attributes:
        name: library name without ``lib`` prefix or suffix (``"ssl"``).
        path_static: static library path relative to ``python/`` (``build/lib/libssl.a``), or None.
        path_dynamic: shared library path relative to ``python/``, or None.
        framework: a macOS framework.
        system: a library provided by the system (``-l<name>``).
    """

    name: str
    path_static: str | None = None
    path_dynamic: str | None = None
    framework: bool = False
    system: bool = False

    @property
    def kind(self) -> str:
        """``"system"``, ``"framework"`` or ``"library"`` (PyOxidizer's link type names)."""
        if self.framework:
            return "framework"
        if self.system:
            return "system"
        return "library"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], prefix: str, problems: _Problems) -> LinkEntry:
        """Validate one link entry; problems are recorded under ``prefix``."""
        return cls(
            name=_get(data, "name", prefix, problems, _is_str, "a string", ""),
            path_static=_get(data, "path_static", prefix, problems, _is_str, "a string", None, required=False),
            path_dynamic=_get(data, "path_dynamic", prefix, problems, _is_str, "a string", None, required=False),
            framework=_get(data, "framework", prefix, problems, _is_bool, "a bool", False, required=False),
            system=_get(data, "system", prefix, problems, _is_bool, "a bool", False, required=False),
        )

    def to_dict(self) -> LinkEntryDict:
        """The JSON shape, omitting unset optional keys."""
        out: LinkEntryDict = {"name": self.name}
        if self.path_static is not None:
            out["path_static"] = self.path_static
        if self.path_dynamic is not None:
            out["path_dynamic"] = self.path_dynamic
        if self.framework:
            out["framework"] = True
        if self.system:
            out["system"] = True
        return out


def _links(data: Mapping[str, Any], prefix: str, problems: _Problems) -> tuple[LinkEntry, ...]:
    raw = _get(data, "links", prefix, problems, _is_list, "a list", [])
    out = []
    for i, item in enumerate(raw):
        item_path = f"{_join(prefix, 'links')}[{i}]"
        if not isinstance(item, dict):
            problems.add(item_path, f"expected an object, got {_type_name(item)}")
            continue
        out.append(LinkEntry.from_dict(item, item_path, problems))
    return tuple(out)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtensionVariant:
    """One way an extension module was built (``build_info.extensions.<name>[i]``).

    Attributes:
        in_core: the module's objects are part of ``core.objs`` (``sys``, ``_imp``, ...).
        init_fn: the init function (``PyInit__io``), or the string ``"NULL"`` (``builtins``, ``sys``).
        links: libraries the module needs.
        objs: object files relative to ``python/``.
        required: the interpreter needs the module.
        variant: variant name (``"default"``).
        shared_lib: the module's own ``.so``/``.pyd`` relative to ``python/`` when not built in.
        static_lib: a static library of the module, if any.
        licenses: SPDX identifiers of its third-party code, or None when unknown.
        license_paths: license text files relative to ``python/``, or None.
        license_public_domain: True when the code is public domain, None when unknown.
    """

    in_core: bool
    init_fn: str
    links: tuple[LinkEntry, ...]
    objs: tuple[str, ...]
    required: bool
    variant: str
    shared_lib: str | None = None
    static_lib: str | None = None
    licenses: tuple[str, ...] | None = None
    license_paths: tuple[str, ...] | None = None
    license_public_domain: bool | None = None

    @property
    def builtin(self) -> bool:
        """True when the module is compiled into libpython (no ``shared_lib``)."""
        return self.shared_lib is None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], prefix: str, problems: _Problems) -> ExtensionVariant:
        """Validate one variant; problems are recorded under ``prefix``."""
        g = _get
        return cls(
            in_core=g(data, "in_core", prefix, problems, _is_bool, "a bool", False),
            init_fn=g(data, "init_fn", prefix, problems, _is_str, "a string", ""),
            links=_links(data, prefix, problems),
            objs=tuple(g(data, "objs", prefix, problems, _is_str_list, "a list of strings", [])),
            required=g(data, "required", prefix, problems, _is_bool, "a bool", False),
            variant=g(data, "variant", prefix, problems, _is_str, "a string", "default"),
            shared_lib=g(data, "shared_lib", prefix, problems, _is_str, "a string", None, required=False),
            static_lib=g(data, "static_lib", prefix, problems, _is_str, "a string", None, required=False),
            licenses=_opt_tuple(
                g(data, "licenses", prefix, problems, _is_str_list, "a list of strings", None, required=False)
            ),
            license_paths=_opt_tuple(
                g(data, "license_paths", prefix, problems, _is_str_list, "a list of strings", None, required=False)
            ),
            license_public_domain=g(
                data, "license_public_domain", prefix, problems, _is_bool, "a bool", None, required=False
            ),
        )

    def to_dict(self) -> ExtensionVariantDict:
        """The JSON shape, omitting unset optional keys."""
        out: ExtensionVariantDict = {
            "in_core": self.in_core,
            "init_fn": self.init_fn,
            "links": [link.to_dict() for link in self.links],
            "objs": list(self.objs),
            "required": self.required,
            "variant": self.variant,
        }
        if self.shared_lib is not None:
            out["shared_lib"] = self.shared_lib
        if self.static_lib is not None:
            out["static_lib"] = self.static_lib
        if self.licenses is not None:
            out["licenses"] = list(self.licenses)
        if self.license_paths is not None:
            out["license_paths"] = list(self.license_paths)
        if self.license_public_domain is not None:
            out["license_public_domain"] = self.license_public_domain
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class CoreInfo:
    """``build_info.core``: the objects and links of libpython itself.

    ``static_lib``/``shared_lib`` are as written; PBS hard-codes them on Linux, so use
    ``PythonJson.static_library_path``/``shared_library_path`` instead.
    """

    objs: tuple[str, ...]
    links: tuple[LinkEntry, ...]
    shared_lib: str | None = None
    static_lib: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], prefix: str, problems: _Problems) -> CoreInfo:
        """Validate ``build_info.core``."""
        return cls(
            objs=tuple(_get(data, "objs", prefix, problems, _is_str_list, "a list of strings", [])),
            links=_links(data, prefix, problems),
            shared_lib=_get(data, "shared_lib", prefix, problems, _is_str, "a string", None, required=False),
            static_lib=_get(data, "static_lib", prefix, problems, _is_str, "a string", None, required=False),
        )

    def to_dict(self) -> CoreInfoDict:
        """The JSON shape."""
        out: CoreInfoDict = {"objs": list(self.objs), "links": [link.to_dict() for link in self.links]}
        if self.shared_lib is not None:
            out["shared_lib"] = self.shared_lib
        if self.static_lib is not None:
            out["static_lib"] = self.static_lib
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildInfo:
    """``build_info``: what a static libpython is made of.

    Attributes:
        core: libpython's objects and links.
        extensions: module name -> its variants (normally one).
        inittab_object: the object holding CPython's original ``_PyImport_Inittab``.
        inittab_source: its C source (``build/Modules/config.c``).
        inittab_cflags: flags to compile a regenerated ``config.c``.
        object_file_format: ``"elf"``, ``"mach-o"``, ``"coff"`` or ``"llvm-bitcode:<version>"``.
    """

    core: CoreInfo
    extensions: Mapping[str, tuple[ExtensionVariant, ...]] = field(hash=False)
    inittab_object: str
    inittab_source: str
    inittab_cflags: tuple[str, ...]
    object_file_format: str

    @property
    def is_llvm_bitcode(self) -> bool:
        """True for LTO builds, whose objects only the exact PBS LLVM toolchain can link."""
        return self.object_file_format.startswith("llvm-bitcode:")

    @property
    def llvm_version(self) -> str | None:
        """The LLVM version of bitcode objects (PBS writes a stray ``%`` on Linux), else None."""
        if not self.is_llvm_bitcode:
            return None
        return self.object_file_format.split(":", 1)[1].lstrip("%")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], prefix: str, problems: _Problems) -> BuildInfo:
        """Validate ``build_info``."""
        core_raw = _get(data, "core", prefix, problems, _is_obj, "an object", {})
        core = CoreInfo.from_dict(core_raw, _join(prefix, "core"), problems)
        ext_raw = _get(data, "extensions", prefix, problems, _is_obj, "an object", {})
        extensions: dict[str, tuple[ExtensionVariant, ...]] = {}
        for name, variants in ext_raw.items():
            ext_path = _join(_join(prefix, "extensions"), name)
            if not isinstance(variants, list):
                problems.add(ext_path, f"expected a list of variants, got {_type_name(variants)}")
                continue
            parsed = []
            for i, variant in enumerate(variants):
                if not isinstance(variant, dict):
                    problems.add(f"{ext_path}[{i}]", f"expected an object, got {_type_name(variant)}")
                    continue
                parsed.append(ExtensionVariant.from_dict(variant, f"{ext_path}[{i}]", problems))
            extensions[name] = tuple(parsed)
        return cls(
            core=core,
            extensions=extensions,
            inittab_object=_get(data, "inittab_object", prefix, problems, _is_str, "a string", ""),
            inittab_source=_get(data, "inittab_source", prefix, problems, _is_str, "a string", ""),
            inittab_cflags=tuple(_get(data, "inittab_cflags", prefix, problems, _is_str_list, "a list of strings", [])),
            object_file_format=_get(data, "object_file_format", prefix, problems, _is_str, "a string", ""),
        )

    def to_dict(self) -> BuildInfoDict:
        """The JSON shape."""
        return {
            "core": self.core.to_dict(),
            "extensions": {n: [v.to_dict() for v in vs] for n, vs in self.extensions.items()},
            "inittab_object": self.inittab_object,
            "inittab_source": self.inittab_source,
            "inittab_cflags": list(self.inittab_cflags),
            "object_file_format": self.object_file_format,
        }


class PythonJsonError(DistributionError):
    """A ``PYTHON.json`` that is not a valid version 7 or 8 document.

    Attributes:
        source: the file (or archive member) the document came from.
        problems: every problem found, each ``"<dotted key>: <what is wrong>"``.
    """

    def __init__(self, source: str, problems: list[str] | tuple[str, ...]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"invalid PYTHON.json in {source}: " + "; ".join(self.problems))


_STR = (_is_str, "a string")
_STR_LIST = (_is_str_list, "a list of strings")
_STR_MAP = (_is_str_map, "an object of strings")

# (key, (check, expected), default) for the required scalar/list/map keys, in schema order.
_REQUIRED_FIELDS: tuple[tuple[str, tuple[Callable[[object], bool], str], Any], ...] = (
    ("target_triple", _STR, ""),
    ("optimizations", _STR, ""),
    ("python_tag", _STR, ""),
    ("python_version", _STR, ""),
    ("python_major_minor_version", _STR, ""),
    ("python_implementation_cache_tag", _STR, ""),
    ("python_implementation_hex_version", (_is_int, "an int"), 0),
    ("python_implementation_name", _STR, ""),
    ("python_implementation_version", _STR_LIST, []),
    ("python_platform_tag", _STR, ""),
    ("python_exe", _STR, ""),
    ("python_paths", _STR_MAP, {}),
    ("python_paths_abstract", _STR_MAP, {}),
    ("python_config_vars", _STR_MAP, {}),
    ("python_suffixes", (_is_str_list_map, "an object of string lists"), {}),
    ("python_bytecode_magic_number", _STR, ""),
    ("python_stdlib_test_packages", _STR_LIST, []),
    ("python_symbol_visibility", _STR, ""),
    ("python_extension_module_loading", _STR_LIST, []),
    ("libpython_link_mode", _STR, ""),
    ("crt_features", _STR_LIST, []),
    ("run_tests", _STR, ""),
)

_OPTIONAL_STR_FIELDS = (
    "python_abi_tag",
    "python_stdlib_platform_config",
    "license_path",
    "tcl_library_path",
    *_APPLE_KEYS,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class PythonJson:
    """A validated ``PYTHON.json`` (every key of format versions 7 and 8).

    Paths are relative to the archive's ``python/`` directory. ``build_options`` is None
    for version 7 documents (use ``effective_build_options``). Maps are plain dicts and must
    not be mutated.
    """

    version: str
    target_triple: str
    optimizations: str
    build_options: str | None
    python_tag: str
    python_version: str
    python_major_minor_version: str
    python_implementation_cache_tag: str
    python_implementation_hex_version: int
    python_implementation_name: str
    python_implementation_version: tuple[str, ...]
    python_platform_tag: str
    python_exe: str
    python_paths: Mapping[str, str] = field(hash=False)
    python_paths_abstract: Mapping[str, str] = field(hash=False)
    python_config_vars: Mapping[str, str] = field(hash=False)
    python_suffixes: Mapping[str, tuple[str, ...]] = field(hash=False)
    python_bytecode_magic_number: str
    python_stdlib_test_packages: tuple[str, ...]
    python_symbol_visibility: str
    python_extension_module_loading: tuple[str, ...]
    libpython_link_mode: str
    crt_features: tuple[str, ...]
    run_tests: str
    build_info: BuildInfo
    python_abi_tag: str | None = None
    python_stdlib_platform_config: str | None = None
    licenses: tuple[str, ...] | None = None
    license_path: str | None = None
    tcl_library_path: str | None = None
    tcl_library_paths: tuple[str, ...] | None = None
    apple_sdk_canonical_name: str | None = None
    apple_sdk_platform: str | None = None
    apple_sdk_version: str | None = None
    apple_sdk_deployment_target: str | None = None

    @classmethod
    def from_dict(cls, data: object, *, source: str = "PYTHON.json") -> PythonJson:
        """Validate a parsed document.

        Args:
            data: the value of ``json.load`` (expected: a ``PythonJsonDict``).
            source: where it came from, for messages (a path or ``archive!python/PYTHON.json``).

        Returns:
            The validated record.

        Raises:
            PythonJsonError: the version is missing or not ``"7"``/``"8"`` (checked first, alone),
                or any key is missing or has the wrong type or value; the message lists every
                problem with its dotted key.
        """
        if not isinstance(data, dict):
            raise PythonJsonError(source, [f"expected a JSON object, got {_type_name(data)}"])
        version = data.get("version")
        if "version" not in data:
            raise PythonJsonError(source, ["version: required key is missing"])
        if version not in SUPPORTED_VERSIONS:
            raise PythonJsonError(
                source,
                [
                    f"version: unsupported PYTHON.json version {version!r} (supported: 7, 8); "
                    "use a python-build-standalone release from 20210325 or newer"
                ],
            )
        problems = _Problems()
        values: dict[str, Any] = {}
        for key, (check, expected), default in _REQUIRED_FIELDS:
            values[key] = _get(data, key, "", problems, check, expected, default)
        build_options = _get(data, "build_options", "", problems, _is_str, "a string", None, required=version == "8")
        build_info_raw = _get(data, "build_info", "", problems, _is_obj, "an object", {})
        build_info = BuildInfo.from_dict(build_info_raw, "build_info", problems)
        optional: dict[str, Any] = {
            key: _get(data, key, "", problems, _is_str, "a string", None, required=False)
            for key in _OPTIONAL_STR_FIELDS
        }
        for key in ("licenses", "tcl_library_paths"):
            optional[key] = _opt_tuple(
                _get(data, key, "", problems, _is_str_list, "a list of strings", None, required=False)
            )

        # Value checks beyond types.
        for key in ("include", "stdlib"):
            if (
                isinstance(values["python_paths"], dict)
                and "python_paths" in data
                and key not in values["python_paths"]
            ):
                problems.add(f"python_paths.{key}", "required key is missing")
        for key in _SUFFIX_KEYS:
            if (
                "python_suffixes" in data
                and isinstance(values["python_suffixes"], dict)
                and key not in values["python_suffixes"]
            ):
                problems.add(f"python_suffixes.{key}", "required key is missing")
        if values["libpython_link_mode"] and values["libpython_link_mode"] not in _LINK_MODES:
            problems.add("libpython_link_mode", f"expected 'shared' or 'static', got {values['libpython_link_mode']!r}")
        if values["python_symbol_visibility"] and values["python_symbol_visibility"] not in _SYMBOL_VISIBILITIES:
            problems.add(
                "python_symbol_visibility",
                f"expected 'global-default' or 'dllexport', got {values['python_symbol_visibility']!r}",
            )
        magic = values["python_bytecode_magic_number"]
        if magic:
            try:
                bytes.fromhex(magic)
            except ValueError:
                problems.add("python_bytecode_magic_number", f"expected hex digits, got {magic!r}")
        present_apple = [k for k in _APPLE_KEYS if optional[k] is not None]
        if present_apple and len(present_apple) != len(_APPLE_KEYS):
            missing = [k for k in _APPLE_KEYS if optional[k] is None]
            for key in missing:
                problems.add(key, "required when the other apple_sdk_* keys are present")

        known = (
            {k for k, _, _ in _REQUIRED_FIELDS}
            | set(_OPTIONAL_STR_FIELDS)
            | {
                "version",
                "build_options",
                "build_info",
                "licenses",
                "tcl_library_paths",
            }
        )
        unknown = sorted(set(data) - known)
        if unknown:
            logger.debug("%s: ignoring unknown PYTHON.json keys %s", source, ", ".join(unknown))
        if problems.items:
            raise PythonJsonError(source, problems.items)

        kwargs: dict[str, Any] = {**values, **optional}
        for key in _TUPLE_FIELDS:
            kwargs[key] = tuple(values[key])
        kwargs["python_suffixes"] = {k: tuple(v) for k, v in values["python_suffixes"].items()}
        return cls(version=version, build_options=build_options, build_info=build_info, **kwargs)

    def to_dict(self) -> PythonJsonDict:
        """The JSON shape (optional keys that are None are omitted)."""
        out: dict[str, Any] = {"version": self.version}
        if self.build_options is not None:
            out["build_options"] = self.build_options
        for key, _, _ in _REQUIRED_FIELDS:
            value = getattr(self, key)
            if isinstance(value, tuple):
                value = list(value)
            elif key == "python_suffixes":
                value = {k: list(v) for k, v in value.items()}
            elif isinstance(value, Mapping):
                value = dict(value)
            out[key] = value
        out["build_info"] = self.build_info.to_dict()
        for key in (*_OPTIONAL_STR_FIELDS, "licenses", "tcl_library_paths"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out  # type: ignore[return-value]

    # -- derived values ---------------------------------------------------------------------

    @property
    def effective_build_options(self) -> str:
        """``build_options`` (v8), else ``optimizations`` (v7)."""
        return self.build_options if self.build_options is not None else self.optimizations

    @property
    def abiflags(self) -> str:
        """``sys.abiflags``: ``python_abi_tag``, else the ``abiflags`` config var, else ``""``."""
        if self.python_abi_tag is not None:
            return self.python_abi_tag
        return self.python_config_vars.get("abiflags", self.python_config_vars.get("ABIFLAGS", ""))

    @property
    def bytecode_magic(self) -> bytes:
        """``importlib.util.MAGIC_NUMBER`` decoded from hex."""
        return bytes.fromhex(self.python_bytecode_magic_number)

    def static_library_path(self) -> str | None:
        """The static libpython relative to ``python/``, derived (not ``core.static_lib``, which PBS
        hard-codes wrongly for musl, debug, free-threaded and cross builds), or None on Windows.

        Source: ``build_info.core.static_lib`` and ``python_config_vars`` in
        https://gregoryszorc.com/docs/python-build-standalone/main/distributions.html, checked against release archives.
        """
        library = self.python_config_vars.get("LIBRARY")
        if self.python_stdlib_platform_config and library:
            return f"{self.python_stdlib_platform_config}/{library}"
        ldversion = self.python_config_vars.get("LDVERSION")
        if ldversion:
            return f"install/lib/libpython{ldversion}.a"
        return self.build_info.core.static_lib

    def shared_library_path(self) -> str | None:
        """The shared libpython relative to ``python/`` (``install/lib/<INSTSONAME>``), or
        ``core.shared_lib`` when the config var is absent (Windows), or None for static builds."""
        if self.libpython_link_mode != "shared":
            return None
        soname = self.python_config_vars.get("INSTSONAME")
        if soname:
            return f"install/lib/{soname}"
        return self.build_info.core.shared_lib

    def builtin_extension_names(self) -> tuple[str, ...]:
        """Sorted names of modules compiled into libpython (default variant has no ``shared_lib``)."""
        return tuple(sorted(n for n, vs in self.build_info.extensions.items() if vs and vs[0].builtin))


_TUPLE_FIELDS = (
    "python_implementation_version",
    "python_stdlib_test_packages",
    "python_extension_module_loading",
    "crt_features",
)


def load_python_json(path: Path, *, source: str | None = None) -> PythonJson:
    """Read and validate a ``PYTHON.json`` file.

    Args:
        path: the file (``<root>/python/PYTHON.json``).
        source: name for messages (default: the path).

    Returns:
        The validated record.

    Raises:
        DistributionError: the file is missing or not JSON.
        PythonJsonError: the document is not a valid version 7/8 document.
    """
    name = source or str(path)
    try:
        if path.stat().st_size > MAX_PYTHON_JSON_BYTES:
            raise DistributionError(
                f"{name}: PYTHON.json is larger than {MAX_PYTHON_JSON_BYTES >> 20} MiB; refusing to parse it"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DistributionError(
            f"{name}: PYTHON.json does not exist; is this a python-build-standalone full archive?"
        ) from None
    except OSError as exc:
        raise DistributionError(f"{name}: cannot read PYTHON.json: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DistributionError(f"{name}: PYTHON.json is not UTF-8 (byte offset {exc.start})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DistributionError(f"{name}:{exc.lineno}:{exc.colno}: PYTHON.json is not valid JSON: {exc.msg}") from exc
    except ValueError as exc:  # e.g. an integer longer than sys.get_int_max_str_digits()
        raise DistributionError(f"{name}: PYTHON.json is not valid JSON: {exc}") from exc
    except RecursionError:
        # The C scanner recurses once per nested [ or {; real documents nest 5 levels deep.
        raise DistributionError(f"{name}: PYTHON.json nests arrays/objects too deeply to be a PYTHON.json") from None
    return PythonJson.from_dict(data, source=name)
