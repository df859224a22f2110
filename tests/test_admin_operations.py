"""The admin client adds no rule of its own: every GraphQL document in the built client
is valid against the committed schema.graphql."""

from __future__ import annotations

import json
import re

from graphql import OperationDefinitionNode, build_schema, parse, validate

from tests.browser.helpers import ROOT, ensure_built

ASSETS = ROOT / "chrgraph" / "http" / "static" / "admin" / "assets"
# Documents are string literals in the bundle (template or quoted), "query Name…" or
# "mutation Name…" after leading white space.
_TEMPLATE = re.compile(r"`((?:[^`\\]|\\.)*)`")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_START = re.compile(r"\s*(?:query|mutation|subscription|fragment) [A-Za-z_]")


def client_documents() -> dict[str, str]:
    """Operation name -> document text, from the built client's own chunks (GraphiQL's
    chunks are skipped: they hold the library's example text, not the client's operations)."""
    ensure_built()
    documents: dict[str, str] = {}
    for path in sorted(ASSETS.glob("*.js")):
        if "graphiql" in path.name or "monaco" in path.name:
            continue
        code = path.read_text(errors="replace")
        literals = [m.group(1) for m in _TEMPLATE.finditer(code)]
        literals += [json.loads(f'"{m.group(1)}"') for m in _QUOTED.finditer(code) if _START.match(m.group(1))]
        for text in literals:
            if not _START.match(text):
                continue
            try:
                document = parse(text)
            except Exception:
                continue
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode) and definition.name:
                    documents[definition.name.value] = text
    return documents


def test_every_operation_of_the_built_client_is_valid_against_the_schema():
    schema = build_schema((ROOT / "schema.graphql").read_text())
    documents = client_documents()
    assert {"Login", "Viewer", "Members", "InviteUser", "AcceptInvitation"} <= set(documents), sorted(documents)
    for name, text in documents.items():
        errors = validate(schema, parse(text))
        assert not errors, f"{name}: {errors}"
