"""Greets each name given on the command line; parses its greeting with PyYAML's C extension."""

from __future__ import annotations

import sys

import yaml


def main(argv: list[str] | None = None) -> int:
    names = (sys.argv[1:] if argv is None else argv) or ["world"]
    doc = yaml.load("greeting: Hello", Loader=yaml.CSafeLoader)  # CSafeLoader: the C extension
    for name in names:
        print(f"{doc['greeting']}, {name}!")
    print(f"libyaml: {yaml.__with_libyaml__}")
    return 0
