from .__init__ import VALUE  # as some projects write it; works under `python -m`

REEXPORTED = VALUE
