"""Starlark configuration: dialect, targets, load(), VARS, errors and the sandbox (issue 2)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.artifacts.interpreter_config import InterpreterConfig
from pyoxidizer_py.config.evaluate import EvaluationOptions, evaluate_config
from pyoxidizer_py.errors import ConfigError
from pyoxidizer_py.resources.policy import PackagingPolicy
from pyoxidizer_py.settings import settings_of
from tests.cli_helpers import run_cli as cli

DATA = Path(__file__).parent / "data" / "configs"


def write(tmp_path: Path, text: str, name: str = "pyoxidizer.bzl") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def evaluate(path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    return evaluate_config(EvaluationOptions(config_path=path, **kwargs))  # type: ignore[arg-type]


# --- PyOxidizer's own template and init-config-file ------------------------------------------
def test_pyoxidizer_024_template_lists_targets() -> None:
    result = cli("list-targets", str(DATA / "pyoxidizer_024_template.bzl"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["exe", "*install", "msi_installer", "resources"]


def test_pyoxidizer_024_template_resolves_with_host_python() -> None:
    ev = evaluate(
        DATA / "pyoxidizer_024_template.bzl", requested_targets=["install", "msi_installer"], distribution_spec="host"
    )
    assert ev.resolved == ("install", "msi_installer")
    exe = ev.values["exe"]
    assert exe.name == "myapp"
    assert any(r.name == "json" for r in exe.resources if hasattr(r, "is_package"))
    manifest = ev.values["install"]
    assert manifest.executables == [("", exe)]
    assert ev.default_build_script_target == "resources"


def test_init_config_file_with_code_and_pip_install(tmp_path: Path) -> None:
    result = cli(
        "init-config-file",
        str(tmp_path / "hello"),
        "--python-code",
        'print("hi \\"there\\"")',
        "--pip-install",
        "rich==13.7.1",
        "--pip-install",
        "six",
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "hello" / "pyoxidizer.bzl").read_text()
    assert 'python_config.run_command = "print(\\"hi \\\\\\"there\\\\\\"\\")"' in text
    assert 'exe.pip_install(["rich==13.7.1"])' in text and 'exe.pip_install(["six"])' in text
    listing = cli("list-targets", str(tmp_path / "hello"))
    assert listing.stdout.splitlines() == ["exe", "*install", "msi_installer", "resources"]
    # The run_command value round-trips through Starlark exactly.
    ev = evaluate(tmp_path / "hello" / "pyoxidizer.bzl", requested_targets=["exe"], distribution_spec="host")
    # pip_install ran for real: rich's modules are in the executable.
    names = {getattr(r, "name", "") for r in ev.values["exe"].resources}
    assert "rich.console" in names and "six" in names
    assert ev.values["exe"].config.record.run_command == 'print("hi \\"there\\"")'


def test_init_config_file_refuses_existing(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    result = cli("init-config-file", str(tmp_path / "x"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "not a directory" in result.stderr


# --- targets ---------------------------------------------------------------------------------
TARGETS = """
def a():
    print("resolving a")
    return "A"

def b(x):
    return "b(" + x + ")"

def c(x, y):
    return "c(" + x + "," + y + ")"

def d():
    return "d:" + resolve_target("c")

register_target("a", a)
register_target("b", b, depends=["a"])
register_target("c", c, depends=["b", "a"], default={default_c})
register_target("d", d)
resolve_targets()
"""


def test_depends_positional_in_order_and_cached(tmp_path: Path) -> None:
    path = write(tmp_path, TARGETS.format(default_c="True"))
    ev = evaluate(path)
    assert ev.resolved == ("c",)
    assert ev.values["c"] == "c(b(A),A)"
    assert ev.context.printed.count("resolving a") == 1  # cached, not re-run


def test_default_target_is_first_without_default(tmp_path: Path) -> None:
    ev = evaluate(write(tmp_path, TARGETS.format(default_c="False")))
    assert ev.default_target == "a" and ev.resolved == ("a",)
    assert ev.default_build_script_target == "a"


def test_last_default_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        def one():
            return 1
        def two():
            return 2
        register_target("x", one, default=True)
        register_target("y", two, default=True, default_build_script=True)
        resolve_targets()
    """,
    )
    ev = evaluate(path)
    assert [t.name for t in ev.targets] == ["x", "y"]
    assert ev.default_target == "y"
    assert ev.values == {"y": 2}
    assert evaluate(path, build_script_mode=True).default_build_script_target == "y"
    assert evaluate(path, requested_targets=["x"]).values == {"x": 1}


