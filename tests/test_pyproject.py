"""Zero configuration (issue 18): `pyoxidizer-py build` in a project with a pyproject.toml and no
pyoxidizer.bzl.

The builds use real projects from their PyPI sdists (downloaded with pip, unpacked, built as they
are or with only a [tool.pyoxidizer-py] table appended) and run the executables:

- mdformat 1.0.0: a pure-Python CLI whose dependency (markdown-it-py) pip resolves from the
  project's metadata; nothing added. It builds to one file, and `run` builds and runs it. The
  eject test builds it again from the pyoxidizer.bzl that `init-config-file --from-pyproject`
  writes and compares sha256 digests.
- jsonschema 4.26.0: depends on rpds-py, a compiled extension module, which loads from memory
  (static libpython on Linux): the executable copied alone into an empty directory runs. The
  sdist ships a uv.lock, which is exported with uv; a [tool.pyoxidizer-py] table sets
  python-version and extra-files.
- yamllint 1.38.0: dependencies pinned by a pylock.toml (PEP 751) that `pip lock` (pip >= 25.1,
  in a venv) writes; PyYAML's wheel brings a C extension (in memory too). yamllint opens its
  default configs beside its `__file__`, so those data files (only they) go to lib/.

The other tests stop before cargo runs (errors a user can make).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cli_helpers import one_error_line

from pyoxidizer_py.config.pyproject import TABLE_KEYS, ZeroConfigOptions, generate_config, pylock_requirements
from tests.cli_helpers import run_cli as cli

DEBIAN311 = "/usr/bin/python3.11"
INSTALL = Path("build") / "x86_64-unknown-linux-gnu" / "debug" / "install"
ROOT = Path(__file__).resolve().parent.parent


def write_project(path: Path, pyproject: str, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    for rel, text in (files or {}).items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text, encoding="utf-8")
    return path


TINY = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny"
version = "1.0"
"""


# -- errors a user can make (no cargo) -----------------------------------------------------


def test_unknown_table_key_names_line_col_and_nearest(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        TINY + '[project.scripts]\ntiny = "tiny:main"\n\n[tool.pyoxidizer-py]\npython-version = "3.11"\n'
        "  singel-file = true\n",
    )
    err = one_error_line(cli("build", "--path", str(project)))
    assert f"{project / 'pyproject.toml'}:13:3: unknown key 'singel-file' in [tool.pyoxidizer-py]" in err
    assert "did you mean 'single-file'?" in err


def test_bad_table_values_are_all_reported(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        TINY + '[project.scripts]\ntiny = "tiny:main"\n\n[tool.pyoxidizer-py]\nallocator = "tcmalloc"\n'
        'release = "yes"\n',
    )
    result = cli("build", "--path", str(project))
    err = one_error_line(result)
    assert ":12:1: [tool.pyoxidizer-py] allocator must be one of default, jemalloc" in err
    assert ":13:1: [tool.pyoxidizer-py] release must be true or false" in result.stderr


def test_bad_enumerated_value_and_a_sub_table_key_are_placed(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        TINY + '[project.scripts]\ntiny = "tiny:main"\n\n[tool.pyoxidizer-py]\nstdlib-filter = "minimal"\n\n'
        '[tool.pyoxidizer-py.distrbution]\nsha256 = "00"\n',
    )
    result = cli("list-targets", str(project))
    err = one_error_line(result)
    # The values the dialect accepts for policy.stdlib_filter, before any build.
    assert ":12:1: [tool.pyoxidizer-py] stdlib-filter must be one of all, imported, not 'minimal'" in err
    # A key written as its own sub-table is reported at its header.
    assert ":14:21: unknown key 'distrbution' in [tool.pyoxidizer-py]; did you mean 'distribution'?" in result.stderr


def test_every_table_key_sets_its_dialect_attribute(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        TINY + '[project.scripts]\ntiny = "tiny:main"\n\n[tool.pyoxidizer-py]\npython-version = "3.12"\n'
        'distribution = "standalone_dynamic"\nresources-location = "filesystem-relative:app"\n'
        'resources-location-fallback = "filesystem-relative:lib"\nstdlib-filter = "imported"\nrelease = true\n',
    )
    zero = generate_config(project)
    assert 'dist = default_python_distribution(flavor = "standalone_dynamic", python_version = "3.12")' in zero.text
    assert 'policy.resources_location = "filesystem-relative:app"' in zero.text
    assert 'policy.resources_location_fallback = "filesystem-relative:lib"' in zero.text
    assert 'policy.stdlib_filter = "imported"' in zero.text
    # release is a command-line choice: the build takes it from the table, the ejected file says so.
    assert zero.release is True
    assert "release = true: build with `pyoxidizer-py build --release`" in zero.text
    with (project / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write('\n[tool.pyoxidizer-py.distribution]\nsha256 = "ab12"\npath = "dist/python.tar.zst"\n')
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text(encoding="utf-8").replace('distribution = "standalone_dynamic"\n', ""),
        encoding="utf-8",
    )
    text = generate_config(project).text
    assert 'dist = PythonDistribution(sha256 = "ab12", local_path = CWD + "/" + "dist/python.tar.zst")' in text
    # Every key is documented in docs/pyproject.md's table.
    doc = (ROOT / "docs" / "pyproject.md").read_text(encoding="utf-8")
    documented = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")}
    assert set(TABLE_KEYS) <= documented, set(TABLE_KEYS) - documented


