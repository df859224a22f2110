"""`python -m chrgraph.schema.export`: print the SDL committed as schema.graphql.

`python -m chrgraph.schema.export --release docs/schema` writes it instead to
`docs/schema/<version>.graphql` (the version of the package), the baseline of a release
that later schemas are checked against for breaking changes."""

from __future__ import annotations

import sys
from pathlib import Path

from chrgraph import __version__
from chrgraph.schema import schema


def release(folder: Path) -> Path:
    """Write this version's SDL into `folder` and return the file written."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{__version__}.graphql"
    target.write_text(schema.as_str() + "\n")
    return target


if __name__ == "__main__":
    if sys.argv[1:2] == ["--release"] and len(sys.argv) == 3:
        print(release(Path(sys.argv[2])))
    elif len(sys.argv) == 1:
        print(schema.as_str())
    else:
        sys.exit("usage: python -m chrgraph.schema.export [--release FOLDER]")
