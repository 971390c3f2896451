"""The sandbox's page in a real browser: Debian's Chromium driven by Playwright, against the
whole sandbox in this process. Each test leaves a screenshot in its temporary directory.

Without Playwright or /usr/bin/chromium these tests skip, saying which is missing; with
SWITCHBOARD_REQUIRE_BROWSER=1 (CI) that is a failure. No browser is ever downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from switchboard.bot.sandbox.session import Sandbox
from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT = 15_000  # ms any one expectation may take: the worker, the outbox and the poll
README_SHOT = REPO / "docs" / "sandbox.png"

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
except ImportError:  # the `dev` extra is not installed
    sync_playwright = None  # type: ignore[assignment]


def missing() -> str | None:
    if sync_playwright is None:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    reason = missing()
    if reason is not None:
        if os.environ.get("SWITCHBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SWITCHBOARD_REQUIRE_BROWSER=1, but {reason}")
        pytest.skip(reason)
    expect.set_options(timeout=WAIT)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screen(browser: Browser, sandbox: Sandbox, tmp_path: Path) -> Iterator[Page]:
    """The page at 1280x800, acting as nobody yet; its screenshot is kept after the test,
    and any script error fails it."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(WAIT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.page_url)
    expect(page.locator(".message").first).to_be_visible()
    try:
        yield page
        page.screenshot(path=tmp_path / "screenshot.png")
    finally:
        context.close()
    assert errors == []


def act_as(page: Page, user: str) -> None:
    page.select_option("#act-as", user)
    expect(page.locator("#act-as")).to_have_value(user)


def open_conversation(page: Page, conversation: str) -> None:
    page.click(f"[data-conversation='{conversation}']")
    expect(page.locator(f"[data-conversation='{conversation}'].active")).to_be_visible()


def messages(page: Page) -> Locator:
    return page.locator("#messages .message")


def pinned(page: Page, message: Locator) -> Locator:
    """`message` by its ts: the same message however the list changes around it."""
    return page.locator(f"#messages .message[data-ts='{message.get_attribute('data-ts')}']")


