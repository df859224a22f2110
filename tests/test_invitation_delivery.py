"""Invitations go through the outbox and over SMTP when CHRGRAPH_SMTP_URL is set."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from email import message_from_string
from email.policy import default

from aiosmtpd.controller import Controller

from chrgraph.db.models import OutboxMessage
from chrgraph.resolvers.users.outbox import deliver_pending
from chrgraph.settings import Settings, get_settings
from tests.accounts import make_clinic
from tests.helpers import unique

INVITE = """mutation($i: InviteUserInput!) { inviteUser(input: $i) { errors { code } } }"""


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def smtp_at(url: str) -> Settings:
    return replace(get_settings(), smtp_url=url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_invitation_is_delivered_over_smtp(client):
    clinic = await make_clinic(client)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        email = f"{unique('mail')}@x.test"
        result = await clinic.owner.gql(
            INVITE,
            {
                "i": {
                    "email": email,
                    "type": "STAFF",
                    "license": "STAFF",
                    "firstName": "Mae",
                    "lastName": "Mail",
                }
            },
        )
        assert result["inviteUser"]["errors"] == []
        token = (await OutboxMessage.get(to_email=email)).token
        assert await deliver_pending(smtp_at(f"smtp://127.0.0.1:{port}")) >= 1
        for _ in range(50):
            if any(email in rcpts for rcpts, _ in inbox.messages):
                break
            await asyncio.sleep(0.05)
        delivered = [body for rcpts, body in inbox.messages if email in rcpts]
        # The accept link carries the token in its fragment.
        assert (
            delivered
            and "/admin/accept#token=" + token in message_from_string(delivered[0], policy=default).get_content()
        )
        stored = await OutboxMessage.get(to_email=email)
        assert stored.sent_at is not None and stored.token is None and token not in stored.body
    finally:
        controller.stop()


async def test_a_failed_delivery_stays_queued_with_its_error(client):
    clinic = await make_clinic(client)
    email = f"{unique('down')}@x.test"
    await clinic.owner.gql(
        INVITE,
        {"i": {"email": email, "type": "STAFF", "license": "STAFF", "firstName": "Dan", "lastName": "Down"}},
    )
    await deliver_pending(smtp_at(f"smtp://127.0.0.1:{free_port()}"))
    message = await OutboxMessage.get(to_email=email)
    assert message.sent_at is None and message.attempts >= 1 and message.last_error
    assert message.token  # still queued: kept for the next attempt
