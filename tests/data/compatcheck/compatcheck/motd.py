import os

_PATH = os.path.join(os.path.dirname(__file__), "data", "motd.txt")


def read():
    if not os.path.isfile(_PATH):
        return "missing: " + _PATH
    with open(_PATH, encoding="utf-8") as f:
        return f.read()
