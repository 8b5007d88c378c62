"""The wheel a user installs carries the project's conventions: license, metadata, typing marker.

Builds the wheel once from this checkout with pip (build isolation fetches hatchling from PyPI,
as ``pip install .`` does) and reads its ``METADATA`` (core metadata 2.4, PEP 639:
https://packaging.python.org/en/latest/specifications/core-metadata/).
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src") / "pyoxidizer-py"
    shutil.copytree(
        ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "site", "target", "__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("pyoxidizer_py-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_metadata(wheel: zipfile.ZipFile) -> None:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    meta = email.parser.Parser().parsestr(wheel.read(name).decode("utf-8"))
    assert tuple(int(p) for p in meta["Metadata-Version"].split(".")) >= (2, 4)
    assert meta["License-Expression"] == "MPL-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Author"]
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.14" in classifiers
    assert any(url.startswith("PyOxidizer documentation, https://") for url in meta.get_all("Project-URL") or [])
    assert any(req.startswith("shtab") for req in meta.get_all("Requires-Dist") or [])


def test_wheel_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "pyoxidizer_py/py.typed" in names
    assert "pyoxidizer_py/_templates/pyembed/src/lib.rs" in names
    license_name = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    text = wheel.read(license_name).decode("utf-8")
    assert text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("Mozilla Public License Version 2.0")
