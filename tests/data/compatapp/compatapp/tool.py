"""Run by ``runpy.run_module`` from the check."""

RESULT = "ran " + __name__
