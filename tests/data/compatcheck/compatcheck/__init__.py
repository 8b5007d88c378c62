"""A test application: checks namespace packages, mypyc wheels and data read beside __file__."""

VALUE = "defined in compatcheck/__init__.py"