def test_registering_a_name_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, 'def one():\n    return 1\nregister_target("x", one)\nregister_target("x", one)\n')
    line = one_error_line(cli("list-targets", str(path)))
    assert line == (f"error: {path}:4:1: register_target(): target 'x' is already registered; target names are unique")


def test_resolve_target_inside_target_and_explicit_list(tmp_path: Path) -> None:
    ev = evaluate(write(tmp_path, TARGETS.format(default_c="False")), requested_targets=["d", "b"])
    assert ev.values["d"] == "d:c(b(A),A)"
    assert ev.resolved == ("d", "b")


def test_unknown_target_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, TARGETS.format(default_c="False"))
    with pytest.raises(ConfigError, match="target cc does not exist") as info:
        evaluate(path, requested_targets=["cc"])
    assert info.value.hint == "did you mean 'c'?"
    result = cli("build", "--path", str(path), "nope")
    assert result.returncode == 1
    assert one_error_line(result) == f"error: {path}: target nope does not exist (targets: a, b, c, d)"


def test_list_targets_resolves_nothing(tmp_path: Path) -> None:
    ev = evaluate(write(tmp_path, TARGETS.format(default_c="True")), requested_targets=[])
    assert ev.resolved == () and ev.context.printed == []


def test_register_target_requires_module_level_def(tmp_path: Path) -> None:
    path = write(tmp_path, 'register_target("x", lambda: 1)\n')
    with pytest.raises(ConfigError, match="defined with `def`") as info:
        evaluate(path)
    assert (info.value.line, info.value.col) == (1, 1)


# --- load() ----------------------------------------------------------------------------------
def test_load_helper_library_relative_to_loading_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        load("consts.star", "SUFFIX")
        def pin(name):
            return name + SUFFIX
        def drop_tests(policy, resource):
            if resource.name.endswith("_test"):
                resource.add_include = False
    """,
        "lib/helpers.star",
    )
    write(tmp_path, 'SUFFIX = "==1.0"\n', "lib/consts.star")
    path = write(
        tmp_path,
        """
        load("lib/helpers.star", "pin", "drop_tests")
        def make_exe():
            dist = default_python_distribution()
            policy = dist.make_python_packaging_policy()
            policy.register_resource_callback(drop_tests)
            exe = dist.to_python_executable(name="app", packaging_policy=policy)
            exe.add_python_resource(exe.make_python_module_source("keep_me", "x = 1"))
            exe.add_python_resource(exe.make_python_module_source("drop_test", "x = 2"))
            print(pin("rich"))
            return exe
        register_target("exe", make_exe)
        resolve_targets()
    """,
    )
    ev = evaluate(path, distribution_spec="host")
    assert ev.context.printed == ["rich==1.0"]
    names = {getattr(r, "name", None) for r in ev.values["exe"].resources}
    assert "keep_me" in names and "drop_test" not in names


def test_resource_callback_sees_stdlib_resources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        def cb(policy, resource):
            if type(resource) == "PythonModuleSource" and resource.name.startswith("json"):
                resource.add_include = False
            if type(resource) == "PythonModuleSource" and resource.name == "csv":
                resource.add_location = "filesystem-relative:other"
        def make_exe():
            dist = default_python_distribution()
            policy = dist.make_python_packaging_policy()
            policy.register_resource_callback(cb)
            return dist.to_python_executable(name="app", packaging_policy=policy)
        register_target("exe", make_exe)
        resolve_targets()
    """,
    )
    exe = evaluate(path, distribution_spec="host").values["exe"]
    modules = {r.name: r for r in exe.resources if type(r).__name__ == "PythonModuleSource"}
    assert "json" not in modules and "json.decoder" not in modules
    assert modules["csv"].add.location == "filesystem-relative:other"
    assert modules["os"].add.location == "in-memory"


# --- VARS ------------------------------------------------------------------------------------
VARS_CONFIG = """
def one():
    return 1
def two():
    return 2
register_target("one", one)
register_target("two", two, default = VARS.get("PICK") == "two")
print("vars", VARS)
resolve_targets()
"""


