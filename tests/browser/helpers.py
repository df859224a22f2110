"""The admin client in a real browser: Debian's chromium driven by Playwright (never a
browser Playwright downloads), one server process and one browser per module, the client
built first when its sources changed. Every page records the requests it makes (all must
go to the server's own origin) and the policy violations the browser reports."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from chrgraph.auth.principals import support_cli_actor
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.accounts import PASSWORD, Clinic, Session
from tests.helpers import unique

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ROOT / "admin"
BUILT = ROOT / "chrgraph" / "http" / "static" / "admin" / "index.html"
CHROMIUM = os.environ.get("CHRGRAPH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
# `make screenshots` names the folder the admin guide's pictures go to.
SCREENSHOTS = os.environ.get("CHRGRAPH_SCREENSHOTS")
AXE = ADMIN / "node_modules" / "axe-core" / "axe.min.js"


def _sources() -> list[Path]:
    skip = {"node_modules", "gql"}
    files = [
        p
        for p in ADMIN.rglob("*")
        if p.is_file() and p.suffix != ".md" and not skip.intersection(p.relative_to(ADMIN).parts)
    ]
    return [*files, ROOT / "schema.graphql"]


def ensure_built() -> None:
    """`make admin` when nothing is built or a source is newer than the build."""
    if BUILT.is_file() and AXE.is_file():
        built_at = BUILT.stat().st_mtime
        if all(source.stat().st_mtime <= built_at for source in _sources()):
            return
    subprocess.run(["make", "admin"], cwd=ROOT, check=True, timeout=900)


@dataclass
class Watched:
    """A page and what it did: the URLs it requested and the errors its console showed."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.origin + "/")]

    def policy_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]


def watch(page: Page, origin: str) -> Watched:
    watched = Watched(page, origin)
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and watched.console_errors.append(message.text))
    return watched


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now. The script is
    evaluated through the debugging protocol, so the page's own policy stays strict."""
    await page.evaluate(AXE.read_text())
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


async def focused_name(page: Page) -> str:
    """The accessible name of the focused element, roughly: its label, or its text."""
    return await page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el) return '';
          if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
          return (el.getAttribute('aria-label') || el.textContent || '').trim();
        }"""
    )


async def tab_to(page: Page, name: str, limit: int = 60) -> None:
    """Presses Tab until the element named `name` has the focus (the keyboard-only runs),
    once such an element is on the page (a screen may still be loading)."""
    await page.wait_for_function(
        """(name) => [...document.querySelectorAll('a, button, input, select, textarea')].some((el) => {
          const text = el.labels && el.labels.length
            ? el.labels[0].textContent
            : el.getAttribute('aria-label') || el.textContent;
          return (text || '').trim().startsWith(name);
        })""",
        arg=name,
    )
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if (await focused_name(page)).startswith(name):
            return
    raise AssertionError(f"Tab never reached {name!r}")


async def shot(page: Page, name: str) -> None:
    """A picture for the admin guide, when `make screenshots` asked for them."""
    if SCREENSHOTS:
        folder = ROOT / SCREENSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@contextlib.asynccontextmanager
async def in_server(session: Session, base_url: str) -> AsyncIterator[Session]:
    """`session` speaking to the browser's server process rather than the test process's
    in-process app. A change that ends a session or takes a permission away is refused at
    once by the process that made it; another process learns of it within a second (the
    bound tested in test_revocation_across_processes.py). A test that changes access while
    a page is open, or checks a session the page ended, speaks to the page's process."""
    async with httpx.AsyncClient(base_url=base_url) as remote:
        yield Session(remote, session.token, session.user_id, session.email)


async def accessible(watched: Watched) -> None:
    """axe-core finds nothing serious or critical; the page stayed on its own origin and
    within its policy."""
    assert await axe_violations(watched.page) == []
    assert watched.foreign_requests() == []
    assert watched.policy_violations() == []


async def sign_in(watched: Watched, email: str, password: str = PASSWORD) -> Page:
    page = watched.page
    await page.goto(f"{watched.origin}/admin/")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


async def new_member(clinic: Clinic, *, first: str, last: str, roles: list[str], **profile) -> str:
    """An ACTIVE member with a readable name; its email."""
    email = f"{unique(first.lower())}@{clinic.domain}.test"
    _, token = await invite_user(
        support_cli_actor(clinic.organization.id),
        email,
        Profile(first_name=first, last_name=last, **profile),
        [clinic.roles[name] for name in roles],
    )
    await accept_invitation(token, PASSWORD, first, last)
    return email
