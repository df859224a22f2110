"""A webhook receiver on 127.0.0.1 for the tests: it records every request (headers and
body) and answers the statuses it is told to, in order (200 once they run out). Every
payload any receiver got is kept in `ALL_PAYLOADS` for the PHI scan."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALL_PAYLOADS: list[bytes] = []


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    # Set when a request arrives; while `hold` is set, answers wait until `release` is set.
    arrived: threading.Event = field(default_factory=threading.Event)
    hold: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    # With TLS: the server name each client asked for (SNI), in order.
    server_names: list[str | None] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


@contextlib.contextmanager
def receiver(tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[Receiver]:
    """Listening on 127.0.0.1 always; `host` only names it in `url`. With `tls`, HTTPS
    with that server context (its certificate decides which names a client accepts)."""
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            state.requests.append(received)
            ALL_PAYLOADS.append(body)
            state.arrived.set()
            if state.hold:
                state.release.wait(30)
            status = state.statuses.pop(0) if state.statuses else 200
            answer = b'{"ok": true}' if status < 300 else b"x" * 3000
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        tls.sni_callback = lambda _socket, name, _context: state.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://{host}:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
