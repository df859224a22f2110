"""Which versions of a library are installed, against the ones a fast path was written
for. Imports nothing of chrgraph: every fence package uses it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def differences(written_for: dict[str, str]) -> list[str]:
    """`name installed (written for X)` for every library whose installed version is not
    the one named; empty when all match."""
    found = []
    for name, expected in written_for.items():
        actual = installed(name)
        if actual != expected:
            found.append(f"{name} {actual or 'missing'} (written for {expected})")
    return found