def command(page: Page, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def test_the_owner_acknowledges_an_alert_and_it_shows_who_and_when(screen: Page) -> None:
    act_as(screen, "U0AM")
    open_conversation(screen, "C0ALERTS")
    alert = messages(screen).first

    alert.get_by_role("button", name="Acknowledge").click()

    expect(alert).to_contain_text(re.compile(r"Acknowledged by @Ana at \d{4}-\d\d-\d\d 09:0\d"))
    expect(alert.get_by_role("button", name="Acknowledge")).to_have_count(0)


def test_a_stranger_is_refused_privately(screen: Page) -> None:
    act_as(screen, "U0NOBODY")
    open_conversation(screen, "C0ALERTS")

    messages(screen).first.get_by_role("button", name="Acknowledge").click()

    refusal = screen.locator("#messages .message.ephemeral")
    expect(refusal).to_contain_text("Only visible to you")
    expect(refusal).to_contain_text("acknowledge")
    act_as(screen, "U0AM")
    expect(screen.locator("#messages .message.ephemeral")).to_have_count(0)


def test_ops_alerts_then_acknowledge_from_its_list(screen: Page) -> None:
    act_as(screen, "U0AM")
    open_conversation(screen, "C0ALERTS")

    command(screen, "/ops alerts")
    listing = screen.locator("#messages .message.ephemeral").filter(has_text="open alert")
    listing.get_by_role("button", name="Acknowledge").first.click()

    expect(listing).to_contain_text("Acknowledged by @Ana")  # the list, replaced in place
    expect(screen.locator("#messages .message.ephemeral")).to_contain_text(
        ["You acknowledged alert #1."]
    )
    expect(messages(screen).first).to_contain_text("Acknowledged by @Ana")


def test_reassign_through_the_modal_with_its_errors(screen: Page) -> None:
    act_as(screen, "U0AM")
    open_conversation(screen, "C0ALERTS")
    alert = messages(screen).first

    alert.get_by_role("button", name="Reassign").click()
    modal = screen.get_by_role("dialog", name="Reassign alert")
    modal.locator("select").select_option("U0NOBODY")
    modal.get_by_role("button", name="Reassign").click()
    expect(modal.locator(".bk-error")).to_contain_text("is not in the agency manifest")
    modal.locator("select").select_option("U0LEAD")
    modal.get_by_role("button", name="Reassign").click()

    done = screen.get_by_role("dialog", name="Alert reassigned")
    expect(done).to_contain_text("now assigned to @Leo")
    done.get_by_role("button", name="Close").click()
    expect(screen.get_by_role("dialog")).to_have_count(0)
    expect(alert).to_contain_text("assigned to @Leo")


def test_cancel_closes_a_modal(screen: Page) -> None:
    act_as(screen, "U0AM")
    open_conversation(screen, "C0ALERTS")
    messages(screen).first.get_by_role("button", name="Reassign").click()

    screen.get_by_role("dialog", name="Reassign alert").get_by_role("button", name="Cancel").click()

    expect(screen.get_by_role("dialog")).to_have_count(0)


def test_approve_a_draft_and_read_the_mail_sent(screen: Page, sandbox: Sandbox) -> None:
    act_as(screen, "U0ADMIN")
    open_conversation(screen, "C0APPROVALS")
    draft = pinned(
        screen, messages(screen).filter(has=screen.get_by_role("button", name="Approve")).first
    )

    draft.get_by_role("button", name="Approve").click()
    confirm = screen.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Send this reply?")
    confirm.get_by_role("button", name="Approve and send").click()

    expect(draft).to_contain_text(re.compile(r"Approved by @Maya at .*; sent"))
    [eml] = sandbox.mail_dir.glob("*.eml")
    open_conversation(screen, "mail")
    expect(screen.locator(".mail")).to_contain_text(eml.name)


def test_draft_a_reply_to_a_pasted_message_with_the_shortcut(screen: Page) -> None:
    act_as(screen, "U0AM")
    open_conversation(screen, "C0SHADOW")
    command(screen, "From Acme: can we move the launch to Friday?")  # a message, not a command
    pasted = pinned(screen, messages(screen).filter(has_text="move the launch").first)
    expect(pasted).to_contain_text("Ana")

    pasted.hover()
    pasted.get_by_role("button", name="More actions").click()
    pasted.get_by_role("button", name="Draft client reply").click()
    modal = screen.get_by_role("dialog", name="Draft client reply")
    modal.get_by_role("button", name="Draft").click()  # no client chosen yet
    expect(modal.locator(".bk-error").first).to_contain_text("required")
    modal.locator("select").select_option(label="Acme Dental (C01)")
    modal.get_by_role("button", name="Draft").click()

    expect(screen.get_by_role("dialog")).to_contain_text("Drafting a reply to Acme Dental")
    screen.get_by_role("dialog").get_by_role("button", name="Close").click()
    open_conversation(screen, "C0APPROVALS")
    expect(messages(screen).filter(has_text="move the launch to Friday")).to_have_count(1)


def test_two_hours_later_the_escalation_reaches_the_lead(screen: Page) -> None:
    act_as(screen, "U0LEAD")
    open_conversation(screen, "DU0LEAD")
    from_lead = messages(screen).filter(has_text="Sent to you as @Ana's lead")
    expect(from_lead).to_have_count(0)

    screen.get_by_role("button", name="+2 h").click()

    expect(from_lead.first).to_be_visible()  # Ana's alerts, nobody acknowledged them
    expect(screen.locator("#clock-offset")).to_contain_text("ahead of real time")


def png(width: int = 120, height: int = 60) -> bytes:
    """A small solid PNG, as a chart would be uploaded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x12\x64\xa3" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def post_block_kit_with_a_file(sandbox: Sandbox) -> None:
    """Every kind of block the page renders, then a file in the message's thread."""
    bot = WebClient(token=sandbox.token, base_url=sandbox.standin.api_url, retry_handlers=[])
    posted = bot.chat_postMessage(
        channel="C0BRIEFING",
        text="Rendering check",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "Rendering check"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Pacing*: 2 over, _1 under_, `A11` dark"},
                "fields": [{"type": "mrkdwn", "text": "*Median CPL*\n$31.14"}],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Owner <@U0AM>"}]},
            {"type": "divider"},
            {"type": "rich_text", "elements": []},
        ],
    )
    bot.files_upload_v2(
        channel="C0BRIEFING",
        thread_ts=posted["ts"],
        content=png(),
        filename="pacing.png",
        title="Pacing chart",
    )


