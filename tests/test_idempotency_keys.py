"""Safe retries with `Idempotency-Key`: a repeat gets the first answer and changes
nothing; another request under the same key is 422; a repeat while the first runs is
409 IN_USE; a repeat after a commit whose answer was lost is 409 COMPLETED with the ids
it wrote; keys belong to one consumer or one user; stored answers are encrypted and
purged after 24 hours."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image

from chrgraph import clock
from chrgraph.db import hooks
from chrgraph.db.idempotency import purge_expired_keys
from chrgraph.db.models import AuditEvent, IdempotencyKey, Patient
from chrgraph.http import idempotency as keys
from tests.accounts import PASSWORD, Clinic, make_clinic, session_for
from tests.helpers import gid, make_vendor, unique
from tests.processes import eventually, running_server

REGISTER = """mutation Register($i: RegisterPatientInput!) { registerPatient(input: $i) {
  patient { id lastName } errors { code field } } }"""
PATIENTS = "query { patients(first: 1) { totalCount } }"


@pytest.fixture
async def clinic(client) -> Clinic:
    return await make_clinic(client)


@pytest.fixture
def clock_moved() -> AsyncIterator[Callable[[timedelta], None]]:
    """Move this process's "now" ahead by a duration; back to the system clock after."""

    def move(ahead: timedelta) -> None:
        clock.set_source(lambda: datetime.now(UTC) + ahead)

    yield move  # type: ignore[misc]
    clock.set_source(None)


def new_key() -> str:
    return str(uuid.uuid4())


def person(last_name: str | None = None) -> dict:
    return {"i": {"firstName": "Zoë", "lastName": last_name or unique("Idem"), "dateOfBirth": "1979-02-03"}}


async def send(caller, key: str | None, variables: dict, query: str = REGISTER):
    headers = {"Idempotency-Key": key} if key is not None else {}
    if hasattr(caller, "consumer"):  # a Vendor
        return await caller.post(query, variables, headers=headers)
    return await caller.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {caller.token}", **headers},
    )


async def patients_named(last_name: str) -> int:
    return await Patient.filter(last_name=last_name).count()


# --- replay -------------------------------------------------------------------------


async def test_a_repeat_gets_the_first_answer_and_changes_nothing(clinic):
    key, variables = new_key(), person()
    name = variables["i"]["lastName"]
    first = await send(clinic.vendor, key, variables)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    events = await AuditEvent.filter(organization_id=clinic.organization.id).count()
    again = await send(clinic.vendor, key, variables)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # same body, byte for byte
    assert await patients_named(name) == 1
    assert await AuditEvent.filter(organization_id=clinic.organization.id).count() == events


async def test_a_replay_is_api_logged(clinic):
    key, variables = new_key(), person()
    await send(clinic.vendor, key, variables)
    again = await send(clinic.vendor, key, variables)
    logged = await clinic.owner.gql(
        "query($r: String) { apiLogs(filter: {requestId: $r}) { edges { node { status } } } }",
        {"r": again.headers["x-request-id"]},
    )
    assert [e["node"]["status"] for e in logged["apiLogs"]["edges"]] == [200]


async def test_the_same_request_with_variables_in_another_order_is_the_same_request(clinic):
    key, variables = new_key(), person()
    first = await send(clinic.vendor, key, variables)
    shuffled = {"i": dict(reversed(list(variables["i"].items())))}
    again = await send(clinic.vendor, key, shuffled)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content


# --- another request under the same key ---------------------------------------------


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(clinic):
    key, variables = new_key(), person()
    await send(clinic.vendor, key, variables)
    other = person()
    refused = await send(clinic.vendor, key, other)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await patients_named(other["i"]["lastName"]) == 0


async def test_another_operation_name_is_another_request(clinic):
    key, variables = new_key(), person()
    await send(clinic.vendor, key, variables)
    renamed = REGISTER.replace("mutation Register", "mutation RegisterAgain")
    refused = await send(clinic.vendor, key, variables, renamed)
    assert refused.status_code == 422


