"""``python -m pyoxidizer_py``: the same entry point as the ``pyoxidizer-py`` script."""

import sys

from pyoxidizer_py.cli import main

sys.exit(main())
