"""An application that exercises what code expects from its import system (issue 6, item 3).

Built into executables by ``tests/test_in_memory.py``: ``python -m compatapp`` runs ``check()``
and prints a JSON report; ``compatapp raise`` dies with an uncaught exception from ``boom``.
"""

GREETING = "compatapp"
