"""A tiny application that uses a C extension (PyYAML's libyaml binding) and a pure-Python package."""
