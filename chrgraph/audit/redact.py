"""Secrets never reach audit events or API logs.

Audit events redact their changes by field name (`redact`). API-log rows follow a
`RedactionPlan`: what the schema declares secret (arguments, input fields, output
fields), found in one document by walking it with the schema's types
(chrgraph/schema/secrets.py), once per document. The plan is plain data: the spans of
the secret literals in the query text, what of each variable's value is secret, and the
response paths (response keys, aliases included) of secret output fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"(password|secret|token|private|signature|^key$|credential)", re.I)

# What of a value is secret: True, all of it; a mapping, those members (lists are
# transparent: the shape applies to each item).
Shape: TypeAlias = "bool | Mapping[str, Shape]"


def is_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class RedactionPlan:
    """What is secret in one document. `everything`: a document that did not parse or
    validate, whose secrets cannot be told apart: every string literal (`literals`) and
    every value of its variables are redacted."""

    literals: tuple[tuple[int, int], ...] = ()  # (start, end) of secret literals in the text
    literal_values: tuple[str, ...] = ()  # their values (scrubbed from error messages)
    variables: Mapping[str, Shape] = field(default_factory=dict)
    response: Mapping[str, Shape] = field(default_factory=dict)
    everything: bool = False

    def redact_query(self, text: str, offset: int = 0) -> str:
        if not self.literals:
            return text
        parts, at = [], 0
        for start, end in self.literals:
            start, end = start - offset, end - offset
            if start < at or end > len(text) or start < 0:
                continue
            parts.append(text[at:start])
            parts.append(f'"{REDACTED}"')
            at = end
        parts.append(text[at:])
        return "".join(parts)

    def redact_variables(self, values: Any, found: list[str]) -> Any:
        """The variables with their secrets replaced; the secret values go to `found`."""
        if self.everything:
            return _hide(values, found)
        if not isinstance(values, dict) or not self.variables:
            return values
        return {
            name: (_apply(value, self.variables[name], found) if name in self.variables else value)
            for name, value in values.items()
        }

    def touches_response(self) -> bool:
        return bool(self.response) or self.everything

    def redact_result(self, result: Any, found: Iterable[str]) -> Any:
        """One operation's result (`data`, `errors`): secret outputs replaced, and the
        secret values a caller sent scrubbed from error messages (a value of the wrong
        type is quoted there)."""
        if not isinstance(result, dict):
            return result
        result = dict(result)
        if self.response and isinstance(result.get("data"), dict):
            result["data"] = _apply(result["data"], self.response, [])
        scrub = sorted({v for v in (*found, *self.literal_values) if len(v) >= 2}, key=len, reverse=True)
        if scrub and isinstance(result.get("errors"), list):
            result["errors"] = [_scrub_error(e, scrub) for e in result["errors"]]
        return result


def _apply(value: Any, shape: Shape, found: list[str]) -> Any:
    if value is None:
        return None
    if shape is True:
        return _hide(value, found)
    if isinstance(value, list):
        return [_apply(v, shape, found) for v in value]
    if isinstance(value, dict) and isinstance(shape, Mapping):
        return {k: (_apply(v, shape[k], found) if k in shape else v) for k, v in value.items()}
    return value


def _hide(value: Any, found: list[str]) -> Any:
    """Every scalar of a secret value (null and booleans tell nothing) is replaced."""
    if isinstance(value, dict):
        return {k: _hide(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v, found) for v in value]
    if value is None or isinstance(value, bool):
        return value
    found.append(str(value))
    return REDACTED


def _scrub_error(error: Any, values: list[str]) -> Any:
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return error
    message = error["message"]
    for value in values:
        message = message.replace(value, REDACTED)
    return {**error, "message": message}


NOTHING_SECRET = RedactionPlan()


@dataclass(frozen=True, slots=True)
class RequestRedaction:
    """The plans of one HTTP request's documents: one, or one per operation of a batch
    (whose logged query text is the documents joined with `separator`, and whose
    logged variables are `{"batch": [...]}`)."""

    plans: tuple[RedactionPlan, ...]
    lengths: tuple[int, ...] = ()  # each document's length (a batch)
    separator: str = ""
    found: list[str] = field(default_factory=list)  # secret values seen in the variables

    @property
    def batched(self) -> bool:
        return bool(self.lengths)

    def redact_query(self, text: str) -> str:
        if not self.batched:
            return self.plans[0].redact_query(text)
        parts, at = [], 0
        for plan, length in zip(self.plans, self.lengths, strict=True):
            parts.append(plan.redact_query(text[at : at + length]))
            at += length + len(self.separator)
        return self.separator.join(parts)

    def redact_variables(self, values: Any) -> Any:
        if not self.batched:
            return self.plans[0].redact_variables(values, self.found)
        items = values.get("batch") if isinstance(values, dict) else None
        if not isinstance(items, list) or len(items) != len(self.plans):
            return _hide(values, self.found)
        return {"batch": [p.redact_variables(v, self.found) for p, v in zip(self.plans, items, strict=True)]}

    def touches_response(self) -> bool:
        return bool(self.found) or any(p.touches_response() or p.literal_values for p in self.plans)

    def redact_response(self, body: Any) -> Any:
        if not self.batched:
            return self.plans[0].redact_result(body, self.found)
        if not isinstance(body, list) or len(body) != len(self.plans):
            return self.plans[0].redact_result(body, self.found)  # a refusal: one error object
        return [p.redact_result(r, self.found) for p, r in zip(self.plans, body, strict=True)]


def storable(value: Any) -> Any:
    """Text any database can hold: NUL and lone surrogates (which a hostile request may
    carry, and PostgreSQL refuses) become U+FFFD, recursively."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        if _has_surrogate(value):
            value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