def test_block_kit_and_a_file_in_its_thread(screen: Page, sandbox: Sandbox) -> None:
    post_block_kit_with_a_file(sandbox)
    act_as(screen, "U0AM")
    open_conversation(screen, "C0BRIEFING")
    briefing = messages(screen).filter(has_text="Rendering check")

    expect(briefing.locator(".bk-header")).to_have_text("Rendering check")
    expect(briefing.locator("strong").first).to_have_text("Pacing")
    expect(briefing.locator("em")).to_have_text("1 under")
    expect(briefing.locator("code")).to_have_text("A11")
    expect(briefing.locator(".mention")).to_have_text("@Ana")
    expect(briefing.locator(".bk-fallback")).to_contain_text("Rendering check")  # rich_text
    briefing.get_by_role("button", name="1 reply").click()
    chart = screen.locator("#thread img")
    expect(chart).to_have_attribute("alt", "Pacing chart")
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")


def test_the_mornings_briefing_with_its_chart_in_the_thread(screen: Page) -> None:
    act_as(screen, "U0ADMIN")
    open_conversation(screen, "C0BRIEFING")

    briefing = messages(screen).filter(has=screen.locator(".bk-header"))
    expect(briefing.locator(".bk-header")).to_contain_text("Morning briefing")
    expect(briefing).to_contain_text("Conflicts between sources (shadow)")
    replies = briefing.get_by_role("button", name=re.compile(r"^\d+ repl"))
    expect(replies).to_be_visible(timeout=20_000)  # the chart job uploads once it is posted
    replies.click()
    chart = screen.locator("#thread img")
    expect(chart).to_have_attribute("alt", re.compile("^Pacing "))
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")

    command(screen, "/ops brief post")  # once a day, whoever asks
    expect(screen.locator("#messages")).to_contain_text("already posted")


def test_message_text_is_never_markup(screen: Page, sandbox: Sandbox) -> None:
    bot = WebClient(token=sandbox.token, base_url=sandbox.standin.api_url, retry_handlers=[])
    hostile = "&lt;img src=x onerror=alert(1)&gt; <javascript:alert(1)|click> ad_performance"
    bot.chat_postMessage(channel="C0SHADOW", text=hostile)
    act_as(screen, "U0AM")
    open_conversation(screen, "C0SHADOW")

    shown = messages(screen).filter(has_text="click ad_performance")
    expect(shown).to_contain_text("<img src=x onerror=alert(1)> click ad_performance")
    expect(shown.locator("img, a, em")).to_have_count(0)


def test_the_page_works_on_a_phone(screen: Page) -> None:
    screen.set_viewport_size(PHONE)
    menu = screen.get_by_role("button", name="Conversations")
    expect(menu).to_be_visible()

    menu.click()
    open_conversation(screen, "C0ALERTS")

    expect(screen.locator("#composer-input")).to_be_visible()
    expect(messages(screen).first.get_by_role("button", name="Acknowledge")).to_be_visible()
    assert screen.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def test_the_readme_screenshot(screen: Page, tmp_path: Path) -> None:
    """docs/sandbox.png is this page; SWITCHBOARD_README_SCREENSHOT=1 writes it anew."""
    act_as(screen, "U0AM")
    open_conversation(screen, "C0ALERTS")
    messages(screen).first.get_by_role("button", name="Acknowledge").click()
    expect(messages(screen).first).to_contain_text("Acknowledged by @Ana")
    expect(screen.locator(".message.ephemeral")).to_contain_text("You acknowledged alert #1.")

    screen.mouse.move(700, 20)  # over the header: no message shows its hover state
    shot = tmp_path / "sandbox.png"
    screen.screenshot(path=shot)
    if os.environ.get("SWITCHBOARD_README_SCREENSHOT") == "1":
        shutil.copy(shot, README_SHOT)
    assert README_SHOT.stat().st_size < 250_000, "keep the README's screenshot small"
