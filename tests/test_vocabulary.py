"""Vocabulary declared once: the audit actions an operation records come from one
enum, whose words are the ones stored; DataLoaders are named classes, fresh for each
request; the mutations open to anonymous callers are the ones declaring `Public`."""

from __future__ import annotations

import ast
from pathlib import Path

from chrgraph.audit.actions import AuditAction
from chrgraph.db.models import AppointmentStatus
from chrgraph.schema import schema
from chrgraph.schema.loaders import UserByIdLoader, make_loaders
from chrgraph.schema.permissions import public_mutations

PACKAGE = Path(__file__).resolve().parent.parent / "chrgraph"


def _recorded_actions() -> list[tuple[str, int, ast.expr]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record":
                if isinstance(node.func.value, ast.Name) and node.func.value.id == "events":
                    found.append((str(path.relative_to(PACKAGE.parent)), node.lineno, node.args[2]))
    return found


def test_every_recorded_action_is_a_member_of_the_audit_vocabulary():
    calls = _recorded_actions()
    assert len(calls) > 40
    literal = [
        f"{path}:{line}"
        for path, line, action in calls
        if any(isinstance(n, (ast.Constant, ast.JoinedStr)) for n in ast.walk(action))
    ]
    assert not literal, f"audit actions written as strings (use AuditAction): {literal}"


def test_the_stored_word_of_every_action_is_its_name():
    assert all(str(action) == action.value == action.name for action in AuditAction)


def test_every_appointment_status_an_appointment_can_become_has_its_action():
    for status in AppointmentStatus:
        if status is not AppointmentStatus.BOOKED:
            assert AuditAction.appointment_became(status) == f"APPOINTMENT_{status.value}"


def test_a_request_gets_its_own_loaders_and_keeps_them_for_its_fields():
    first, second = make_loaders(), make_loaders()
    assert isinstance(first.user_by_id, UserByIdLoader)
    assert first.user_by_id is first.user_by_id
    assert first.user_by_id is not second.user_by_id


def test_the_mutations_open_to_anonymous_callers_are_those_declaring_public():
    assert public_mutations(schema) == {
        "login",
        "acceptInvitation",
        "requestPasswordReset",
        "resetPassword",
        "verifySecondFactor",
    }
