"""The emulator page in a real browser: headless Chromium (Debian's ``chromium`` package) driven
by Playwright, against the real server (gunicorn, local mode) started by tests.support.servers.

Everything goes the production way: the page signs through the server, posts to /webhook, the
bridge asks the local Lex endpoint through boto3 and sends through the local Graph inbox, and
the page draws what it reads back. Waits are Playwright's auto-waiting expectations. The last
test takes a screenshot of a rich conversation (docs/emulator.png with `make screenshot`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.support.servers import ROOT, Bridge, add_fault, clear_faults, start_bridge, stop_bridge

CHROMIUM = shutil.which("chromium") or next(
    (path for path in ("/usr/bin/chromium",) if Path(path).exists()), None
)
# The flags that work on these machines: no sandbox as root, no GPU, and no background
# connections (the network is closed; Chromium would otherwise keep trying Google's hosts).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The README's picture. Runs write it to a temporary folder; `make screenshot` (which sets
# UPDATE_SCREENSHOT=1) writes docs/emulator.png, so a test run leaves the work tree clean.
SCREENSHOT = ROOT / "docs" / "emulator.png"
DESKTOP: ViewportSize = {"width": 1200, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 800}

if CHROMIUM is None and os.environ.get("REQUIRE_BROWSER") == "1":  # set by .ci/run
    raise RuntimeError("REQUIRE_BROWSER=1 but no chromium binary was found")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium binary: apt-get install chromium (what .ci/run does)",
    ),
]


@dataclass(frozen=True)
class Script:
    """What the sample bot says at each step the tests take."""

    greeting: str  # in the answer to "hello" and to Get Started
    chip: str  # a quick reply offered with the greeting
    chip_payload: str
    card_title: str  # the card that quick reply leads to
    button: str  # a postback button on that card
    button_payload: str
    after_button: str  # in the answer to that button
    turns: str  # asks the bot which turn of its session this is
    not_understood: str  # in the answer to words it does not know
    korean_greeting: str  # in the answer to "안녕"


SYMPTOM_CHECKER = Script(
    greeting="I'm a symptom checker",
    chip="List conditions",
    chip_payload="list",
    card_title="Common conditions (1/3)",
    button="Influenza",
    button_payload="symptoms of Influenza",
    after_button="Common symptoms of Influenza:",
    turns="#turns",
    not_understood="Sorry, I didn't understand",
    korean_greeting="안녕하세요! 저는 증상 안내 봇이에요.",
)
BOT = SYMPTOM_CHECKER


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    server = start_bridge(tmp_path_factory.mktemp("emulator"))
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def is_error(message: ConsoleMessage) -> bool:
    """A console error, except Chromium's note of an outbound refusal (400/422) the panel
    shows: that answer is what the test asked for."""
    if message.type != "error":
        return False
    return not (
        message.location.get("url", "").endswith("/local/emulator/outbound")
        and "status of 4" in message.text
    )


@contextmanager
def fresh_page(browser: Browser) -> Iterator[Page]:
    """A tab in a new browser profile; any script error on the page fails the test."""
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: errors.append(f"console: {message.text}") if is_error(message) else None,
    )
    expect.set_options(timeout=20_000)
    try:
        yield tab
    finally:
        context.close()
    assert errors == []


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with fresh_page(browser) as tab:
        yield tab


# --- helpers --------------------------------------------------------------------------------


def open_as(page: Page, bridge: Bridge, psid: str, name: str) -> None:
    page.goto(f"{bridge.url}/?psid={psid}&name={quote(name)}")
    expect(page.locator("#current-user")).to_have_text(name)


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message")


def say(page: Page, text: str) -> None:
    box = composer(page)
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")
    expect(user_bubbles(page).last).to_have_text(text)


def user_bubbles(page: Page) -> Locator:
    return page.locator(".row.user .bubble")


def bot_bubbles(page: Page) -> Locator:
    return page.locator(".row.bot .bubble")


def chips(page: Page) -> Locator:
    return page.get_by_role("group", name="Quick replies").get_by_role("button")


def person(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Simulated users").locator(
        "button.person", has_text=name
    )


def sent_items(bridge: Bridge, psid: str) -> list[dict[str, Any]]:
    """The messaging items the page had signed for ``psid``, as the webhook received them."""
    events = bridge.http.get(
        f"{bridge.url}/local/emulator/events", params={"psid": psid}, timeout=10
    ).json()["events"]
    return [json.loads(event["body"])["entry"][0]["messaging"][0] for event in events]


def inbox(bridge: Bridge, psid: str) -> list[dict[str, Any]]:
    """What the bridge sent to ``psid`` through the local Graph inbox, oldest first."""
    answer = bridge.http.get(
        f"{bridge.url}/local/graph/inbox", params={"recipient": psid}, timeout=10
    ).json()
    entries: list[dict[str, Any]] = answer["entries"]
    return entries


def greet(page: Page) -> None:
    say(page, "hello")
    expect(bot_bubbles(page).filter(has_text=BOT.greeting)).to_be_visible()
    expect(chips(page).filter(has_text=BOT.chip)).to_be_visible()


# --- scenarios ------------------------------------------------------------------------------


def test_a_message_is_answered_with_text_and_quick_replies(page: Page, bridge: Bridge) -> None:
    psid = "7000000000000001"
    open_as(page, bridge, psid, "Test One")
    expect(page.get_by_role("heading", level=2, name="Local Test Page")).to_be_visible()
    greet(page)
    expect(chips(page)).not_to_have_count(0)
    # A fast answer goes out alone: no mark_seen, so the person's message stays "Sent".
    expect(page.locator("#receipt")).to_have_text("Sent")
    [item] = sent_items(bridge, psid)
    assert item["message"]["text"] == "hello"
    assert item["message"]["mid"].startswith("m_")
    bridge.wait_done(item["message"]["mid"])
    messages = bridge.messages(psid)
    assert any(BOT.greeting in message.get("text", "") for message in messages)


def test_a_quick_reply_tap_sends_its_payload_and_the_chips_go(page: Page, bridge: Bridge) -> None:
    psid = "7000000000000002"
    open_as(page, bridge, psid, "Test Two")
    greet(page)
    chips(page).filter(has_text=BOT.chip).click()
    expect(user_bubbles(page).last).to_have_text(BOT.chip)
    card = page.get_by_role("article", name=BOT.card_title)
    expect(card).to_be_visible()
    expect(card.locator("img.card-image")).to_have_attribute("src", re.compile(r"^http://"))
    expect(card.get_by_role("button")).not_to_have_count(0)
    expect(chips(page).filter(has_text=BOT.chip)).to_have_count(0)
    tap = sent_items(bridge, psid)[-1]["message"]
    assert tap["text"] == BOT.chip
    assert tap["quick_reply"] == {"payload": BOT.chip_payload}


def test_a_card_button_sends_a_postback(page: Page, bridge: Bridge) -> None:
    psid = "7000000000000003"
    open_as(page, bridge, psid, "Test Three")
    greet(page)
    chips(page).filter(has_text=BOT.chip).click()
    card = page.get_by_role("article", name=BOT.card_title)
    card.get_by_role("button", name=BOT.button, exact=True).click()
    expect(user_bubbles(page).last).to_have_text(BOT.button)
    expect(bot_bubbles(page).filter(has_text=BOT.after_button)).to_be_visible()
    postback = sent_items(bridge, psid)[-1]["postback"]
    assert postback["title"] == BOT.button
    assert postback["payload"] == BOT.button_payload
    assert postback["mid"].startswith("m_")


def test_get_started_sends_the_get_started_postback(page: Page, bridge: Bridge) -> None:
    psid = "7000000000000004"
    open_as(page, bridge, psid, "Test Four")
    get_started = page.get_by_role("button", name="Get Started")
    get_started.click()
    expect(user_bubbles(page).last).to_have_text("Get Started")
    expect(get_started).to_be_hidden()
    expect(bot_bubbles(page).filter(has_text=BOT.greeting)).to_be_visible()
    [item] = sent_items(bridge, psid)
    assert item["postback"]["payload"] == "GET_STARTED"
    assert item["postback"]["title"] == "Get Started"


def test_each_user_has_a_conversation_and_a_session_of_their_own(
    page: Page, bridge: Bridge
) -> None:
    page.goto(bridge.url)
    expect(page.locator("#current-user")).to_have_text("Alex Morgan")  # the first, by default
    person(page, "Min-jun Kim").click()
    expect(page.locator("#current-user")).to_have_text("Min-jun Kim")
    expect(person(page, "Min-jun Kim")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("button", name="Get Started")).to_be_visible()
    expect(page.locator("#messages > li")).to_have_count(0)
    greet(page)
    say(page, BOT.turns)
    expect(bot_bubbles(page).last).to_contain_text("turn 2 of our conversation")

    person(page, "Sam Rivera").click()
    expect(page.locator("#current-user")).to_have_text("Sam Rivera")
    expect(page.get_by_role("button", name="Get Started")).to_be_visible()
    expect(page.locator("#messages > li")).to_have_count(0)
    say(page, BOT.turns)
    expect(bot_bubbles(page).last).to_have_text("This is turn 1 of our conversation.")

    person(page, "Min-jun Kim").click()
    expect(user_bubbles(page)).to_have_text(["hello", BOT.turns])
    expect(bot_bubbles(page).filter(has_text=BOT.greeting)).to_be_visible()
    expect(bot_bubbles(page).last).to_contain_text("turn 2 of our conversation")

    page.reload()  # the history comes back from the server: what was sent, what was answered
    expect(page.locator("#current-user")).to_have_text("Min-jun Kim")
    expect(user_bubbles(page)).to_have_text(["hello", BOT.turns])
    expect(bot_bubbles(page).last).to_contain_text("turn 2 of our conversation")
    expect(page.get_by_role("button", name="Get Started")).to_be_hidden()


def test_a_new_user_starts_a_new_conversation(page: Page, bridge: Bridge) -> None:
    page.goto(bridge.url)
    expect(page.locator("#current-user")).to_have_text("Alex Morgan")
    people = page.locator("button.person")
    known = people.count()
    assert known >= 3
    page.get_by_role("button", name="New user").click()
    expect(page.locator("#current-user")).to_have_text(re.compile(r"^Guest \d{4}$"))
    expect(people).to_have_count(known + 1)
    expect(people.last).to_have_attribute("aria-current", "true")
    say(page, BOT.turns)
    expect(bot_bubbles(page).last).to_have_text("This is turn 1 of our conversation.")


def test_text_is_shown_as_text_and_links_can_be_followed(page: Page, bridge: Bridge) -> None:
    open_as(page, bridge, "7000000000000005", "Test Five")
    words = '<img src=x onerror="window.pwned=1"> see https://example.com/a?b=1.'
    say(page, words)
    expect(bot_bubbles(page).filter(has_text=BOT.not_understood)).to_be_visible()
    mine = user_bubbles(page).last
    link = mine.get_by_role("link", name="https://example.com/a?b=1")
    expect(link).to_have_attribute("href", "https://example.com/a?b=1")  # without the full stop
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator(".bubble img")).to_have_count(0)
    assert page.evaluate("window.pwned") is None


def test_typing_shows_while_the_bot_thinks(page: Page, bridge: Bridge) -> None:
    open_as(page, bridge, "7000000000000006", "Test Six")
    add_fault(bridge, "lex", {"delay": 3})  # the next RecognizeText call takes 3 s
    try:
        say(page, "hello")
        typing = page.get_by_role("status", name="Typing")
        expect(typing).to_be_visible()
        expect(page.locator("#receipt")).to_have_text("Seen")
        expect(bot_bubbles(page).filter(has_text=BOT.greeting)).to_be_visible()
        expect(typing).to_be_hidden()
    finally:
        clear_faults(bridge)


def test_the_json_panel_shows_the_webhook_and_send_api_bodies(page: Page, bridge: Bridge) -> None:
    open_as(page, bridge, "7000000000000007", "Test Seven")
    greet(page)
    toggle = page.get_by_role("button", name="Raw JSON", exact=True)
    panel = page.get_by_role("complementary", name="Webhook & Send API")
    expect(panel).to_be_hidden()
    toggle.click()
    expect(panel).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    webhook = panel.locator(".io.webhook").first
    expect(webhook).to_contain_text("POST /webhook")
    expect(webhook).to_contain_text("X-Hub-Signature-256: sha256=")
    expect(webhook.locator("pre.json").first).to_contain_text('"object": "page"')
    expect(webhook.locator("pre.json").first).to_contain_text('"text": "hello"')
    sends = panel.locator(".io.send")
    expect(sends.filter(has_text='"sender_action"')).to_have_count(0)  # a fast turn
    expect(sends.filter(has_text='"messaging_type": "RESPONSE"').first).to_be_visible()
    expect(sends.filter(has_text=BOT.greeting)).to_have_count(1)
    page.get_by_role("button", name="Close raw JSON").click()
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-pressed", "false")


def test_the_page_writes_first_from_the_send_as_the_page_panel(page: Page, bridge: Bridge) -> None:
    """The panel queues through the outbound API's path; the message lands in the thread as a
    reply would, sent with the messaging type chosen; the API's refusals are shown."""
    psid = "7000000000000011"
    open_as(page, bridge, psid, "Test Eleven")
    greet(page)
    toggle = page.get_by_role("button", name="Send as the Page", exact=True)
    panel = page.get_by_role("complementary", name="Send as the Page")
    expect(panel).to_be_hidden()
    toggle.click()
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(f"Test Eleven (PSID {psid})")
    panel.get_by_label("Text", exact=True).fill("How are you feeling today?")
    panel.get_by_label("Messaging type").select_option("UPDATE")
    panel.get_by_role("button", name="Queue message").click()
    expect(panel.locator("#page-send-code")).to_have_text("202")
    expect(panel.locator("#page-send-request")).to_contain_text('"messaging_type": "UPDATE"')
    expect(panel.get_by_role("status")).to_contain_text("Sent: 1 part (m_local_")
    expect(bot_bubbles(page).filter(has_text="How are you feeling today?")).to_be_visible()
    sent = [entry["body"] for entry in inbox(bridge, psid) if "message" in entry["body"]]
    assert sent[-1]["messaging_type"] == "UPDATE"
    assert sent[-1]["message"] == {"text": "How are you feeling today?"}

    panel.get_by_label("The bot's answer to this text").check()
    panel.get_by_label("Messaging type").select_option("RESPONSE")
    panel.get_by_label("Text", exact=True).fill("hello")
    panel.get_by_role("button", name="Queue message").click()
    expect(panel.get_by_role("status")).to_contain_text("Sent:")
    expect(bot_bubbles(page).filter(has_text=BOT.greeting)).to_have_count(2)

    panel.get_by_label("Messaging type").select_option("HUMAN_AGENT")
    panel.get_by_role("button", name="Queue message").click()
    expect(panel.locator("#page-send-code")).to_have_text("400")
    expect(panel.get_by_role("status")).to_contain_text("Not queued: invalid")

    page.get_by_role("button", name="New user").click()
    expect(panel).to_contain_text("Guest")
    panel.get_by_label("This text", exact=True).check()
    panel.get_by_label("Messaging type").select_option("RESPONSE")
    panel.get_by_role("button", name="Queue message").click()
    expect(panel.locator("#page-send-code")).to_have_text("422")
    expect(panel.get_by_role("status")).to_contain_text("unknown_recipient")

    page.get_by_role("button", name="Raw JSON", exact=True).click()  # one side panel at a time
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-pressed", "false")


