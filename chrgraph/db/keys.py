"""The database keys behind the public ids of a mutation's input, in one statement.

A mutation's operation works with database keys (it compares them, links rows by them);
the client sends global ids, which carry public ids. `keys_of` resolves every public id
of one input at once: one `SELECT … UNION ALL SELECT …` over the unique `public_id`
indexes, whatever the number of ids and types. It does not filter by organization: the
operation reads each row through its organization's scope (`OrganizationData`) as it did
when clients sent keys, so another organization's id is NOT_FOUND exactly as before."""

from __future__ import annotations

from collections.abc import Collection

from tortoise import Tortoise
from tortoise.models import Model

# The models global ids name: the GraphQL type name is the model's name.
NODE_MODELS = (
    "Organization",
    "User",
    "Role",
    "IdentifierType",
    "Patient",
    "Appointment",
    "Questionnaire",
    "InboxMessage",
    "LabIntegration",
    "MdBillingConnection",
    "ApiConsumer",
    "AuditEvent",
    "LicenseUpgradeRequest",
    "WebhookSubscription",
    "WebhookDelivery",
)


def node_model(type_name: str) -> type[Model] | None:
    if type_name not in NODE_MODELS:
        return None
    return Tortoise.apps["chrgraph"][type_name]


async def keys_of(refs: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """{(type name, public id): key} for the refs that name a row; the others are absent."""
    by_type: dict[str, list[str]] = {}
    for type_name, public_id in refs:
        if node_model(type_name) is not None and public_id not in by_type.setdefault(type_name, []):
            by_type[type_name].append(public_id)
    by_type = {name: ids for name, ids in by_type.items() if ids}
    if not by_type:
        return {}
    names = list(by_type)
    db = node_model(names[0])._choose_db()  # type: ignore[union-attr]  # checked above
    postgres = db.capabilities.dialect == "postgres"
    params: list[str] = []
    parts = []
    for index, name in enumerate(names):
        marks = []
        for public_id in by_type[name]:
            params.append(public_id)
            marks.append(f"${len(params)}" if postgres else "?")
        table = node_model(name)._meta.db_table  # type: ignore[union-attr]  # checked above
        parts.append(f'SELECT {index} AS t, "id", "public_id" FROM "{table}" WHERE "public_id" IN ({", ".join(marks)})')
    _, rows = await db.execute_query(" UNION ALL ".join(parts), params)
    return {(names[row[0]], row[2]): row[1] for row in rows}
