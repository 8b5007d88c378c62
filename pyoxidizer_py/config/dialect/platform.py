"""Dialect types that only build on another platform, code signers, prompts and removed names.

WiX installers (Windows), macOS application bundles and universal binaries,
Snapcraft packages, wheel builders and code signers evaluate everywhere so
existing configs load: each has every method and attribute PyOxidizer 0.24 gave it
(Tugger's Starlark types). Building one of them here fails with a clear message.
"""

from __future__ import annotations

import sys
from collections.abc import Set as AbstractSet

from pyoxidizer_py.config.dialect.base import check_str, type_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (list-targets start-up)
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = ["PLATFORM_CONSTRUCTORS", "PROMPT_FUNCTIONS", "PlatformOnly"]


class PlatformOnly:
    """An object recorded for another platform's build. Methods record their arguments."""

    STARLARK_TYPE: ClassVar[str] = "PlatformOnly"
    PLATFORM: ClassVar[str] = ""
    STARLARK_GET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_SET: ClassVar[frozenset[str]] = frozenset()
    STARLARK_CALL: ClassVar[frozenset[str]] = frozenset()
    STARLARK_TAKES_CALLABLES: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "calls", [])
        object.__setattr__(self, "values", {})

    def __getattr__(self, name: str) -> Any:
        cls = type(self)
        if name == "to_file_content" and name in cls.STARLARK_CALL:
            return self.to_file_content
        if name == "write_to_directory" and name in cls.STARLARK_CALL:
            return self.write_to_directory
        if name in cls.STARLARK_CALL:

            def record(*args: Any, **kwargs: Any) -> None:
                self.calls.append((name, args, kwargs))

            record.__name__ = name
            return record
        if name in cls.STARLARK_GET:
            return self.values.get(name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).STARLARK_SET:
            raise AttributeError(f"{self.STARLARK_TYPE}.{name} cannot be assigned")
        self.values[name] = value

    def output_name(self) -> str:
        """The file name PyOxidizer would give this object's output."""
        for key in ("filename", "msi_filename", "bundle_filename", "wheel_file_name"):
            value = self.values.get(key)
            if isinstance(value, str) and value:
                return value
        for arg in self.args:
            if isinstance(arg, str) and arg:
                return arg.replace("/", "_")
        return self.STARLARK_TYPE

    def to_file_content(self) -> Any:
        """A ``FileContent`` holding what this object builds; using it in a build fails here."""
        from pyoxidizer_py.config.dialect.files import FileContent, FileEntry

        return FileContent.from_entry(FileEntry(unavailable=self.build_error()), self.output_name())

    def write_to_directory(self, path: Any) -> str:
        """Record a write of this object's output; the build of the target fails on this machine."""
        from pyoxidizer_py.config.dialect.files import FileEntry, defer_write

        return defer_write("write_to_directory", path, self.output_name(), FileEntry(unavailable=self.build_error()))

    def build_error(self) -> str:
        """The message shown when a target returning this object is built on this machine."""
        return (
            f"{self.STARLARK_TYPE} can only be built on {self.PLATFORM}; this machine is {sys.platform}. "
            "Build this target on that platform, or build another target here"
        )

    def __repr__(self) -> str:
        return f"<{self.STARLARK_TYPE}>"


def _platform_type(
    name: str, platform: str, methods: set[str], attrs: set[str], takes_callables: AbstractSet[str] = frozenset()
) -> type[PlatformOnly]:
    return type(
        name,
        (PlatformOnly,),
        {
            "STARLARK_TYPE": name,
            "PLATFORM": platform,
            "STARLARK_CALL": frozenset(methods | {"build"}),
            "STARLARK_GET": frozenset(attrs),
            "STARLARK_SET": frozenset(attrs),
            "STARLARK_TAKES_CALLABLES": frozenset(takes_callables),
            "__doc__": f"Tugger/PyOxidizer ``{name}`` (builds on {platform} only).",
        },
    )


_FILE_OUTPUT = {"to_file_content", "write_to_directory"}