# --- a repeat while the first runs --------------------------------------------------


@pytest.fixture
def held() -> AsyncIterator[tuple[asyncio.Event, asyncio.Event]]:
    """Hold the next request that claims a key until `release` is set (`claimed` says it
    got there)."""
    claimed, release = asyncio.Event(), asyncio.Event()
    armed = [True]

    async def hold() -> None:
        if armed[0]:
            armed[0] = False
            claimed.set()
            await release.wait()

    keys.after_claim.append(hold)
    yield claimed, release
    release.set()
    keys.after_claim.remove(hold)


async def test_a_repeat_while_the_first_runs_is_409_in_use(clinic, held):
    claimed, release = held
    key, variables = new_key(), person()
    first = asyncio.ensure_future(send(clinic.vendor, key, variables))
    await asyncio.wait_for(claimed.wait(), 30)
    repeat = await send(clinic.vendor, key, variables)
    assert repeat.status_code == 409
    assert repeat.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert repeat.headers["retry-after"] == "1"
    release.set()
    answer = await asyncio.wait_for(first, 30)
    assert answer.status_code == 200 and answer.json()["data"]["registerPatient"]["errors"] == []
    assert await patients_named(variables["i"]["lastName"]) == 1
    replay = await send(clinic.vendor, key, variables)
    assert replay.content == answer.content


async def test_two_requests_at_once_act_once(clinic):
    for _ in range(5):
        key, variables = new_key(), person()
        answers = await asyncio.gather(*(send(clinic.vendor, key, variables) for _ in range(2)))
        statuses = sorted(a.status_code for a in answers)
        assert await patients_named(variables["i"]["lastName"]) == 1
        ran = [a for a in answers if a.status_code == 200 and "idempotent-replayed" not in a.headers]
        assert len(ran) == 1, statuses
        other = next(a for a in answers if a is not ran[0])
        if other.status_code == 200:  # the first had finished: a replay of it
            assert other.headers["idempotent-replayed"] == "true" and other.content == ran[0].content
        else:
            assert other.status_code == 409
            assert other.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"


async def test_a_claim_that_lapsed_without_a_commit_runs_again(clinic, held, clock_moved):
    claimed, release = held
    key, variables = new_key(), person()
    first = asyncio.ensure_future(send(clinic.vendor, key, variables))
    await asyncio.wait_for(claimed.wait(), 30)
    clock_moved(timedelta(seconds=61))
    second = await send(clinic.vendor, key, variables)  # takes the lapsed claim over and runs
    assert second.status_code == 200 and second.json()["data"]["registerPatient"]["errors"] == []
    release.set()
    late = await asyncio.wait_for(first, 30)  # its claim is gone: it may not commit
    assert late.status_code == 409
    assert late.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert await patients_named(variables["i"]["lastName"]) == 1


# --- a commit whose answer was lost ---------------------------------------------------


async def test_a_commit_whose_answer_was_not_stored_is_409_completed_with_the_ids(clinic, clock_moved):
    key, variables = new_key(), person()
    # The database fails the one statement that stores the answer, after the commit: as
    # if the process had died between the two.
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match='"content_key"=', exclude=("api_log",)))
    try:
        first = await send(clinic.vendor, key, variables)
    finally:
        hooks.disarm_fault()
    assert first.status_code == 200  # the true answer still goes out
    patient_id = first.json()["data"]["registerPatient"]["patient"]["id"]
    soon = await send(clinic.vendor, key, variables)
    assert soon.status_code == 409  # not yet known to be lost: the first might still be answering
    assert soon.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    clock_moved(timedelta(seconds=61))
    lost = await send(clinic.vendor, key, variables)
    assert lost.status_code == 409
    extensions = lost.json()["errors"][0]["extensions"]
    assert extensions["code"] == "IDEMPOTENCY_KEY_COMPLETED"
    assert extensions["writtenIds"] == [patient_id]
    assert await patients_named(variables["i"]["lastName"]) == 1


