"""Shared pytest configuration. Area-specific fixtures live in ``tests/fixtures_*.py`` modules."""
