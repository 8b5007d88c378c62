"""A module whose source lines must show in tracebacks, ``linecache`` and ``inspect``."""


def explode():
    value = {"answer": 42}
    return value["missing"]  # <- the line a traceback must show