def test_vars_from_var_and_var_env(tmp_path: Path) -> None:
    path = write(tmp_path, VARS_CONFIG)
    ev = evaluate(path, vars={"PICK": "two", "MISSING": None})
    assert ev.default_target == "two"
    assert ev.context.printed == ['vars {"PICK": "two", "MISSING": None}']
    result = cli(
        "list-targets", str(path), "--var", "PICK", "two", "--var-env", "E", "SOME_ENV", env={"SOME_ENV": "from-env"}
    )
    assert result.stdout.splitlines() == ["one", "*two"]
    assert 'vars {"PICK": "two", "E": "from-env"}' in result.stderr
    result = cli("list-targets", str(path), "--var-env", "PICK", "UNSET_ENV_VAR_XYZ")
    assert result.stdout.splitlines() == ["*one", "two"]
    result = cli("list-targets", str(path), "--var", "A", "1", "--var", "A", "2")
    assert result.returncode == 1 and "error: Starlark variable A already defined" in result.stderr


def test_globals_describe_the_build(tmp_path: Path) -> None:
    path = write(tmp_path, "print(BUILD_TARGET_TRIPLE, CONFIG_PATH, CWD)\n")
    ev = evaluate(path, target_triple="aarch64-unknown-linux-gnu")
    assert ev.context.printed == [f"aarch64-unknown-linux-gnu {path.resolve()} {tmp_path.resolve()}"]


# --- settings: every policy and interpreter config attribute ---------------------------------
def _bad_value(kind: str) -> str:
    return {"bool": '"yes"', "int": '"1"', "str": "42", "list[str]": '"a"', "dict": "1"}[kind]


def _good_value(setting) -> str:  # type: ignore[no-untyped-def]
    kind = setting.type_name.split(" ")[0]
    if setting.choices:
        pick = setting.choices[-1]
        return pick if kind == "int" else f'"{pick}"'
    if setting.prefixes:
        return f'"{setting.prefixes[0]}x"'
    return {"bool": "(not DEFAULT)", "int": "7", "str": '"v"', "list[str]": '["a", "$ORIGIN/b"]'}[kind]