WiXMSIBuilder = _platform_type(
    "WiXMSIBuilder",
    "Windows",
    {"add_program_files_manifest", "add_visual_cpp_redistributable", *_FILE_OUTPUT},
    {
        "arch",
        "banner_bmp_path",
        "dialog_bmp_path",
        "eula_rtf_path",
        "help_url",
        "license_path",
        "msi_filename",
        "package_description",
        "package_keywords",
        "product_icon_path",
        "target_triple",
        "upgrade_code",
    },
)
WiXBundleBuilder = _platform_type(
    "WiXBundleBuilder",
    "Windows",
    {"add_condition", "add_vc_redistributable", "add_wix_msi_builder", "chain", *_FILE_OUTPUT},
    {"bundle_filename", "target_triple"},
)
WiXInstaller = _platform_type(
    "WiXInstaller",
    "Windows",
    {
        "add_build_file",
        "add_build_files",
        "add_install_file",
        "add_install_files",
        "add_msi_builder",
        "add_simple_installer",
        "add_wxs_file",
        "set_variable",
        *_FILE_OUTPUT,
    },
    {"arch", "install_files_root_directory_id", "install_files_wxs_path"},
)
MacOsApplicationBundleBuilder = _platform_type(
    "MacOsApplicationBundleBuilder",
    "macOS",
    {
        "add_icon",
        "add_macos_file",
        "add_macos_manifest",
        "add_manifest",
        "add_resources_file",
        "add_resources_manifest",
        "set_info_plist_key",
        "set_info_plist_required_keys",
        "write_to_directory",
    },
    set(),
)
AppleUniversalBinary = _platform_type("AppleUniversalBinary", "macOS", {"add_path", "add_file", *_FILE_OUTPUT}, set())
SnapcraftBuilder = _platform_type(
    "SnapcraftBuilder", "Linux with snapcraft", {"add_invocation", "add_file_manifest"}, set()
)
Snap = _platform_type(
    "Snap",
    "Linux with snapcraft",
    {"to_builder"},
    {
        "adopt_info",
        "apps",
        "architectures",
        "assumes",
        "base",
        "confinement",
        "description",
        "grade",
        "icon",
        "license",
        "name",
        "passthrough",
        "parts",
        "plugs",
        "slots",
        "summary",
        "title",
        "type",
        "version",
    },
)
SnapApp = _platform_type(
    "SnapApp",
    "Linux with snapcraft",
    set(),
    {
        "adapter",
        "autostart",
        "command",
        "command_chain",
        "common_id",
        "daemon",
        "desktop",
        "environment",
        "extensions",
        "listen_stream",
        "passthrough",
        "plugs",
        "post_stop_command",
        "restart_condition",
        "slots",
        "socket",
        "socket_mode",
        "stop_command",
        "stop_timeout",
        "timer",
    },
)
SnapPart = _platform_type(
    "SnapPart",
    "Linux with snapcraft",
    set(),
    {
        "after",
        "build_attributes",
        "build_environment",
        "build_packages",
        "build_snaps",
        "filesets",
        "organize",
        "override_build",
        "override_prime",
        "override_pull",
        "override_stage",
        "parse_info",
        "plugin",
        "prime",
        "source",
        "source_branch",
        "source_checksum",
        "source_commit",
        "source_depth",
        "source_subdir",
        "source_tag",
        "source_type",
        "stage",
        "stage_packages",
        "stage_snaps",
    },
)
PythonWheelBuilder = _platform_type(
    "PythonWheelBuilder",
    "a machine with PyOxidizer's wheel builder (not implemented by pyoxidizer-py)",
    {"add_file", "add_file_data", "add_file_dist_info", "add_file_data_from_manifest", *_FILE_OUTPUT},
    {
        "abi_tag",
        "build_tag",
        "compression_level",
        "generator",
        "modified_time",
        "platform_tag",
        "python_tag",
        "root_is_purelib",
        "tag",
        "wheel_file_name",
    },
)
CodeSigner = _platform_type(
    "CodeSigner",
    "Windows or macOS (code signing)",
    {
        "activate",
        "chain_issuer_certificates_pem_file",
        "chain_issuer_certificates_macos_keychain",
        "set_time_stamp_server",
        "set_signing_callback",
    },
    set(),
    {"set_signing_callback"},
)


