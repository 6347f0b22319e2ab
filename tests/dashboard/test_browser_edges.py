"""In a real browser: a catastrophic rule in the live test never stalls the server, and message
text with Markdown is shown as written (no heading, no rule, no image is rendered)."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest

from tests.dashboard.conftest import PASSWORD
from tests.dashboard.test_browser import ARGS, CHROMIUM, served  # noqa: F401  (served is a fixture)
from tests.dashboard.test_browser import pytestmark as browser_marks
from tests.dashboard.test_message_text import ADVERSARIAL

pytestmark = [*browser_marks, pytest.mark.slow]  # skipped without Debian's chromium, like test_browser


class HealthProbe(threading.Thread):
    """Polls the server's health endpoint, as a load balancer would, recording each answer's latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url + "/_stcore/health"
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    if r.status != 200:
                        self.failures.append(f"HTTP {r.status}")
            except OSError as e:
                self.failures.append(str(e))
            self.latencies.append(time.monotonic() - started)
            self.stop.wait(0.1)


def test_live_tests_of_a_catastrophic_regex_and_of_markdown_text_in_chromium(served: str) -> None:  # noqa: F811
    """GIVEN the real dashboard and a rule editor, while a probe polls the health endpoint
    WHEN the editor live-tests (a|aa)+b on 40 a's, then a keyword rule on a message holding a
    quote separator, an image and a link
    THEN the page answers "no match", the health check answers throughout, and the hit is shown
    with its text as written: no heading, horizontal rule or image is rendered from it"""
    from playwright.sync_api import expect, sync_playwright

    probe = HealthProbe(served)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(served)
            page.get_by_label("账号", exact=True).fill("ruler")
            page.get_by_label("密码", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            page.get_by_role("link", name="敏感规则").click()
            expect(page.get_by_role("heading", name="敏感规则", exact=True)).to_be_visible()
            page.get_by_label("名称", exact=True).fill("灾难正则")
            regex = page.get_by_label("正则 regex (一行一个)")
            regex.fill("(a|aa)+b")
            regex.press("Control+Enter")
            probe.start()
            sample = page.get_by_label("测试文本")
            sample.fill("a" * 40)
            sample.press("Control+Enter")
            expect(page.get_by_text("未命中", exact=True)).to_be_visible()
            probe.stop.set()
            probe.join(timeout=15)

            regex.fill("")
            regex.press("Control+Enter")
            keywords = page.get_by_label("关键词", exact=False)
            keywords.fill("好处费")
            keywords.press("Control+Enter")
            sample.fill(ADVERSARIAL)
            sample.press("Control+Enter")
            mark = page.locator("mark", has_text="好处费").first
            expect(mark).to_be_visible()
            shown = page.locator("[data-testid='stMarkdownContainer']", has=mark).last
            assert shown.locator("h1, h2, h3, hr, img, a, strong, table").count() == 0
            text = shown.inner_text()
            assert "------" in text and "![](http://x.example/p.png)" in text and "**好处费**" in text
        finally:
            browser.close()
    assert probe.latencies and not probe.failures, probe.failures
    assert max(probe.latencies) < 5.0, probe.latencies  # answered while the rule was tested
