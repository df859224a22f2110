"""A server that crashes (SIGKILL of itself) at the moment it would store its first
idempotent answer, that is right after its mutation committed and before any answer
left:

    python -m tests.crashing_server --host 127.0.0.1 --port PORT

Started by tests/test_idempotency_keys.py through `tests.processes.running_server`."""

from __future__ import annotations

import argparse

import uvicorn

from chrgraph.db import hooks

# The one statement that stores an answer sets its key's `content_key`.
STORE_ANSWER = '"content_key"='

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match=STORE_ANSWER, exclude=("api_log",), crash=True))
    uvicorn.run("chrgraph.app:app_factory", factory=True, host=args.host, port=args.port, log_level="warning")