def code_signer_from_pfx_file(path: Any, password: Any) -> PlatformOnly:
    """A code signer from a PFX file (signing is not available on this platform)."""
    check_str("code_signer_from_pfx_file", "path", path)
    return CodeSigner(path)


def code_signer_from_windows_store_sha1_thumbprint(thumbprint: Any, store: Any = "my") -> PlatformOnly:
    """A code signer from a Windows certificate store thumbprint."""
    return CodeSigner(check_str("code_signer_from_windows_store_sha1_thumbprint", "thumbprint", thumbprint))


def code_signer_from_windows_store_subject(subject: Any, store: Any = "my") -> PlatformOnly:
    """A code signer from a Windows certificate store subject."""
    return CodeSigner(check_str("code_signer_from_windows_store_subject", "subject", subject))


def code_signer_from_windows_store_auto() -> PlatformOnly:
    """A code signer picked automatically from the Windows certificate store."""
    return CodeSigner()


PLATFORM_CONSTRUCTORS: dict[str, Any] = {
    "WiXMSIBuilder": WiXMSIBuilder,
    "WiXBundleBuilder": WiXBundleBuilder,
    "WiXInstaller": WiXInstaller,
    "MacOsApplicationBundleBuilder": MacOsApplicationBundleBuilder,
    "AppleUniversalBinary": AppleUniversalBinary,
    "SnapcraftBuilder": SnapcraftBuilder,
    "Snap": Snap,
    "SnapApp": SnapApp,
    "SnapPart": SnapPart,
    "PythonWheelBuilder": PythonWheelBuilder,
    "code_signer_from_pfx_file": code_signer_from_pfx_file,
    "code_signer_from_windows_store_auto": code_signer_from_windows_store_auto,
    "code_signer_from_windows_store_subject": code_signer_from_windows_store_subject,
    "code_signer_from_windows_store_sha1_thumbprint": code_signer_from_windows_store_sha1_thumbprint,
}


# --- prompts --------------------------------------------------------------------------------
def can_prompt() -> bool:
    """Whether stdin is a terminal a prompt can read from."""
    return sys.stdin is not None and sys.stdin.isatty()


def _need_terminal(fn: str, default: Any) -> Any:
    if default is not None:
        return default
    raise RuntimeError(f"{fn}(): cannot prompt (stdin is not a terminal) and no default was given")


def prompt_confirm(prompt: Any, default: Any = None) -> bool:
    """Ask a yes/no question; returns ``default`` when not on a terminal."""
    check_str("prompt_confirm", "prompt", prompt)
    if not can_prompt():
        return bool(_need_terminal("prompt_confirm", default))
    answer = input(f"{prompt} [y/n] ").strip().lower()
    return answer in ("y", "yes") if answer else bool(default)


def prompt_input(prompt: Any, default: Any = None) -> str:
    """Ask for a line of text; returns ``default`` when not on a terminal."""
    check_str("prompt_input", "prompt", prompt)
    if not can_prompt():
        return str(_need_terminal("prompt_input", default))
    answer = input(f"{prompt} ")
    return answer or (default or "")


def prompt_password(prompt: Any, confirm: Any = False, default: Any = None) -> str:
    """Ask for a secret without echo; returns ``default`` when not on a terminal."""
    import getpass

    check_str("prompt_password", "prompt", prompt)
    if not can_prompt():
        return str(_need_terminal("prompt_password", default))
    first = getpass.getpass(f"{prompt} ")
    if confirm and getpass.getpass("Confirm: ") != first:
        raise ValueError("prompt_password(): the two entries differ")
    return first


PROMPT_FUNCTIONS: dict[str, Any] = {
    "can_prompt": can_prompt,
    "prompt_confirm": prompt_confirm,
    "prompt_input": prompt_input,
    "prompt_password": prompt_password,
}


def describe(value: Any) -> str:
    """Type name of a value for messages."""
    return type_name(value)
