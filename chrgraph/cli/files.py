"""Reading the files a command is given (keys, CSV): every way a file can fail to be
read becomes one `CommandFailed` naming the option and the path, never the contents."""

from __future__ import annotations

from pathlib import Path

from chrgraph.cli.boundary import CommandFailed


def read_bytes(path: Path, option: str) -> bytes:
    """The file's bytes; `option` is how the command line named it (`--public-key`)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "is a folder, not a file"
    except PermissionError:
        problem = "permission denied"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    raise CommandFailed("FILE_UNREADABLE", f"cannot read {option} {path}: {problem}", _field(option))


def read_text(path: Path, option: str, *, encoding: str = "utf-8") -> str:
    data = read_bytes(path, option)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CommandFailed(
            "FILE_UNREADABLE",
            f"cannot read {option} {path}: not UTF-8 text (byte {exc.start + 1} is not valid UTF-8)",
            _field(option),
        ) from None


def _field(option: str) -> str:
    head, *rest = option.lstrip("-").split("-")
    return head.lower() + "".join(part.title() for part in rest)