async def registered(server_url: str, vendor, key: str, variables: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server_url, timeout=60, trust_env=False) as http:
        return await http.post(
            "/graphql",
            json={"query": REGISTER, "variables": variables},
            headers={"Authorization": f"Bearer {vendor.token()}", "Idempotency-Key": key},
        )


@pytest.mark.slow
async def test_a_server_killed_after_the_commit_leaves_a_completed_key(clinic, clock_moved):
    key, variables = new_key(), person()
    name = variables["i"]["lastName"]
    async with running_server(module="tests.crashing_server") as server:
        with pytest.raises(httpx.TransportError):  # it died before answering
            await registered(server.base_url, clinic.vendor, key, variables)
        await asyncio.wait_for(server.process.wait(), 10)
    patient = await Patient.get(last_name=name)  # the change committed, with its key
    row = await IdempotencyKey.get(key=key)
    assert row.committed_at is not None and row.status is None
    # This process (another server) is asked again: first as still running, then, once
    # the claim lapsed, as carried out, with what it wrote.
    soon = await send(clinic.vendor, key, variables)
    assert soon.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    clock_moved(timedelta(seconds=61))
    lost = await send(clinic.vendor, key, variables)
    assert lost.status_code == 409
    extensions = lost.json()["errors"][0]["extensions"]
    assert extensions["code"] == "IDEMPOTENCY_KEY_COMPLETED"
    assert extensions["writtenIds"] == [gid(patient)]
    assert await patients_named(name) == 1


@pytest.mark.slow
async def test_a_key_claimed_in_one_server_process_is_in_use_in_another(clinic, held):
    claimed, release = held
    key, variables = new_key(), person()
    async with running_server() as server:
        first = asyncio.ensure_future(send(clinic.vendor, key, variables))  # this process
        await asyncio.wait_for(claimed.wait(), 30)
        elsewhere = await registered(server.base_url, clinic.vendor, key, variables)
        assert elsewhere.status_code == 409
        assert elsewhere.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
        release.set()
        answer = await asyncio.wait_for(first, 30)
        replay = await registered(server.base_url, clinic.vendor, key, variables)
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == answer.content
    assert await patients_named(variables["i"]["lastName"]) == 1


@pytest.mark.parametrize("write", ["patient", '"idempotency_key" SET'])
async def test_a_mutation_that_fails_before_its_commit_leaves_no_key(clinic, write):
    """The key is marked in the mutation's own transaction: a failure at its change, or
    at the mark itself, leaves neither the change nor a committed key."""
    key, variables = new_key(), person()
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match=write, exclude=("api_log", "patient_access")))
    try:
        failed = await send(clinic.vendor, key, variables)
    finally:
        hooks.disarm_fault()
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await patients_named(variables["i"]["lastName"]) == 0
    assert not await IdempotencyKey.filter(key=key).exists()  # released: nothing happened
    again = await send(clinic.vendor, key, variables)
    assert again.status_code == 200 and again.json()["data"]["registerPatient"]["errors"] == []
    assert await patients_named(variables["i"]["lastName"]) == 1


# --- requests that changed nothing --------------------------------------------------


async def test_a_refused_mutation_frees_its_key(clinic):
    key = new_key()
    invalid = {"i": {"firstName": "Zoë", "lastName": "", "dateOfBirth": "1979-02-03"}}
    refused = await send(clinic.vendor, key, invalid)
    assert refused.json()["data"]["registerPatient"]["errors"]
    assert not await IdempotencyKey.filter(key=key).exists()
    fixed = person()
    answer = await send(clinic.vendor, key, fixed)  # corrected, under the same key: runs
    assert answer.status_code == 200 and answer.json()["data"]["registerPatient"]["errors"] == []
    assert "idempotent-replayed" not in answer.headers


