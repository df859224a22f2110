"""CSV files as clinics open them: in a spreadsheet (Excel, LibreOffice, Numbers).

Every CSV the product writes goes through `write_csv`. A spreadsheet runs a cell that
starts with `=`, `+`, `-` or `@` as a formula (and skips a leading tab or carriage
return to find one), so a name or an email chosen by anyone who can sign up would run
on the clinic's computer when an administrator opens the export. Such a text cell is
written with a leading single quote, which spreadsheets show as text (the OWASP advice
against CSV injection). Numbers and booleans are written as they are: they are ours,
never a formula, and stay numbers in the sheet.

Every CSV the product reads is decoded by `read_csv`: UTF-8 with or without the byte
order mark Excel's "CSV UTF-8" adds, any line ending (Excel writes CRLF), and the comma
or the semicolon Excel uses as separator where the comma is the decimal mark (fr-CA)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = (",", ";")


def neutralised(value: object) -> object:
    """The cell as written: a text a spreadsheet would run gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(stream: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A header row, then the rows; RFC 4180 quoting and CRLF line ends."""
    writer = csv.writer(stream)
    writer.writerow([neutralised(cell) for cell in header])
    writer.writerows([neutralised(cell) for cell in row] for row in rows)


def read_csv(data: bytes | str) -> csv.DictReader:
    """Rows as dicts keyed by the header row. Bytes that are not UTF-8 (Excel's plain
    "CSV" is the Windows code page) are refused: guessing would silently garble names."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise OperationFailed(
                UserError(
                    ErrorCode.INVALID_INPUT,
                    f'the file is not UTF-8 (byte {exc.start + 1}): save it as "CSV UTF-8"',
                    ("file",),
                )
            ) from exc
    else:
        text = data.removeprefix("\ufeff")
    first_line = text.partition("\n")[0]
    separator = max(SEPARATORS, key=first_line.count)  # a tie (none of them) keeps the comma
    # newline="": the csv module reads CRLF, LF and CR line ends itself, and keeps a line
    # break inside a quoted cell as it was.
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
