"""Entry point of the greeter example: greet the names given, report YAML's C extension."""

import sys

import yaml


def main() -> int:
    names = sys.argv[1:] or ["world"]
    if names == ["--fail"]:
        return 3
    doc = yaml.safe_load("greeting: Hello")
    for name in names:
        print(f"{doc['greeting']}, {name}!")
    print("libyaml:", yaml.__with_libyaml__)
    return 0
