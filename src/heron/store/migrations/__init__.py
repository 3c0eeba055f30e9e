"""Numbered SQL migrations, applied in order; the applied version lives in the database."""

from __future__ import annotations

from importlib import resources


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every ``NNNN_name.sql`` file here, sorted by version."""
    found = []
    for entry in resources.files(__package__).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)
