"""The real app over ASGI, on a throwaway SQLite or PostgreSQL database."""

from __future__ import annotations

import os
import tempfile

import httpx
import pytest
from asgi_lifespan import LifespanManager

from chrgraph.app import create_app
from chrgraph.db.log_keys import load_key_ring
from chrgraph.settings import get_settings
from tests.databases import create_database
from tests.helpers import Vendor, make_vendor

# Settings are read on first use (never at import), so setting the environment here,
# before any fixture runs, is in time; subprocesses (CLI, servers) inherit it.
_URL, _drop = create_database()
os.environ["CHRGRAPH_DATABASE_URL"] = _URL
_AUDIT_FILES = tempfile.mkdtemp(prefix="chrgraph-key-")
os.environ["CHRGRAPH_AUDIT_SIGNING_KEY"] = os.path.join(_AUDIT_FILES, "audit.key")
os.environ["CHRGRAPH_AUDIT_ANCHOR_FILE"] = os.path.join(_AUDIT_FILES, "anchors.jsonl")
os.environ["CHRGRAPH_LOG_ENCRYPTION_KEY"] = os.path.join(tempfile.mkdtemp(prefix="chrgraph-key-"), "log.key")
# Event notifications: the tests' receivers listen on 127.0.0.1 (allowed, over http), and
# retries come within seconds rather than minutes.
os.environ.setdefault("CHRGRAPH_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("CHRGRAPH_WEBHOOK_RETRY_SCHEDULE", "1s,1s,1s,1s,1s")
os.environ.setdefault("CHRGRAPH_WEBHOOK_POLL_SECONDS", "0.2")
get_settings.cache_clear()
load_key_ring(os.environ["CHRGRAPH_LOG_ENCRYPTION_KEY"], create=True)  # what `serve` and `migrate` make


def pytest_sessionfinish(session, exitstatus) -> None:
    _drop()


@pytest.fixture(scope="session")
def database_url() -> str:
    return _URL


@pytest.fixture(scope="session")
async def app():
    application = create_app()
    # Start-up migrates a new database: on a loaded machine that takes longer than the
    # manager's default 5 seconds.
    async with LifespanManager(application, startup_timeout=120, shutdown_timeout=60):
        yield application


@pytest.fixture(scope="session")
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def vendor(client) -> Vendor:
    """An organization with an active API consumer (key id `k1`)."""
    return await make_vendor(client)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item, so a fixture can tell a failed test (the
    browser tests keep a screenshot of the page then)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
