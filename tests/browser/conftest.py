"""The fixtures of every browser test module: one server process and one Chromium per
module (the client built first when its sources changed), a clinic of its own per
module, and a fresh browser context per test whose failure leaves a full-page screenshot
in test-artifacts/. A module may set VIEWPORT (a dict of width and height)."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from tests.accounts import Clinic, make_clinic
from tests.browser.helpers import ARTIFACTS, CHROMIUM, ensure_built, watch
from tests.processes import running_server

VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
async def server():
    ensure_built()
    async with running_server() as running:
        yield running


@pytest.fixture(scope="module")
async def browser():
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def clinic(client) -> Clinic:
    return await make_clinic(client)


@pytest.fixture
async def page(browser, server, request):
    viewport = getattr(request.module, "VIEWPORT", VIEWPORT)
    context = await browser.new_context(viewport=viewport, locale="en-CA", accept_downloads=True)
    context.set_default_timeout(15_000)
    watched = watch(await context.new_page(), server.base_url)
    try:
        yield watched
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            await watched.page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        await context.close()
