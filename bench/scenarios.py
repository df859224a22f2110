"""The scenarios of issue 5: what each sends, and as whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from bench.seed import Seeded

VIEWER = "query Viewer { viewer { organization { id name } } }"
USERS = """query Users { users(first: 100) { edges { node {
  id email roles { name permissions } permissions } } } }"""
INVITE = """mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id email status } errors { code message field } } }"""
WEEK = """query Week($from: DateTime!, $before: DateTime!) {
  appointments(first: 100, filter: {startFrom: $from, startBefore: $before}) {
    edges { node { start patient { lastName } practitioner { lastName } } } } }"""
SLOTS = """query Slots($owners: [ID!]!, $from: DateTime!, $to: DateTime!) {
  availableSlots(ownerIds: $owners, from: $from, to: $to, durationMinutes: 30) { ownerId slots } }"""
# S1's document over the admin client's credentials: the difference between S1 and S5 is the
# authentication path (session cache vs RS512 verify) and the API-log row S5 does not write.
SESSION_VIEWER = VIEWER

# In a body, this placeholder becomes a per-request unique string (wrk: thread and counter).
UNIQUE = "__UNIQUE__"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    principal: str  # "consumer" (a fresh RS512 JWT) or "session" (the owner's login)
    body: bytes  # the JSON request; may hold UNIQUE
    expect_items: int | None = None  # list length the probe checks

    @property
    def unique_bodies(self) -> bool:
        return UNIQUE.encode() in self.body


def _body(query: str, variables: dict | None = None) -> bytes:
    return orjson.dumps({"query": query, "variables": variables or {}})


def scenarios(seeded: Seeded) -> list[Scenario]:
    week_end = (datetime.fromisoformat(seeded.week_from) + timedelta(days=7)).isoformat()
    invite = {
        "input": {
            "email": f"{UNIQUE}@load.bench.invalid",
            "type": "STAFF",
            "license": "STAFF",
            "firstName": "Load",
            "lastName": "Invitee",
        }
    }
    return [
        Scenario("S1", "viewer { organization } as an API consumer", "consumer", _body(VIEWER)),
        Scenario("S2", "users(first: 100) with roles and permissions", "consumer", _body(USERS), 100),
        Scenario("S3", "inviteUser (unique email per request)", "consumer", _body(INVITE, invite)),
        Scenario(
            "S4",
            "a week of appointments (100) with patient and practitioner",
            "consumer",
            _body(WEEK, {"from": seeded.week_from, "before": seeded.week_before}),
            100,
        ),
        Scenario("S5", "viewer as the owner's session (admin client)", "session", _body(SESSION_VIEWER)),
        Scenario(
            "S6",
            "a week of 30-minute free slots for 5 practitioners",
            "consumer",
            _body(SLOTS, {"owners": list(seeded.practitioner_ids), "from": seeded.week_from, "to": week_end}),
        ),
    ]


def check_answer(scenario: Scenario, status: int, body: bytes) -> str | None:
    """None when the answer is what the scenario expects, else why not."""
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    data = orjson.loads(body)
    if data.get("errors"):
        return f"errors: {data['errors']}"
    root = data["data"]
    if scenario.name == "S3":
        payload = root["inviteUser"]
        if payload["errors"] or payload["user"]["status"] != "INVITED":
            return f"payload: {payload}"
    if scenario.name == "S6":
        owners = root["availableSlots"]
        if len(owners) != 5 or not all(o["slots"] for o in owners):
            return f"availability: {str(owners)[:300]}"
    if scenario.expect_items is not None:
        (connection,) = root.values()
        if len(connection["edges"]) != scenario.expect_items:
            return f"{len(connection['edges'])} items, expected {scenario.expect_items}"
    return None