def _starlark(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


SETTINGS = [("policy", "make_python_packaging_policy", s) for s in settings_of(PackagingPolicy).values()] + [
    ("config", "make_python_interpreter_config", s) for s in settings_of(InterpreterConfig).values()
]


@pytest.mark.parametrize(("var", "maker", "setting"), SETTINGS, ids=[f"{v}.{s.name}" for v, _, s in SETTINGS])
def test_setting_default_roundtrip_and_invalid_value(tmp_path: Path, var: str, maker: str, setting) -> None:  # type: ignore[no-untyped-def]
    kind = setting.type_name.split(" ")[0]
    default = _starlark(setting.default) if kind != "dict" else "{}"
    lines = [
        "dist = default_python_distribution()",
        f"{var} = dist.{maker}()",
        f"DEFAULT = {var}.{setting.name}",
        f'print("default", DEFAULT == {default})',
    ]
    if not setting.read_only:
        good = _good_value(setting).replace("DEFAULT", default)
        lines += [f"{var}.{setting.name} = {good}", f'print("roundtrip", {var}.{setting.name} == {good})']
    ev = evaluate(write(tmp_path, "\n".join(lines) + "\n"))
    assert ev.context.printed[0] == "default True"
    if setting.read_only:
        bad_line = f"{var}.{setting.name} = {{}}"
    else:
        assert ev.context.printed[1] == "roundtrip True"
        bad_line = f"{var}.{setting.name} = {_bad_value(kind)}"
    lines = [*lines[:2], "x = 1", "   " * 0 + bad_line]
    with pytest.raises(ConfigError) as info:
        evaluate(write(tmp_path, "\n".join(lines) + "\n"))
    err = info.value
    assert (err.line, err.col) == (4, 1), str(err)
    assert setting.name in err.message


@pytest.mark.parametrize(
    ("attr", "value", "message"),
    [
        ("resources_location", '"on-disk"', "must be one of 'in-memory', 'filesystem-relative:<value>'; got 'on-disk'"),
        ("resources_location", '"filesystem-relative:"', "got 'filesystem-relative:'"),
        ("extension_module_filter", '"some"', "'all', 'no-unused-ui', 'minimal', 'no-libraries', 'no-copyleft'"),
        ("include_test", "1", "PythonPackagingPolicy.include_test must be bool, got int"),
    ],
)
def test_policy_invalid_values_messages(tmp_path: Path, attr: str, value: str, message: str) -> None:
    path = write(tmp_path, f"p = default_python_distribution().make_python_packaging_policy()\np.{attr} = {value}\n")
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert message in info.value.message
    assert info.value.location == f"{path}:2:1"


def test_executable_attributes_validate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        def make_exe():
            exe = default_python_distribution().to_python_executable("app")
            exe.packed_resources_load_mode = "binary-relative-memory-mapped:res"
            exe.libpython_link_mode = "static"
            exe.windows_subsystem = "windows"
            exe.tcl_files_path = None
            exe.packed_resources_load_mode = "sometimes"
            return exe
        register_target("exe", make_exe)
        resolve_targets()
    """,
    )
    with pytest.raises(ConfigError) as info:
        evaluate(path, distribution_spec="host")
    assert info.value.line == 8
    assert "packed_resources_load_mode must be one of 'none', 'embedded:<file>'" in info.value.message


# --- errors ----------------------------------------------------------------------------------
def test_syntax_error_location_and_snippet(tmp_path: Path) -> None:
    path = write(tmp_path, "def make_exe(:\n    pass\n")
    result = cli("list-targets", str(path))
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:1:14: Parse error")
    assert "def make_exe(:" in result.stderr and "^" in result.stderr
    assert "Traceback" not in result.stderr


def test_runtime_error_location(tmp_path: Path) -> None:
    path = write(tmp_path, 'x = 1\ny = x + "a"\n')
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert info.value.location == f"{path}:2:5"
    assert "`+` not supported" in info.value.message


def test_host_error_at_the_call_site_and_verbose_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, 'd = default_python_distribution(flavor = "portable")\n')
    result = cli("list-targets", str(path))
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[0]
        == (
            f"error: {path}:1:5: default_python_distribution(): distribution flavor 'portable' not recognized "
            "(use one of standalone, standalone_dynamic, standalone_static)"
        )
        or "flavor 'portable' not recognized" in result.stderr.splitlines()[0]
    )
    assert result.stderr.splitlines()[0].startswith(f"error: {path}:1:5: ")
    assert "Traceback" not in result.stderr
    verbose = cli("--verbose", "list-targets", str(path))
    assert verbose.returncode == 1 and "Traceback (most recent call last)" in verbose.stderr


def test_error_inside_loaded_file(tmp_path: Path) -> None:
    write(tmp_path, 'def helper():\n    return default_python_distribution(python_version = "three")\n', "lib.star")
    path = write(tmp_path, 'load("lib.star", "helper")\nd = helper()\n')
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert info.value.file and info.value.file.endswith("lib.star")
    assert (info.value.line, info.value.col) == (2, 12)
    assert "python_version must look like '3.12'" in info.value.message


def test_error_at_load_time_in_loaded_file(tmp_path: Path) -> None:
    write(tmp_path, "X = 1\nY = X.nope\n", "lib.star")
    path = write(tmp_path, 'load("lib.star", "X")\n')
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert info.value.file and info.value.file.endswith("lib.star") and info.value.line == 2


def test_missing_load_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'load("nothere.star", "X")\n')
    with pytest.raises(ConfigError, match=r"cannot load 'nothere\.star'"):
        evaluate(path)


def test_error_inside_target_function(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        def make():
            policy = default_python_distribution().make_python_packaging_policy()
            policy.resources_location = "elsewhere"
            return policy
        register_target("p", make)
        resolve_targets()
    """,
    )
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert (info.value.line, info.value.col) == (4, 5)


