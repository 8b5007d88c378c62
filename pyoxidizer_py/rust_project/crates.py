"""The Rust crates linked into an executable, with their licenses (for the licensing report and SBOM).

``cargo metadata --format-version 1`` (cargo book, "cargo metadata") of a project, for the
target triple and features of the build, gives the resolved dependency graph. The crates
linked into the executable are those reached from the project's root through **normal**
dependencies (``dep_kinds[].kind`` null): build-dependencies (``pyo3-build-config``, ``cc``)
and dev-dependencies only run at build time. Proc-macro crates are reached through normal
edges too and are listed, since the code they generate is in the executable.

Per crate: ``license`` (an SPDX expression, Cargo.toml's ``package.license``), the file named by
``license-file``, and every ``LICENSE*``/``COPYING*``/``NOTICE*`` file at the top of its source
(registry sources are unpacked under ``$CARGO_HOME/registry/src``). The hash is the registry
checksum recorded in the project's ``Cargo.lock`` (the sha256 of the ``.crate`` file).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from packageurl import PackageURL

from pyoxidizer_py.artifacts.licensing import Component, LicenseText, canonical_spdx, is_license_file_name
from pyoxidizer_py.errors import BuildError
from pyoxidizer_py.rust_project.cargo import find_cargo

__all__ = ["CrateQuery", "crate_components"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CrateQuery:
    """Which crates of a manifest to report.

    Attributes:
        manifest_path: the ``Cargo.toml`` to resolve.
        target_triple: the target (``--filter-platform``), or None for every platform.
        features: features to enable (with ``--no-default-features`` when ``no_default_features``).
        all_features: enable every feature.
        no_default_features: leave the default features off.
        include_root: list the root package itself (True for manifests a config adds with
            ``add_cargo_manifest_licensing``; False for the generated project, which is the application).
    """

    manifest_path: Path
    target_triple: str | None = None
    features: tuple[str, ...] = ()
    all_features: bool = False
    no_default_features: bool = False
    include_root: bool = True


def _metadata(query: CrateQuery) -> dict[str, Any]:
    cmd = [
        find_cargo(),
        "metadata",
        "--format-version",
        "1",
        "--manifest-path",
        str(query.manifest_path),
        "--color",
        "never",
    ]
    if query.target_triple:
        cmd += ["--filter-platform", query.target_triple]
    if query.all_features:
        cmd.append("--all-features")
    if query.no_default_features:
        cmd.append("--no-default-features")
    if query.features:
        cmd += ["--features", ",".join(query.features)]
    env = dict(os.environ)
    try:
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    except OSError as e:
        raise BuildError(f"cannot run cargo metadata for {query.manifest_path}: {e}") from e
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise BuildError(f"cargo metadata failed for {query.manifest_path} (exit status {result.returncode}):\n{tail}")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _lock_checksums(manifest_path: Path) -> dict[tuple[str, str], str]:
    lock = manifest_path.parent / "Cargo.lock"
    try:
        doc = tomlkit.parse(lock.read_text(encoding="utf-8")).unwrap()
    except (OSError, ValueError):
        return {}
    return {
        (p["name"], p["version"]): p["checksum"]
        for p in doc.get("package", [])
        if isinstance(p, dict) and p.get("checksum")
    }


def _license_texts(package: dict[str, Any]) -> tuple[LicenseText, ...]:
    root = Path(package["manifest_path"]).parent
    found: dict[str, LicenseText] = {}
    declared = package.get("license_file")
    candidates: list[Path] = [root / declared] if declared else []
    with contextlib.suppress(OSError):
        candidates += sorted(p for p in root.iterdir() if p.is_file() and is_license_file_name(p.name))
    for path in candidates:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = path.name
        if rel in found:
            continue
        try:
            found[rel] = LicenseText(name=rel, text=path.read_bytes().decode("utf-8", errors="replace"))
        except OSError:
            continue
    return tuple(found.values())


def _linked_ids(resolve: dict[str, Any], root: str) -> list[str]:
    nodes = {n["id"]: n for n in resolve["nodes"]}
    seen = {root}
    queue = [root]
    while queue:
        node = nodes.get(queue.pop())
        if node is None:
            continue
        for dep in node.get("deps", []):
            kinds = dep.get("dep_kinds") or [{"kind": None}]
            if any(k.get("kind") is None for k in kinds) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                queue.append(dep["pkg"])
    return sorted(seen)


def crate_components(queries: Sequence[CrateQuery]) -> list[Component]:
    """The crates linked by each query's manifest, merged and sorted by name and version.

    Args:
        queries: the manifests to resolve (the generated project first, then the config's
            ``add_cargo_manifest_licensing`` manifests).

    Returns:
        ``rust-crate`` components (purl ``pkg:cargo/NAME@VERSION`` for crates.io crates,
        ``pkg:generic/NAME@VERSION`` for others such as the runtime crate ``pyembed``; the
        description says where each comes from).

    Raises:
        BuildError: cargo is missing or ``cargo metadata`` fails (for example a bad manifest).
    """
    out: dict[tuple[str, str], Component] = {}
    for query in queries:
        data = _metadata(query)
        resolve = data.get("resolve") or {}
        root = resolve.get("root")
        packages = {p["id"]: p for p in data["packages"]}
        checksums = _lock_checksums(Path(data.get("workspace_root", query.manifest_path.parent)) / "Cargo.toml")
        ids = _linked_ids(resolve, root) if root else [p["id"] for p in data["packages"]]
        for pid in ids:
            if pid == root and not query.include_root:
                continue
            package = packages.get(pid)
            if package is None:
                continue
            key = (package["name"], package["version"])
            if key in out:
                continue
            declared = package.get("license")
            expression = canonical_spdx(declared.replace("/", " OR ")) if declared else None
            source = package.get("source") or ""
            checksum = checksums.get(key)
            from_crates_io = source.startswith("registry+https://github.com/rust-lang/crates.io-index")
            where = (
                "crates.io" if from_crates_io else (source.split("+", 1)[0] + " source" if source else "a local path")
            )
            purl_type = "cargo" if from_crates_io else "generic"
            out[key] = Component(
                kind="rust-crate",
                name=package["name"],
                version=package["version"],
                license_expression=expression,
                license_names=() if expression or not declared else (declared,),
                texts=_license_texts(package),
                # The purl spec percent-encodes "+" in versions (zstd-sys@2.1.3%2Bzstd.1.5.7).
                purl=PackageURL(type=purl_type, name=package["name"], version=package["version"]).to_string(),
                hashes=(("SHA-256", checksum),) if checksum else (),
                description=f"a Rust crate from {where}"
                + (f": {package['description'].strip()}" if package.get("description") else ""),
            )
    return [out[k] for k in sorted(out)]
