"""Stage 2: find, fetch, verify and describe the CPython distribution a build embeds.

Produces a ``model.Distribution`` record from an installed CPython
(``installed``) or a python-build-standalone archive.
"""