def test_it_works_at_phone_width(page: Page, bridge: Bridge) -> None:
    page.set_viewport_size(PHONE)
    open_as(page, bridge, "7000000000000008", "Test Eight")
    greet(page)
    chips(page).filter(has_text=BOT.chip).click()
    expect(page.get_by_role("article", name=BOT.card_title)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(composer(page)).to_be_in_viewport()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_in_viewport()
    page.get_by_role("button", name="Raw JSON", exact=True).click()
    expect(page.get_by_role("button", name="Close raw JSON")).to_be_in_viewport()
    page.get_by_role("button", name="Close raw JSON").click()
    person(page, "Sam Rivera").click()
    expect(page.locator("#current-user")).to_have_text("Sam Rivera")


def test_screenshot_of_a_conversation(browser: Browser, tmp_path: Path) -> None:
    """The README's picture: a server of its own, so only the three simulated people are
    listed; one has chatted in Korean."""
    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "shot.png"
    server = start_bridge(tmp_path)
    try:
        with fresh_page(browser) as page:
            page.goto(server.url)
            expect(page.locator("#current-user")).to_have_text("Alex Morgan")
            person(page, "Min-jun Kim").click()
            say(page, "안녕")
            expect(bot_bubbles(page).filter(has_text=BOT.korean_greeting)).to_be_visible()
            expect(chips(page)).not_to_have_count(0)

            person(page, "Alex Morgan").click()
            page.get_by_role("button", name="Get Started").click()
            expect(chips(page).filter(has_text=BOT.chip)).to_be_visible()
            chips(page).filter(has_text=BOT.chip).click()
            card = page.get_by_role("article", name=BOT.card_title)
            expect(card).to_be_visible()
            card.get_by_role("button", name=BOT.button, exact=True).click()
            expect(bot_bubbles(page).filter(has_text=BOT.after_button)).to_be_visible()
            expect(chips(page)).not_to_have_count(0)
            expect(card.locator("img.card-image")).to_have_js_property("complete", True)
            expect(page.locator("button.person")).to_have_count(3)
            page.mouse.move(0, DESKTOP["height"] - 1)  # no hover effect in the picture
            target.parent.mkdir(exist_ok=True)
            page.screenshot(path=target, animations="disabled")
    finally:
        assert stop_bridge(server) == 0, server.log.read_text()
    assert target.stat().st_size > 20_000
