"""End to end in a real browser: ``chatarchive serve`` as a subprocess, driven by Debian's
headless Chromium through playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.conftest import PASSWORD, build

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (scripts/install-browser.sh)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"chatarchive serve exited with {process.returncode}: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the dashboard did not become healthy in time")


@pytest.fixture
def served(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    build(data)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatarchive.cli", "--data", str(data), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_login_search_highlight_and_context_in_chromium(served: str) -> None:
    """GIVEN the real dashboard WHEN an administrator logs in, searches a phrase and opens the hit's
    context with a reason THEN the phrase is marked and the conversation shows around the hit."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)  # a busy machine: wait for the page, never fail on its speed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(served)
            page.get_by_label("账号", exact=True).fill("admin")
            page.get_by_label("密码", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            expect(page.get_by_role("heading", name="搜索", exact=True)).to_be_visible()
            query = page.get_by_label("查询", exact=True)
            query.fill('"私下转账"')
            query.press("Enter")
            mark = page.locator("mark", has_text="私下转账").first
            expect(mark).to_be_visible()
            expect(page.get_by_text("共 1 条结果")).to_be_visible()
            page.get_by_role("button", name="上下文").first.click()
            reason = page.get_by_label("查看聊天内容的理由", exact=False)
            reason.fill("投诉核查 #42")
            reason.press("Enter")
            page.get_by_role("button", name="打开上下文", exact=True).click()
            hit = page.locator(".ca-bubble.hit")
            expect(hit).to_be_visible()
            expect(hit.locator("mark")).to_have_text("私下转账")
            expect(page.get_by_text("你好，我想了解一下理财产品")).to_be_visible()
            hit.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "dashboard-search-context.png"), full_page=True)
        finally:
            browser.close()


PAGE_SLUGS = [
    "search",
    "conversations",
    "employees",
    "customers",
    "violations",
    "sampling",
    "rules",
    "statistics",
    "service",
    "accounts",
    "audit",
    "pipeline",
]


@pytest.mark.slow
def test_viewer_reload_and_every_page_in_chromium(served: str) -> None:
    """GIVEN the real dashboard WHEN an administrator opens 周杰's chat with every msgtype, reloads the browser
    and opens every page by its link THEN the cards, the sticker thumbnail and the undecodable image's reason
    show, the reload keeps the login and the page, every page renders without an error, and a screenshot of
    each lands in tests/artifacts/."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)  # a busy machine: wait for the page, never fail on its speed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{served}/violations")  # a deep link, logged out: the login leads to it
            page.get_by_label("账号", exact=True).fill("admin")
            page.get_by_label("密码", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            expect(page.get_by_role("heading", name="违规管理", exact=True)).to_be_visible()
            link = page.url.split("?", 1)[1]
            assert link.startswith("s=")

            page.goto(f"{served}/conversations?{link}")
            page.get_by_text("周杰 · 归档中").click()
            expect(page.get_by_text("周梅 · ", exact=False)).to_be_visible()  # 周杰's chats, not the previous list
            page.get_by_role("button", name="打开所选会话").first.click()
            reason = page.get_by_label("查看理由", exact=False)
            reason.fill("合规抽查 browser")
            reason.press("Enter")
            expect(page.get_by_text("图片无法解码 (UnidentifiedImageError)")).to_be_visible()
            expect(page.locator("img.ca-thumb")).to_have_count(1)
            expect(page.locator(".ca-card-title", has_text="[文件]")).to_be_visible()
            expect(page.locator(".ca-quote")).to_contain_text("上次说的产品还有吗")
            expect(page.get_by_role("button", name="下载 季度报告.pdf")).to_be_visible()
            page.locator(".ca-quote").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "dashboard-viewer.png"), full_page=True)

            page.reload()
            expect(page.get_by_role("heading", name="查看聊天记录")).to_be_visible()
            expect(page.get_by_text("admin · 超级管理员")).to_be_visible()

            page.goto(f"{served}/statistics?{link}")
            bar = page.locator(".st-key-ch_day .bars .point path").first  # a day of the per-day chart
            expect(bar).to_be_visible()
            box = bar.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # plotly's drag layer is on top
            expect(page.get_by_text("的消息: 共", exact=False)).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard-statistics-day-selected.png"), full_page=True)

            for slug in PAGE_SLUGS:
                page.goto(f"{served}/{slug}?{link}")
                expect(page.get_by_text("admin · 超级管理员")).to_be_visible()
                expect(page.locator("[data-testid='stStatusWidget']")).to_be_hidden()  # the run has finished
                expect(page.locator("[data-testid='stException']")).to_have_count(0)
                page.screenshot(path=str(ARTIFACTS / f"dashboard-page-{slug}.png"), full_page=True)
        finally:
            browser.close()


@pytest.mark.slow
def test_backtest_window_and_background_job_in_chromium(served: str) -> None:
    """GIVEN the real dashboard WHEN an administrator backtests a saved rule on the page and then starts the
    whole-archive job THEN the window's result shows at once, the job's progress panel refreshes by itself until
    the result shows (no click), also after visiting another page, and a screenshot lands in tests/artifacts/."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{served}/rules")
            page.get_by_label("账号", exact=True).fill("admin")
            page.get_by_label("密码", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="登录", exact=True).click()
            expect(page.get_by_role("heading", name="敏感规则", exact=True)).to_be_visible()
            link = page.url.split("?", 1)[1]
            page.locator(".st-key-rule_pick input").click()
            page.get_by_role("option", name="私下交易监控", exact=False).click()
            name = page.locator("[data-stale='false'] input[aria-label='名称']")
            expect(name).to_have_value("私下交易监控")  # the picked rule's fields (a stale copy may linger)
            expect(page.locator("[data-testid='stStatusWidget']")).to_be_hidden()
            page.get_by_role("button", name="运行回测").click()
            expect(page.get_by_text("已回测", exact=False).first).to_be_visible()
            page.get_by_text("后台回测整个存档 (不限日期)").click()
            page.get_by_role("button", name="后台回测整个区间").click()
            expect(page.get_by_text("已回测 整个存档的", exact=False)).to_be_visible()  # the fragment polled
            expect(page.get_by_text("状态: 已完成")).to_be_visible()
            page.goto(f"{served}/statistics?{link}")
            expect(page.get_by_text("admin · 超级管理员")).to_be_visible()
            page.goto(f"{served}/rules?{link}")
            expect(page.get_by_text("状态: 已完成")).to_be_visible()  # the job outlived the page
            expect(page.locator("[data-testid='stException']")).to_have_count(0)
            page.get_by_text("状态: 已完成").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "dashboard-rules-backtest-job.png"), full_page=True)
        finally:
            browser.close()