CHANGE_PASSWORD = """mutation Change($i: ChangePasswordInput!) { changePassword(input: $i) {
  user { id } errors { code field } } }"""


async def test_a_refusal_that_only_counted_a_wrong_password_frees_its_key(clinic):
    # The wrong password is counted in the login throttle (a transaction of its own that
    # commits): that is the server's bookkeeping, not the mutation's change, so the key
    # stays free for the corrected request.
    member = await clinic.member()
    key, new_password = new_key(), "a much longer passphrase of my own 42"
    wrong = {"i": {"password": "not my password at all", "newPassword": new_password}}
    refused = await send(member, key, wrong, CHANGE_PASSWORD)
    assert refused.json()["data"]["changePassword"]["errors"] == [{"code": "PASSWORD_INVALID", "field": ["password"]}]
    assert not await IdempotencyKey.filter(key=key).exists()
    fixed = {"i": {"password": PASSWORD, "newPassword": new_password}}
    answer = await send(member, key, fixed, CHANGE_PASSWORD)
    assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers, answer.text
    assert answer.json()["data"]["changePassword"]["errors"] == []
    assert (await IdempotencyKey.get(key=key)).committed_at is not None


# --- whose keys -----------------------------------------------------------------------


async def test_another_consumer_with_the_same_key_is_independent(clinic, client):
    other = await make_vendor(client)
    key = new_key()
    mine, theirs = person(), person()
    await send(clinic.vendor, key, mine)
    answer = await send(other, key, theirs)
    assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers
    assert answer.json()["data"]["registerPatient"]["errors"] == []
    assert await patients_named(theirs["i"]["lastName"]) == 1


async def test_a_users_key_holds_across_its_sessions_and_not_for_another_user(clinic):
    key, variables = new_key(), person()
    first = await send(clinic.owner, key, variables)
    assert first.status_code == 200 and first.json()["data"]["registerPatient"]["errors"] == []
    again = await session_for(clinic.client, clinic.owner.email)  # another session of the owner
    replay = await send(again, key, variables)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.content == first.content
    # The vendor (another owner of keys) sending the same key runs its own request.
    own = await send(clinic.vendor, key, variables)
    assert own.status_code == 200 and "idempotent-replayed" not in own.headers
    assert await patients_named(variables["i"]["lastName"]) == 2


# --- what the header is for -----------------------------------------------------------


