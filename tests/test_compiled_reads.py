"""`ByIds` (chrgraph/db/raw.py) answers exactly what the Tortoise query it stands
for answers, on both databases: models, `values_list` tuples and `values` dicts, with
Tortoise's conversions (enums, datetimes), for any list length, and inside a transaction
it reads the transaction's own writes; so does `value_tuples` for a `values_list` query."""

from __future__ import annotations

from datetime import datetime, timedelta

from chrgraph.db.models import Organization, Role, RolePermission, User, UserRole
from chrgraph.db.raw import ByIds, value_tuples
from chrgraph.db.transactions import atomic
from tests.accounts import make_clinic

COLUMNS = ("id", "email", "type", "status", "created_at", "first_name")


async def test_by_ids_answers_what_tortoise_answers(client):
    clinic = await make_clinic(client)
    org_id = clinic.organization.id
    users = await User.filter(organization_id=org_id).order_by("id").values_list("id", flat=True)
    role_ids = await Role.filter(organization_id=org_id).order_by("id").values_list("id", flat=True)
    for user_id, role_id in zip(users, role_ids, strict=False):  # links to compare (setup only)
        await UserRole.get_or_create(user_id=user_id, role_id=role_id)
    assert len(users) > 1
    by_user, by_role, by_id = ByIds(UserRole, "user_id"), ByIds(RolePermission, "role_id"), ByIds(User)

    for ids in (users[:1], users, users[:1], list(reversed(users))):  # shapes made, then reused
        assert await by_user.tuples(ids, "user_id", "role_id", order_by=("role_id", "user_id")) == (
            await UserRole.filter(user_id__in=ids).order_by("role_id", "user_id").values_list("user_id", "role_id")
        )
        assert sorted(await by_id.dicts(ids, *COLUMNS), key=lambda r: r["id"]) == sorted(
            await User.filter(id__in=ids).values(*COLUMNS), key=lambda r: r["id"]
        )
        mine = {u.id: u for u in await by_id.fetch(ids)}
        theirs = {u.id: u for u in await User.filter(id__in=ids)}
        assert mine.keys() == theirs.keys()
        for key, user in theirs.items():
            assert {f: getattr(mine[key], f) for f in User._meta.fields_map if f in User._meta.db_fields} == {
                f: getattr(user, f) for f in User._meta.fields_map if f in User._meta.db_fields
            }
    permissions = await by_role.tuples(role_ids, "role_id", "permission")
    assert sorted(permissions) == sorted(
        await RolePermission.filter(role_id__in=role_ids).values_list("role_id", "permission")
    )
    assert permissions and all(type(p).__name__ == "Permission" for _, p in permissions)  # enums, not text
    assert await by_id.fetch([]) == [] and await by_id.tuples([], "id") == [] and await by_id.dicts([], "id") == []


async def test_by_ids_in_a_transaction_reads_its_own_writes(client):
    clinic = await make_clinic(client)
    organizations = ByIds(Organization)
    async with atomic() as conn:
        await Organization.filter(id=clinic.organization.id).using_db(conn).update(name="Renamed inside")
        [inside] = await organizations.fetch([clinic.organization.id])
        [as_dict] = await organizations.dicts([clinic.organization.id], "name")
    assert inside.name == as_dict["name"] == "Renamed inside"


async def test_value_tuples_answer_what_tortoise_answers(client):
    """`value_tuples`: the same rows as `await query`, instants aware in UTC and equal,
    enums as members, nulls kept; a flat query goes through Tortoise."""
    clinic = await make_clinic(client)
    org_id = clinic.organization.id
    columns = ("id", "email", "type", "created_at", "deactivated_at", "expected_end_of_training")
    query = User.filter(organization_id=org_id).order_by("id")
    mine = await value_tuples(query.values_list(*columns))
    theirs = list(await query.values_list(*columns))
    assert mine == theirs and len(mine) > 1
    assert all(isinstance(row[3], datetime) and row[3].utcoffset() == timedelta(0) for row in mine)
    assert any(row[4] is None for row in mine)
    flat = query.values_list("id", flat=True)
    assert await value_tuples(flat) == list(await query.values_list("id", flat=True))