def test_no_scripts_is_one_error_line_saying_what_to_add(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", TINY)
    err = one_error_line(cli("build", cwd=project))
    assert "nothing to build" in err
    assert "[project.scripts]" in err and "--script NAME=module:function" in err and "--module MODULE" in err


def test_unknown_script_name(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", TINY + '[project.scripts]\ntiny = "tiny:main"\n')
    err = one_error_line(cli("build", "--path", str(project), "--script", "tinny"))
    assert "--script tinny" in err and "entries: tiny" in err and "did you mean 'tiny'?" in err


def test_uv_lock_without_uv_is_a_clear_error(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", TINY + '[project.scripts]\ntiny = "tiny:main"\n', {"uv.lock": "version = 1\n"}
    )
    err = one_error_line(cli("build", "--path", str(project), env={"PATH": "/usr/bin:/bin"}))
    assert f"{project / 'uv.lock'}: uv.lock is the project's lock, but uv is not installed" in err


def test_dependency_sources_are_taken_in_order(tmp_path: Path) -> None:
    """pylock.toml, then uv.lock, then [tool.pyoxidizer-py] requirements, then the metadata."""
    project = write_project(
        tmp_path / "p",
        TINY + 'dependencies = ["six"]\n[project.scripts]\ntiny = "tiny:main"\n\n[tool.pyoxidizer-py]\n'
        'requirements = "requirements.txt"\n',
        {
            "pylock.toml": 'lock-version = "1.0"\n[[packages]]\nname = "six"\nversion = "1.16.0"\n',
            "uv.lock": "version = 1\n",
            "requirements.txt": "six==1.15.0\n",
        },
    )
    zero = generate_config(project)
    assert zero.deps_origin == "pinned from pylock.toml (PEP 751)"
    assert '"six==1.16.0"' in zero.text and "requirements.txt" not in zero.text
    (project / "pylock.toml").unlink()
    # uv.lock comes next (here uv is not on PATH, which is the error that says so).
    err = one_error_line(cli("list-targets", str(project), env={"PATH": "/usr/bin:/bin"}))
    assert "uv.lock is the project's lock, but uv is not installed" in err
    (project / "uv.lock").unlink()
    zero = generate_config(project)
    assert zero.deps_origin == "from requirements.txt"
    assert 'exe.pip_install(["-r", CWD + "/" + "requirements.txt"])' in zero.text
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text(encoding="utf-8").replace('requirements = "requirements.txt"\n', ""),
        encoding="utf-8",
    )
    zero = generate_config(project)
    assert zero.deps_origin == "resolved by pip from the project's metadata"
    assert "exe.pip_install([CWD])" in zero.text


def test_run_with_several_scripts_needs_script(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", TINY + '[project.scripts]\ntiny = "tiny:main"\nother = "tiny:other"\n')
    err = one_error_line(cli("run", "--path", str(project)))
    assert "declares several [project.scripts] (tiny, other): pass --script NAME" in err


def test_script_whose_target_does_not_import_fails_the_build_naming_it(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        TINY + '[project.scripts]\ntiny = "tiny:mian"\n',
        {"tiny.py": "def main():\n    print('hi')\n"},
    )
    err = one_error_line(cli("build", "--path", str(project), "--python-distribution", DEBIAN311))
    assert "[project.scripts] tiny = 'tiny:mian' does not import in the executable" in err
    assert "AttributeError" in err
    # Nothing was built.
    assert not (project / INSTALL).exists()


def test_generated_config_and_eject(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        TINY + '[project.scripts]\ntiny = "tiny.cli:app.run"\nother = "tiny:main"\n\n[tool.pyoxidizer-py]\n'
        'requirements = "requirements.txt"\nsingle-file = true\nallocator = "rust"\nextra-files = ["*.md"]\n',
        {"requirements.txt": "six==1.16.0\n"},
    )
    text = generate_config(project).text
    assert 'name = "tiny"' in text and 'name = "other"' in text
    assert "from tiny.cli import app\\nsys.exit(app.run())" in text
    assert 'exe.pip_install(["-r", CWD + "/" + "requirements.txt"])' in text
    assert 'exe.pip_install(["--no-deps", CWD])' in text
    assert "policy.resources_location_fallback = None" in text and 'exe.libpython_link_mode = "static"' in text
    assert 'python_config.allocator_backend = "rust"' in text
    assert 'glob(include = ["*.md"])' in text
    only = generate_config(project, ZeroConfigOptions(script="other")).text
    assert 'name = "other"' in only and 'name = "tiny"' not in only
    # --script NAME=module:function and --module MODULE: one executable the project does not declare.
    extra = generate_config(project, ZeroConfigOptions(script="helper=tiny.tools:run")).text
    assert 'name = "helper"' in extra and "from tiny.tools import run\\nsys.exit(run())" in extra
    module = generate_config(project, ZeroConfigOptions(module="tiny.cli")).text
    assert 'python_config.run_module = "tiny.cli"' in module and 'name = "tiny",' in module
    assert 'name = "other"' not in module
    # list-targets evaluates the generated text.
    listing = cli("list-targets", str(project))
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split() == ["exe_other", "exe_tiny", "*install"]
    # Eject writes exactly that text, and refuses to overwrite it.
    assert cli("init-config-file", "--from-pyproject", str(project)).returncode == 0
    assert (project / "pyoxidizer.bzl").read_text(encoding="utf-8") == text
    again = cli("init-config-file", "--from-pyproject", str(project))
    assert "already exists" in one_error_line(again)
    # With the file there, --script no longer applies.
    assert "has a pyoxidizer.bzl" in one_error_line(cli("build", "--path", str(project), "--script", "tiny"))


def test_pylock_requirements(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        """\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "one-wheel"
version = "1.0"
marker = "python_version >= '3.10'"
wheels = [{url = "https://example.invalid/one_wheel-1.0-py3-none-any.whl", hashes = {sha256 = "ab"}}]

[[packages]]
name = "many"
version = "2.0"
sdist = {url = "https://example.invalid/many-2.0.tar.gz", hashes = {sha256 = "cd"}}
wheels = [{url = "https://example.invalid/many-2.0-py3-none-any.whl", hashes = {sha256 = "ef"}}]

[[packages]]
name = "from-git"
vcs = {type = "git", url = "https://example.invalid/repo.git", commit-id = "0123abc"}

[[packages]]
name = "Tiny"
directory = {path = "."}
""",
        encoding="utf-8",
    )
    assert pylock_requirements(lock, "tiny") == [
        "one-wheel @ https://example.invalid/one_wheel-1.0-py3-none-any.whl#sha256=ab ; python_version >= '3.10'",
        "many==2.0",
        "from-git @ git+https://example.invalid/repo.git@0123abc",
    ]
    lock.write_text('lock-version = "2.0"\n', encoding="utf-8")
    with pytest.raises(Exception, match="not a PEP 751 lock"):
        pylock_requirements(lock, None)


# -- real projects from PyPI sdists, built and run -----------------------------------------


@pytest.fixture(scope="module")
def sdists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("sdists")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(dest),
            "mdformat==1.0.0",
            "jsonschema==4.26.0",
            "yamllint==1.38.0",
        ],
        check=True,
        capture_output=True,
    )
    for archive in dest.glob("*.tar.gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cargo-target")


