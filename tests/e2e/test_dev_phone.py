"""The test phone in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import E2E

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_texting_from_the_browser_phone_gets_the_assistants_reply(
    e2e: E2E, phone: str, page: Any
) -> None:
    page.goto(f"{e2e.api_url}/dev/phone")
    page.fill("#number", phone)
    page.dispatch_event("#number", "change")
    page.fill("#text", "hello")
    page.click("#send")
    page.wait_for_selector(".msg.you", timeout=10_000)
    reply = page.wait_for_selector(".msg.waymark", timeout=30_000)
    assert "999" in reply.inner_text()
    page.screenshot(path=str(e2e.log_dir / "dev_phone.png"))