def test_platform_only_objects_evaluate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        signer = code_signer_from_windows_store_auto()
        signer.activate()
        b = MacOsApplicationBundleBuilder("App")
        b.add_icon("icon.png")
        w = WiXInstaller("id", "app.msi")
        def msi():
            return WiXMSIBuilder("a", "b", "1.0", "c")
        register_target("msi", msi)
        resolve_targets()
    """,
    )
    ev = evaluate(path)
    assert "can only be built on Windows" in ev.values["msi"].build_error()


# --- sandbox ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expr",
    [
        "default_python_distribution().__class__",
        "default_python_distribution().__init__",
        "register_target.__globals__",
        "print.__self__",
        "default_python_distribution().make_python_packaging_policy.__func__",
        "default_python_distribution().make_python_packaging_policy().record",
        "default_python_distribution().request",
        "FileManifest().files",
        "getattr(default_python_distribution(), '__dict__')",
    ],
)
def test_sandbox_escapes_refused(tmp_path: Path, expr: str) -> None:
    path = write(tmp_path, f"x = {expr}\n")
    with pytest.raises(ConfigError, match=r"has no attribute|not supported on type"):
        evaluate(path)


def test_dir_lists_only_the_dialect(tmp_path: Path) -> None:
    path = write(tmp_path, "print(dir(default_python_distribution()))\n")
    assert evaluate(path).context.printed == [
        '["flavor", "make_python_interpreter_config", "make_python_packaging_policy", '
        '"python_resources", "python_version", "to_python_executable"]'
    ]


# --- discovery and usage ---------------------------------------------------------------------
def test_config_discovery(tmp_path: Path) -> None:
    write(tmp_path, VARS_CONFIG)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert cli("list-targets", str(sub)).stdout.splitlines() == ["*one", "two"]
    assert cli("list-targets", cwd=sub).stdout.splitlines() == ["*one", "two"]
    other = write(tmp_path / "other", 'def z():\n    return 1\nregister_target("z", z)\n')
    assert cli("list-targets", str(sub), env={"PYOXIDIZER_CONFIG": str(other)}).stdout.splitlines() == ["*z"]
    missing = cli("list-targets", str(Path("/")))
    assert missing.returncode == 1 and missing.stderr.startswith("error: unable to find pyoxidizer.bzl")


def test_usage_errors_exit_2() -> None:
    assert cli().returncode == 2
    assert cli("build", "--bogus").returncode == 2
    assert cli("frobnicate").returncode == 2
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("pyoxidizer-py ")


# --- names resolved when code runs; removed names (issue 11 item 7) ----------------------------
LEGACY = DATA / "legacy_uncalled.bzl"


def test_uncalled_functions_may_use_unknown_and_removed_names() -> None:
    result = cli("list-targets", str(LEGACY))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["dist", "embedded_config", "exe", "*install", "legacy_exe", "version_file"]
    ev = evaluate(LEGACY, distribution_spec="host")
    assert ev.resolved == ("install",)
    assert ev.values["install"].executables[0][1].name == "acme"


@pytest.mark.parametrize(
    ("target", "location", "message"),
    [
        (
            "embedded_config",
            "35:12",
            "name 'PythonInterpreterConfig' is not defined: PythonInterpreterConfig was removed in PyOxidizer "
            "0.8.0; create it with dist.make_python_interpreter_config() and set its attributes",
        ),
        (
            "version_file",
            "44:53",
            "name 'PYOXIDIZER_VERSION' is not defined: it is not a PyOxidizer global: `pyoxidizer "
            'init-config-file` wrote `PYOXIDIZER_VERSION = "..."` at the top of new configs until 0.17.0; '
            "define it in the file",
        ),
        (
            "legacy_exe",
            "50:40",
            "PythonDistribution.pip_install was removed in PyOxidizer 0.8.0: it moved to PythonExecutable: "
            "call it on the executable (exe.pip_install(...))",
        ),
    ],
)
def test_unknown_and_removed_names_fail_where_they_run(target: str, location: str, message: str) -> None:
    result = cli("build", "--path", str(LEGACY), "--python-distribution", "host", target)
    assert one_error_line(result) == f"error: {LEGACY}:{location}: {message}"
    assert "^" in result.stderr  # the snippet points at the name


def test_unknown_name_message_suggests_a_dialect_name(tmp_path: Path) -> None:
    path = write(tmp_path, "def f():\n    return defualt_python_distribution()\nx = 1\ny = f()\n")
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert info.value.location == f"{path}:2:12"
    assert info.value.message == "name 'defualt_python_distribution' is not defined"
    assert info.value.hint == "did you mean 'default_python_distribution'?"


def test_development_only_names_say_so(tmp_path: Path) -> None:
    path = write(tmp_path, "def old():\n    return Stdlib()\nX = 1\n")
    evaluate(path)
    path = write(tmp_path, "x = [python_run_mode_module('app')]\n")
    with pytest.raises(ConfigError) as info:
        evaluate(path)
    assert (info.value.line, info.value.col) == (1, 6)
    assert info.value.message == (
        "name 'python_run_mode_module' is not defined: python_run_mode_module existed only in PyOxidizer's "
        "development versions before 0.5.0; set config.run_module"
    )


def test_unknown_name_used_as_a_value_fails_when_evaluated(tmp_path: Path) -> None:
    # Any evaluation fails, not only calls: comparisons, printing, membership.
    path = write(tmp_path, 'def f():\n    if UNKNOWN_FLAG == "x":\n        return 1\n    return 2\nv = [1]\n')
    evaluate(path)
    path.write_text("def f():\n    print(UNKNOWN_FLAG)\nf()\n")
    with pytest.raises(ConfigError, match=r"^.*:2:11: name 'UNKNOWN_FLAG' is not defined$"):
        evaluate(path)


# --- installer-only configs evaluate on Linux (issue 11 item 8) --------------------------------
INSTALLERS = DATA / "installers.bzl"
ALL_INSTALLER_TARGETS = ["msi_x86_64", "exe_installer", "macos_app_bundle", "wheel_linux", "universal_binary", "notes"]


def test_installer_only_config_resolves_every_target_on_linux(tmp_path: Path) -> None:
    result = cli("list-targets", str(INSTALLERS))
    assert result.stdout.splitlines() == [
        "*exe_installer",
        "macos_app_bundle",
        "msi_x86_64",
        "notes",
        "universal_binary",
        "wheel_linux",
    ]
    ev = evaluate(INSTALLERS, requested_targets=ALL_INSTALLER_TARGETS, vars={"SIGN": "1", "PFX": "cert.pfx"})
    assert ev.resolved == tuple(ALL_INSTALLER_TARGETS)
    bundle = ev.values["macos_app_bundle"]
    assert "can only be built on macOS" in bundle.build_error()
    # AppleUniversalBinary.to_file_content() went into a FileManifest added to the bundle.
    (_name, (manifest,), _kw) = next(c for c in bundle.calls if c[0] == "add_macos_manifest")
    assert manifest.paths() == ["acme"]


def test_platform_only_types_have_every_pyoxidizer_method(tmp_path: Path) -> None:
    from pyoxidizer_py.config.dialect import platform

    # Methods of Tugger's Starlark types in PyOxidizer 0.24 (tugger/src/starlark/*.rs).
    expected = {
        "AppleUniversalBinary": {"add_path", "add_file", "to_file_content", "write_to_directory", "build"},
        "MacOsApplicationBundleBuilder": {
            "add_icon",
            "add_manifest",
            "add_macos_file",
            "add_macos_manifest",
            "add_resources_file",
            "add_resources_manifest",
            "set_info_plist_key",
            "set_info_plist_required_keys",
            "build",
            "write_to_directory",
        },
        "PythonWheelBuilder": {
            "add_file_dist_info",
            "add_file_data",
            "add_file",
            "to_file_content",
            "write_to_directory",
            "build",
        },
        "SnapcraftBuilder": {"add_invocation", "add_file_manifest", "build"},
        "Snap": {"to_builder"},
        "WiXBundleBuilder": {
            "add_condition",
            "add_vc_redistributable",
            "add_wix_msi_builder",
            "build",
            "to_file_content",
            "write_to_directory",
        },
        "WiXInstaller": {
            "add_build_file",
            "add_build_files",
            "add_install_file",
            "add_install_files",
            "add_msi_builder",
            "add_simple_installer",
            "add_wxs_file",
            "build",
            "set_variable",
            "to_file_content",
            "write_to_directory",
        },
        "WiXMSIBuilder": {
            "add_program_files_manifest",
            "add_visual_cpp_redistributable",
            "build",
            "to_file_content",
            "write_to_directory",
        },
        "CodeSigner": {
            "activate",
            "chain_issuer_certificates_pem_file",
            "chain_issuer_certificates_macos_keychain",
            "set_time_stamp_server",
            "set_signing_callback",
        },
    }
    for name, methods in expected.items():
        cls = getattr(platform, name)
        assert methods <= set(cls.STARLARK_CALL), (name, methods - set(cls.STARLARK_CALL))


def test_platform_only_output_fails_only_when_built(tmp_path: Path) -> None:
    shutil.copy(INSTALLERS, tmp_path / "pyoxidizer.bzl")
    listing = cli("list-targets", str(tmp_path))
    assert listing.returncode == 0
    assert not (tmp_path / "build").exists()  # write_to_directory() wrote nothing while evaluating
    line = one_error_line(cli("build", "--path", str(tmp_path), "universal_binary"))
    assert line == (
        "error: target universal_binary: AppleUniversalBinary can only be built on macOS; this machine is linux. "
        "Build this target on that platform, or build another target here"
    )