@pytest.mark.parametrize("bad", ["", " ", "a b", "é", "x" * 256, "tab\tkey"])
async def test_a_malformed_key_is_400(clinic, bad):
    variables = person()
    response = await clinic.vendor.post(
        REGISTER,
        variables,
        headers={"Idempotency-Key": bad.encode("latin-1")},  # type: ignore[dict-item]
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await patients_named(variables["i"]["lastName"]) == 0


async def test_a_key_of_255_visible_characters_is_accepted(clinic):
    key = "".join(chr(33 + i % 94) for i in range(255))
    answer = await send(clinic.vendor, key, person())
    assert answer.status_code == 200 and answer.json()["data"]["registerPatient"]["errors"] == []


async def test_a_key_on_a_query_is_ignored(clinic):
    key = new_key()
    for _ in range(2):
        answer = await send(clinic.vendor, key, {}, PATIENTS)
        assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers
    assert not await IdempotencyKey.filter(key=key).exists()


async def test_a_key_on_a_batch_is_400(clinic):
    response = await clinic.vendor.client.post(
        "/graphql",
        json=[{"query": PATIENTS}, {"query": PATIENTS}],
        headers={"Authorization": f"Bearer {clinic.vendor.token()}", "Idempotency-Key": new_key()},
    )
    assert response.status_code == 400
    assert "batch" in response.json()["errors"][0]["message"]


async def test_a_key_on_an_anonymous_mutation_is_400(client):
    login = """mutation($i: LoginInput!) { login(input: $i) { token errors { code } } }"""
    response = await client.post(
        "/graphql",
        json={"query": login, "variables": {"i": {"email": "nobody@x.test", "password": "whatever it is"}}},
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


UPLOAD = """mutation($i: UploadPortalBackgroundImageInput!) { uploadPortalBackgroundImage(input: $i) {
  image { contentType width height } errors { code field } } }"""


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_upload_is_the_same_request_when_its_file_is_the_same(clinic):
    async def upload(key: str, content: bytes) -> httpx.Response:
        return await clinic.client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {clinic.owner.token}", "Idempotency-Key": key},
            data={
                "operations": json.dumps({"query": UPLOAD, "variables": {"i": {"file": None}}}),
                "map": json.dumps({"0": ["variables.i.file"]}),
            },
            files={"0": ("background.png", content, "image/png")},
        )

    key = new_key()
    first = await upload(key, png((20, 120, 200)))
    assert first.status_code == 200 and first.json()["data"]["uploadPortalBackgroundImage"]["errors"] == []
    events = await AuditEvent.filter(organization_id=clinic.organization.id).count()
    again = await upload(key, png((20, 120, 200)))
    assert again.headers.get("idempotent-replayed") == "true" and again.content == first.content
    other = await upload(key, png((200, 20, 20)))  # another file: another request
    assert other.status_code == 422
    assert await AuditEvent.filter(organization_id=clinic.organization.id).count() == events


# --- at rest, and for how long ------------------------------------------------------


async def test_the_stored_answer_is_encrypted(clinic):
    key, variables = new_key(), person()
    await send(clinic.vendor, key, variables)
    row = await IdempotencyKey.get(key=key, owner=f"consumer:{clinic.vendor.consumer.id}")
    assert row.status == 200 and row.content and row.content_key
    assert variables["i"]["lastName"] not in row.content


async def test_keys_are_purged_after_24_hours_and_may_then_be_used_again(clinic, clock_moved):
    key, variables = new_key(), person()
    await send(clinic.vendor, key, variables)
    clock_moved(timedelta(hours=24, seconds=1))
    other = person()
    answer = await send(clinic.vendor, key, other)  # an expired key is a new key
    assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers
    assert await patients_named(other["i"]["lastName"]) == 1
    clock_moved(timedelta(hours=48, seconds=2))
    assert await purge_expired_keys() >= 1
    assert not await IdempotencyKey.filter(key=key).exists()


@pytest.mark.slow
async def test_the_server_purges_expired_keys_on_its_schedule(clinic):
    old = await IdempotencyKey.create(
        organization_id=clinic.organization.id,
        owner=f"consumer:{clinic.vendor.consumer.id}",
        key=new_key(),
        request_hash="0" * 64,
        token="0" * 32,
        created_at=datetime.now(UTC) - timedelta(hours=25),
        claimed_at=datetime.now(UTC) - timedelta(hours=25),
    )
    async with running_server(CHRGRAPH_IDEMPOTENCY_PURGE_INTERVAL_SECONDS="0.2"):

        async def purged() -> bool:
            return not await IdempotencyKey.filter(id=old.id).exists()

        await eventually(purged, time_limit=30)


# --- what it costs ------------------------------------------------------------------


async def test_a_key_costs_three_statements(clinic):
    async def statements(key: str | None) -> list[str]:
        counter = hooks.count_statements()
        try:
            response = await send(clinic.vendor, key, person())
        finally:
            hooks.stop_counting(counter)
        assert response.status_code == 200
        return [sql for sql in counter.statements if "auth_epoch" not in sql and "api_log" not in sql]

    await statements(None)  # warm the caches: measure the key, not the first request
    plain, keyed = await statements(None), await statements(new_key())
    extra = [sql for sql in keyed if "idempotency_key" in sql]
    # The claim (INSERT), the commit mark in the mutation's transaction (UPDATE), the answer (UPDATE).
    assert len(extra) == 3, extra
    assert len(keyed) == len(plain) + 3, (plain, keyed)