def unpacked(sdists: Path, name: str, dest: Path) -> Path:
    project = dest / name
    shutil.copytree(sdists / name, project)
    return project


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def installed(install: Path) -> list[str]:
    """The files of an install directory, relative to it."""
    return sorted(str(p.relative_to(install)) for p in install.rglob("*") if p.is_file())


def shared_objects(install: Path) -> list[str]:
    return [f for f in installed(install) if f.endswith(".so") or ".so." in f]


@pytest.mark.cargo
def test_pure_python_cli_from_its_sdist_and_eject_builds_the_same_bytes(
    sdists: Path, cargo_target: Path, tmp_path: Path
) -> None:
    project = unpacked(sdists, "mdformat-1.0.0", tmp_path)
    assert not (project / "pyoxidizer.bzl").exists()
    env = {"CARGO_TARGET_DIR": str(cargo_target), "PYOXIDIZER_PY_DISTRIBUTION": DEBIAN311}
    result = subprocess.run(
        ["pyoxidizer-py", "build"], cwd=project, env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    exe = project / INSTALL / "mdformat"
    # One file: the executable and the license and SBOM texts beside it, no lib/.
    assert [f for f in installed(project / INSTALL) if f not in ("COPYING.txt", "sbom.cdx.json")] == ["mdformat"]
    markdown = "# Title\nSome   *text*\n\n\n* a\n* b\n"
    run = subprocess.run([str(exe), "-"], input=markdown, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "# Title\n\nSome *text*\n\n- a\n- b\n"
    assert subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.startswith("mdformat 1.0.0")
    first = sha256(exe)

    # `run` builds the script (nothing changed: the same executable) and runs it with the arguments.
    ran = subprocess.run(
        ["pyoxidizer-py", "run", "--script", "mdformat", "--", "-"],
        cwd=project,
        env={**os.environ, **env},
        input=markdown,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.endswith("# Title\n\nSome *text*\n\n- a\n- b\n"), ran.stdout
    assert sha256(exe) == first

    # Eject, delete the output, build from the written pyoxidizer.bzl: the same executable.
    assert cli("init-config-file", "--from-pyproject", ".", cwd=project).returncode == 0
    shutil.rmtree(project / "build")
    again = cli("build", cwd=project, env=env)
    assert again.returncode == 0, again.stderr
    assert sha256(exe) == first


@pytest.mark.cargo
def test_cli_with_a_compiled_dependency_and_a_uv_lock(sdists: Path, cargo_target: Path, tmp_path: Path) -> None:
    if shutil.which("uv") is None:
        pytest.fail("uv is in the test extra (pip install -e .[test]); the sdist's uv.lock needs it")
    project = unpacked(sdists, "jsonschema-4.26.0", tmp_path)
    assert (project / "uv.lock").is_file()
    with (project / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write('\n[tool.pyoxidizer-py]\npython-version = "3.11"\nextra-files = ["COPYING"]\n')
    (tmp_path / "schema.json").write_text('{"type": "object", "required": ["name"]}', encoding="utf-8")
    (tmp_path / "good.json").write_text('{"name": "x"}', encoding="utf-8")
    (tmp_path / "bad.json").write_text('{"other": 1}', encoding="utf-8")
    result = cli(
        "build", "--python-distribution", DEBIAN311, "-v", cwd=project, env={"CARGO_TARGET_DIR": str(cargo_target)}
    )
    assert result.returncode == 0, result.stderr
    assert "dependencies pinned from uv.lock (uv export)" in result.stderr
    install = project / INSTALL
    exe = install / "jsonschema"
    assert (install / "COPYING").read_text(encoding="utf-8").startswith("Copyright")
    bad = subprocess.run(
        [str(exe), "-i", str(tmp_path / "bad.json"), str(tmp_path / "schema.json")], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "'name' is a required property" in bad.stderr
    good = subprocess.run(
        [str(exe), "-i", str(tmp_path / "good.json"), str(tmp_path / "schema.json")], capture_output=True, text=True
    )
    assert good.returncode == 0, good.stderr
    # rpds-py's extension module is inside the executable and loads from memory: no shared object
    # beside it, and the executable alone, in an empty directory, still validates.
    assert shared_objects(install) == [], installed(install)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy2(exe, alone / "jsonschema")
    bad = subprocess.run(
        [str(alone / "jsonschema"), "-i", str(tmp_path / "bad.json"), str(tmp_path / "schema.json")],
        cwd=alone,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1, bad.stderr
    assert "'name' is a required property" in bad.stderr


@pytest.mark.cargo
def test_cli_pinned_by_a_pylock_toml(sdists: Path, cargo_target: Path, tmp_path: Path) -> None:
    project = unpacked(sdists, "yamllint-1.38.0", tmp_path)
    venv = tmp_path / "lock-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "pip>=25.1"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "lock", "-q", ".", "-o", "pylock.toml"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    lock = (project / "pylock.toml").read_text(encoding="utf-8")
    assert 'name = "pyyaml"' in lock and 'name = "pathspec"' in lock
    result = cli(
        "build",
        "--path",
        str(project),
        "--python-distribution",
        DEBIAN311,
        "-v",
        env={"CARGO_TARGET_DIR": str(cargo_target)},
    )
    assert result.returncode == 0, result.stderr
    assert "dependencies pinned from pylock.toml" in result.stderr
    (tmp_path / "doc.yaml").write_text("---\nkey: value   \n", encoding="utf-8")
    run = subprocess.run(
        [str(project / INSTALL / "yamllint"), "-f", "parsable", str(tmp_path / "doc.yaml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1, run.stderr
    assert "doc.yaml:2:11: [error] trailing spaces (trailing-spaces)" in run.stdout
    # PyYAML's extension module is in the executable; only the configs yamllint opens beside its
    # __file__ are files (lib/yamllint/conf/*.yaml).
    install = project / INSTALL
    assert shared_objects(install) == [], installed(install)
    beside = [f for f in installed(install) if f.startswith("lib/")]
    assert beside and all(f.startswith("lib/yamllint/conf/") and f.endswith(".yaml") for f in beside), beside
