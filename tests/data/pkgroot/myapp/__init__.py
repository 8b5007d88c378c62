"""A tiny application package used by the resource tests."""

VERSION = "1.0"
