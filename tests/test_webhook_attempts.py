"""One webhook delivery attempt, end to end against real receivers on 127.0.0.1.

Over HTTPS the worker connects to the address it checked (so a DNS answer that changes
after the check cannot redirect it), names the URL's host in SNI and `Host`, and accepts
only a certificate valid for that name from an authority it trusts: a TLS receiver
reached as `localhost`, with certificates of the test's own authority (trusted through
`delivery.tls_context`, the one place the worker's trust comes from). And an attempt
ends at its time limit, however slowly the receiver answers."""

from __future__ import annotations

import contextlib
import ipaddress
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from standardwebhooks.webhooks import Webhook

from chrgraph.db.models import WebhookEvent, WebhookSubscription
from chrgraph.resolvers.webhooks import delivery
from chrgraph.resolvers.webhooks.addresses import allowed_hosts, check
from chrgraph.settings import get_settings
from tests.certificates import Authority
from tests.helpers import make_vendor
from tests.test_webhooks import register, subscribe
from tests.webhook_receiver import receiver

SETTINGS = replace(get_settings(), webhook_allowed_hosts="localhost")


@pytest.fixture
def authority(tmp_path, monkeypatch) -> Authority:
    made = Authority.make(tmp_path / "ca")
    monkeypatch.setattr(delivery, "tls_context", made.trusting)
    return made


@pytest.fixture
async def event_to_send(client):
    """A real subscription and event; the worker is kept off them (subscription
    switched off), and each test sends with `delivery.send` to its own receiver."""
    vendor = await make_vendor(client)
    made = await subscribe(vendor, "https://127.0.0.1:9/hooks", ["PATIENT_REGISTERED"])
    await register(vendor)
    subscription = await WebhookSubscription.get(organization_id=vendor.organization.id)
    await WebhookSubscription.filter(id=subscription.id).update(active=False)
    event = await WebhookEvent.get(organization_id=vendor.organization.id)
    return subscription, event, made["secret"]


async def _send_to(url: str, subscription, event, settings=SETTINGS) -> delivery.Outcome:
    target = await check(url, allowed_hosts(settings.webhook_allowed_hosts))
    if ipaddress.ip_address(target.address) not in ipaddress.ip_network("127.0.0.0/8"):
        pytest.skip(f"localhost resolves to {target.address} first on this machine; tests stay in 127.0.0.0/8")
    subscription.url = url  # this attempt's URL (not saved)
    async with delivery.http_client(settings) as client:
        return await delivery.send(client, settings, subscription, event)


async def test_a_certificate_for_the_url_s_host_delivers_with_that_name_in_sni_and_host(authority, event_to_send):
    subscription, event, secret = event_to_send
    with receiver(tls=authority.server("localhost"), host="localhost") as inbox:
        outcome = await _send_to(inbox.url, subscription, event)
        port = inbox.url.rsplit(":", 1)[1].split("/")[0]
    assert (outcome.status, outcome.error) == (200, None)
    assert inbox.server_names == ["localhost"]
    [request] = inbox.requests
    assert request.headers["host"] == f"localhost:{port}"
    assert Webhook(secret).verify(request.body, request.headers)["id"] == event.payload["id"]


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(("elsewhere.test",), id="another host name"),
        pytest.param(("127.0.0.1",), id="the connected address, not the URL's name"),
    ],
)
async def test_a_certificate_for_another_name_is_refused_and_nothing_is_sent(authority, event_to_send, names):
    subscription, event, _ = event_to_send
    with receiver(tls=authority.server(*names), host="localhost") as inbox:
        outcome = await _send_to(inbox.url, subscription, event)
    assert (outcome.status, outcome.error) == (None, "tls_error")
    assert inbox.requests == []


async def test_a_certificate_from_an_authority_not_trusted_is_refused(authority, event_to_send, tmp_path):
    subscription, event, _ = event_to_send
    stranger = Authority.make(tmp_path / "stranger")
    with receiver(tls=stranger.server("localhost"), host="localhost") as inbox:
        outcome = await _send_to(inbox.url, subscription, event)
    assert (outcome.status, outcome.error) == (None, "tls_error")
    assert inbox.requests == []


@contextlib.contextmanager
def trickling_receiver() -> Iterator[str]:
    """Reads the request, then answers its status line and one header line every 0.2 s,
    never ending the headers: each read is quick, the answer never comes."""
    stop = threading.Event()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            with contextlib.suppress(OSError):
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for n in range(300):
                    if stop.wait(0.2):
                        return
                    self.wfile.write(b"x-slow-%d: 1\r\n" % n)
                    self.wfile.flush()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/hooks"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


async def test_an_attempt_ends_at_its_time_limit_however_slowly_the_receiver_answers(event_to_send):
    # httpx's timeout limits each read; the attempt's limit is on the whole of it, so a
    # slow receiver cannot hold a delivery past its claim (and be sent it again meanwhile).
    subscription, event, _ = event_to_send
    quick = replace(SETTINGS, webhook_timeout_seconds=1.0)
    with trickling_receiver() as url:
        started = time.monotonic()
        outcome = await _send_to(url, subscription, event, quick)
        took = time.monotonic() - started
    assert (outcome.status, outcome.error) == (None, "timeout")
    assert 0.9 <= took < 5, took
    assert 900 <= outcome.duration_ms < 5000
