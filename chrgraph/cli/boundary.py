"""The one place where a command's failure becomes what the operator sees: one line on
stderr and an exit code. With `--json` that line is a JSON object,
`{"errors": [{"code", "message", "field"}]}`, on stderr too, so stdout only ever holds
a command's output. No traceback reaches the terminal: an unexpected failure is written
to a private file that the line names."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import typer

from chrgraph.audit.anchor import AnchorFileError
from chrgraph.audit.checkpoint import SigningKeyError
from chrgraph.db.config import DatabaseMissing, DatabaseUnreachable
from chrgraph.db.log_keys import LogKeyError
from chrgraph.resolvers.errors import OperationFailed
from chrgraph.settings import SettingError


class ExitCode(IntEnum):
    """What a script can rely on (documented in the README)."""

    OK = 0
    REFUSED = 1  # the operation refused its input (typed errors); a failed check
    USAGE = 2  # a bad option or file, a malformed setting, no database, no key or anchor file
    UNREACHABLE = 3  # the database cannot be opened (server down, login refused)
    INTERNAL = 4  # a fault of chrgraph itself: the line names the file with the details
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    field: tuple[str, ...] | None = None


class CommandFailed(Exception):
    """Raised by a command for what it checks itself (an option's value, a file)."""

    def __init__(self, code: str, message: str, field: str | None = None, exit_code: ExitCode = ExitCode.USAGE):
        super().__init__(message)
        self.problems = [Problem(code, message, (field,) if field else None)]
        self.exit_code = exit_code


def run(app: typer.Typer, args: Sequence[str]) -> int:
    """Run the command line `args`; return the exit code, having reported any failure."""
    args = list(args)
    as_json = "--json" in args
    try:
        command = typer.main.get_command(app)
        # Not standalone: Typer then raises what it would print as a multi-line panel.
        result = command.main(args=args, prog_name="chrgraph", standalone_mode=False)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # not exported; Typer tests the name too
            return ExitCode.USAGE  # the help text is already printed
        return _report(*_usage(exc), as_json)
    except SystemExit as done:  # click's own exit on a closed pipe
        return done.code if isinstance(done.code, int) else ExitCode.REFUSED
    except BrokenPipeError:
        # The reader (`| head`) left: nothing more to say to it, and nothing to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.REFUSED
    except KeyboardInterrupt:
        return _report([Problem("INTERRUPTED", "interrupted")], ExitCode.INTERRUPTED, as_json)
    except Exception as exc:  # the boundary: whatever the kind, one line and a code
        problems, code = _known(exc) or _internal(exc)
        return _report(problems, code, as_json)
    return result if isinstance(result, int) else ExitCode.OK


def _known(exc: Exception) -> tuple[list[Problem], ExitCode] | None:
    if isinstance(exc, CommandFailed):
        return exc.problems, exc.exit_code
    if isinstance(exc, OperationFailed):
        return [Problem(e.code.value, e.message, e.field) for e in exc.errors], ExitCode.REFUSED
    if isinstance(exc, SettingError):
        return [Problem("INVALID_SETTING", str(exc))], ExitCode.USAGE
    if isinstance(exc, DatabaseMissing):
        return [Problem("DATABASE_MISSING", str(exc))], ExitCode.USAGE
    if isinstance(exc, DatabaseUnreachable):
        return [Problem("DATABASE_UNREACHABLE", str(exc))], ExitCode.UNREACHABLE
    if isinstance(exc, (SigningKeyError, LogKeyError)):
        return [Problem("KEY_UNAVAILABLE", str(exc))], ExitCode.USAGE
    if isinstance(exc, AnchorFileError):
        return [Problem("ANCHOR_UNAVAILABLE", str(exc))], ExitCode.USAGE
    if isinstance(exc, typer.Abort):
        return [Problem("INTERRUPTED", "aborted")], ExitCode.REFUSED
    return None


def _usage(exc: typer.TyperException) -> tuple[list[Problem], ExitCode]:
    """A command line the parser refused: an unknown command or option, a bad value."""
    param = getattr(exc, "param", None) if isinstance(exc, typer.BadParameter) else None
    if param is not None and param.name:
        return [Problem("INVALID_USAGE", exc.format_message(), (_camel(param.name),))], ExitCode.USAGE
    ctx = getattr(exc, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return [Problem("INVALID_USAGE", exc.format_message() + hint)], ExitCode.USAGE


def _internal(exc: Exception) -> tuple[list[Problem], ExitCode]:
    """A fault of ours: the traceback goes to a file only this user can read (it may
    quote values), and the line says where."""
    try:
        fd, path = tempfile.mkstemp(prefix="chrgraph-error-", suffix=".log")
        with os.fdopen(fd, "w") as handle:
            handle.write(" ".join(["chrgraph", *sys.argv[1:2]]) + "\n")
            traceback.print_exception(exc, file=handle)
        where = f"the details are in {path}"
    except OSError as unwritable:
        where = f"the details could not be written ({unwritable.strerror})"
    message = f"an internal error occurred ({type(exc).__name__}); {where}"
    return [Problem("INTERNAL_ERROR", message)], ExitCode.INTERNAL


def _report(problems: list[Problem], code: ExitCode, as_json: bool) -> int:
    if as_json:
        line = json.dumps(
            {
                "errors": [
                    {"code": p.code, "message": _one_line(p.message), "field": list(p.field) if p.field else None}
                    for p in problems
                ]
            },
            ensure_ascii=False,
        )
    else:
        line = "error: " + "; ".join(
            f"{p.code}{' (' + '.'.join(p.field) + ')' if p.field else ''}: {_one_line(p.message)}" for p in problems
        )
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return code


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
