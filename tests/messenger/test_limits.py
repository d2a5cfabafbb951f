"""Messenger's documented limits (bridge/messenger/limits.py), and a property: whatever ``render``
makes
from a bot's reply passes them."""

from __future__ import annotations

import json
import random
from itertools import product
from typing import Any

import pytest

from bridge.messenger.limits import (
    BUTTON_TEMPLATE_TEXT_MAX,
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    ELEMENT_SUBTITLE_MAX,
    ELEMENT_TITLE_MAX,
    ELEMENTS_MAX,
    PAYLOAD_MAX,
    QUICK_REPLIES_MAX,
    QUICK_REPLY_TITLE_MAX,
    TEXT_MAX,
    message_problems,
)
from bridge.messenger.render import render
from bridge.messenger.replies import Button, Card, Custom, Reply, Ssml, Text

GRINNING = "\U0001f600"  # 2 UTF-16 units
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 11 units, 1 grapheme
IMAGE = "https://example.com/card.png"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def quick_reply(title: str = "Yes", payload: str = "YES") -> dict[str, Any]:
    return {"content_type": "text", "title": title, "payload": payload}


def postback(title: str = "Go", payload: str = "GO") -> dict[str, Any]:
    return {"type": "postback", "title": title, "payload": payload}


def element(**fields: Any) -> dict[str, Any]:
    return {"title": "A card", "subtitle": "Its subtitle", "buttons": [postback()], **fields}


def generic(*elements: object) -> dict[str, Any]:
    payload = {"template_type": "generic", "elements": list(elements)}
    return {"attachment": {"type": "template", "payload": payload}}


def button_template(text: str = "Pick one", buttons: Any = None) -> dict[str, Any]:
    payload = {
        "template_type": "button",
        "text": text,
        "buttons": [postback()] if buttons is None else buttons,
    }
    return {"attachment": {"type": "template", "payload": payload}}


# --- valid messages -----------------------------------------------------------------------


def test_the_limits_are_messengers() -> None:
    assert (TEXT_MAX, QUICK_REPLIES_MAX, QUICK_REPLY_TITLE_MAX, PAYLOAD_MAX) == (2000, 13, 20, 1000)
    assert (ELEMENTS_MAX, ELEMENT_TITLE_MAX, ELEMENT_SUBTITLE_MAX) == (10, 80, 80)
    assert (BUTTONS_MAX, BUTTON_TITLE_MAX, BUTTON_TEMPLATE_TEXT_MAX) == (3, 20, 640)


VALID = [
    pytest.param({"text": "Hello"}, id="text"),
    pytest.param({"text": "a" * (TEXT_MAX - 1)}, id="text-1999-units"),
    pytest.param({"text": GRINNING * 999 + "a"}, id="text-1999-units-emoji"),
    pytest.param(
        {
            "text": "Pick one",
            "quick_replies": [
                quick_reply(f"{n:02d}" + "t" * (QUICK_REPLY_TITLE_MAX - 2), "p" * PAYLOAD_MAX)
                for n in range(QUICK_REPLIES_MAX)
            ],
        },
        id="text-13-quick-replies-at-the-limits",
    ),
    pytest.param(
        {"text": "Pick", "quick_replies": [quick_reply(GRINNING * 10)]},
        id="quick-reply-title-of-20-units",
    ),
    pytest.param(
        {"text": "Share", "quick_replies": [{"content_type": "user_email"}]},
        id="email-quick-reply-needs-no-title",
    ),
    pytest.param(
        generic(
            *[
                {
                    "title": "T" * ELEMENT_TITLE_MAX,
                    "subtitle": "S" * ELEMENT_SUBTITLE_MAX,
                    "image_url": IMAGE,
                    "buttons": [
                        postback("B" * BUTTON_TITLE_MAX, "P" * PAYLOAD_MAX),
                        {"type": "web_url", "title": "Open", "url": "https://example.com"},
                        postback("Third", "3"),
                    ],
                }
                for _ in range(ELEMENTS_MAX)
            ]
        ),
        id="generic-10-elements-3-buttons-at-the-limits",
    ),
    pytest.param(generic({"title": "Only an image", "image_url": IMAGE}), id="element-image"),
    pytest.param(generic({"title": "Only a subtitle", "subtitle": "x"}), id="element-subtitle"),
    pytest.param(
        generic({"title": "Tap", "default_action": {"type": "web_url", "url": IMAGE}}),
        id="element-default-action",
    ),
    pytest.param(
        button_template(
            "x" * BUTTON_TEMPLATE_TEXT_MAX,
            [postback("One", "1"), postback("Two", "2"), postback("Three", "3")],
        ),
        id="button-template",
    ),
    pytest.param(
        {"attachment": {"type": "image", "payload": {"url": IMAGE, "is_reusable": True}}},
        id="image-attachment",
    ),
]


@pytest.mark.parametrize("message", VALID)
def test_valid_messages_have_no_problems(message: dict[str, Any]) -> None:
    assert message_problems(message) == []


# --- broken limits --------------------------------------------------------------------------


BROKEN = [
    pytest.param(
        {"text": "a" * TEXT_MAX},
        "2000",
        id="text-of-2000-units",
    ),
    pytest.param(
        {"text": GRINNING * (TEXT_MAX // 2)},
        "2000",
        id="text-of-2000-units-emoji",
    ),
    pytest.param(
        {"text": "Pick", "quick_replies": [quick_reply() for _ in range(QUICK_REPLIES_MAX + 1)]},
        "13 quick replies",
        id="14-quick-replies",
    ),
    pytest.param(
        {"text": "Pick", "quick_replies": [quick_reply("t" * 21)]},
        "quick reply title must be 1-20",
        id="quick-reply-title-21",
    ),
    pytest.param(
        {"text": "Pick", "quick_replies": [quick_reply(GRINNING * 10 + "a")]},
        "quick reply title must be 1-20",
        id="quick-reply-title-21-units-emoji",
    ),
    pytest.param(
        {"text": "Pick", "quick_replies": [quick_reply("")]},
        "quick reply title must be 1-20",
        id="quick-reply-title-empty",
    ),
    pytest.param(
        {"text": "Pick", "quick_replies": [quick_reply("Yes", "p" * 1001)]},
        "quick reply payload must be at most 1000",
        id="quick-reply-payload-1001",
    ),
    pytest.param(
        generic(*[element() for _ in range(ELEMENTS_MAX + 1)]),
        "1-10 elements",
        id="11-elements",
    ),
    pytest.param(generic(), "1-10 elements", id="0-elements"),
    pytest.param(
        generic(element(title="t" * 81)), "element title must be 1-80", id="element-title-81"
    ),
    pytest.param(
        generic(element(subtitle="s" * 81)),
        "element subtitle must be at most 80",
        id="element-subtitle-81",
    ),
    pytest.param(
        generic(element(buttons=[postback() for _ in range(4)])),
        "buttons must be a list of 1-3",
        id="4-buttons",
    ),
    pytest.param(
        generic(element(buttons=[postback("b" * 21)])),
        "button title must be 1-20",
        id="button-title-21",
    ),
    pytest.param(
        generic(element(buttons=[postback("Go", "p" * 1001)])),
        "postback payload must be at most 1000",
        id="postback-payload-1001",
    ),
    pytest.param(
        generic(element(buttons=[{"type": "postback", "payload": "x"}])),
        "a button needs a title",
        id="button-without-title",
    ),
    pytest.param(
        generic({"title": "Only a title"}),
        "an element needs a subtitle, an image, a default action or buttons",
        id="element-with-only-a-title",
    ),
    pytest.param(generic("not an element"), "element must be an object", id="element-not-object"),
    pytest.param(button_template(buttons=[]), "buttons must be a list of 1-3", id="bt-0-buttons"),
    pytest.param(
        button_template(buttons=[postback() for _ in range(4)]),
        "buttons must be a list of 1-3",
        id="bt-4-buttons",
    ),
    pytest.param(
        button_template("x" * 641),
        "button template text must be 1-640",
        id="bt-text-641",
    ),
    pytest.param(button_template(""), "button template text must be 1-640", id="bt-text-empty"),
]


@pytest.mark.parametrize(("message", "named"), BROKEN)
def test_each_broken_limit_is_named(message: dict[str, Any], named: str) -> None:
    problems = message_problems(message)
    assert len(problems) == 1, problems
    assert named in problems[0]


@pytest.mark.parametrize(
    "message",
    [
        {"text": "a" * TEXT_MAX},
        {"text": GRINNING * (TEXT_MAX // 2)},
        {"text": "Pick", "quick_replies": [quick_reply() for _ in range(QUICK_REPLIES_MAX + 1)]},
    ],
    ids=["text-2000", "text-2000-emoji", "14-quick-replies"],
)
def test_over_long_text_and_too_many_quick_replies_are_still_refused(
    message: dict[str, Any],
) -> None:
    assert message_problems(message) != []


@pytest.mark.parametrize(
    "message",
    [
        None,
        "hello",
        ["text"],
        {},
        {"text": "   "},
        {"text": 42},
        {"foo": "bar"},
        {"text": "a", "attachment": {"type": "image", "payload": {"url": IMAGE}}},
        {"attachment": {"payload": {}}},
        {"recipient": {"id": "1"}, "message": {"text": "wrapped"}},
    ],
    ids=[
        "none",
        "string",
        "list",
        "empty",
        "blank-text",
        "number-text",
        "unknown-key",
        "two-bodies",
        "untyped-attachment",
        "a-whole-send-body",
    ],
)
def test_not_a_message_object(message: object) -> None:
    problems = message_problems(message)
    assert len(problems) == 1
    assert any(word in problems[0] for word in ("object", "text", "field", "exactly one", "type"))


def test_every_broken_limit_is_reported_at_once() -> None:
    message = generic(
        element(title="t" * 81, buttons=[postback("b" * 21)]),
        element(subtitle="s" * 81),
        {"title": "Only a title"},
    )
    message["quick_replies"] = [quick_reply("q" * 21, "p" * 1001)]
    problems = message_problems(message)
    assert len(problems) == 6, problems
    for named in (
        "quick reply title",
        "quick reply payload",
        "element title",
        "button title",
        "element subtitle",
        "an element needs",
    ):
        assert any(named in problem for problem in problems), named


@pytest.mark.parametrize("payload", ["generic", ["generic"]], ids=["string", "list"])
def test_a_template_payload_that_is_not_an_object_is_a_problem(payload: object) -> None:
    message = {"attachment": {"type": "template", "payload": payload}}
    assert message_problems(message) != []


# --- property: render's output always passes ----------------------------------------------

WORDS = [
    "lex",
    "bridge",
    "안녕하세요",
    GRINNING,
    FAMILY,
    "naïve",
    "e\u0301",
    "\U0001f1f0\U0001f1f7",
]


def _text(rng: random.Random, units: int) -> str:
    """Words, spaces, sentence ends and line breaks until about ``units`` UTF-16 units."""
    parts: list[str] = []
    while utf16("".join(parts)) < units:
        parts.append(rng.choice(WORDS))
        parts.append(rng.choice([" ", " ", " ", ". ", "\n", "\n\n", ""]))
    return "".join(parts)


def _sample_replies() -> list[Reply]:
    rng = random.Random(20260101)
    replies: list[Reply] = []
    for units in (1, 19, 80, 640, 1999, 2000, 2001, 3998, 4001, 9000):
        replies.append(Text(_text(rng, units)))
        replies.append(Text("x" * units))  # no break anywhere
        replies.append(Text(GRINNING * (units // 2 + 1)))  # surrogate pairs only
        replies.append(Text(FAMILY * (units // 11 + 1)))  # long grapheme clusters
    titles = ["", "   ", "Short", "T" * 80, "T" * 81, _text(rng, 200), _text(rng, 2500)]
    subtitles = [None, "", "A subtitle", "s" * 81, _text(rng, 300)]
    images = [None, "", IMAGE]
    button_sets = [
        (),
        (Button("Yes", "yes"),),
        tuple(Button(f"Option {n} " + "w" * 20, f"value-{n}" * 200) for n in range(5)),
        tuple(Button(GRINNING * 15, _text(rng, 1500)) for _ in range(4)),
        (Button("   ", "blank title"), Button("blank value", " "), Button(FAMILY * 3, "f")),
        tuple(Button(f"B{n}", f"v{n}") for n in range(20)),
    ]
    for title, subtitle, image, buttons in product(titles, subtitles, images, button_sets):
        replies.append(Card(title=title, subtitle=subtitle, image_url=image, buttons=buttons))
    for _ in range(300):  # random cards with up to 5 buttons of random lengths
        replies.append(
            Card(
                title=_text(rng, rng.randrange(0, 300)),
                subtitle=rng.choice([None, _text(rng, rng.randrange(0, 200))]),
                image_url=rng.choice([None, IMAGE]),
                buttons=tuple(
                    Button(_text(rng, rng.randrange(1, 40)), _text(rng, rng.randrange(1, 1200)))
                    for _ in range(rng.randrange(0, 6))
                ),
            )
        )
    replies += [
        Ssml("<speak>Hello <break time='1s'/> there &amp; welcome.</speak>"),
        Ssml("<speak>" + "<p>" + _text(rng, 3000) + "</p></speak>"),
        Custom(json.dumps({"text": "custom", "quick_replies": [quick_reply()]})),
        Custom(json.dumps({"message": {"attachment": {"type": "image", "payload": {}}}})),
        Custom(json.dumps(button_template())),
        Custom(json.dumps(generic(element(), element(image_url=IMAGE)))),
        Custom(json.dumps({"text": "x" * TEXT_MAX})),  # not a valid message: sent as text
        Custom("{not json"),
        Custom(_text(rng, 5000)),
        Custom("[1, 2, 3]"),
    ]
    return replies


SAMPLE = _sample_replies()


def test_the_sample_is_broad() -> None:
    kinds = {type(reply) for reply in SAMPLE}
    assert kinds == {Text, Card, Custom, Ssml}
    assert len(SAMPLE) > 900


def test_rendered_replies_always_pass_the_limits() -> None:
    failures = []
    rendered = 0
    for reply in SAMPLE:
        for message in render(reply):
            rendered += 1
            problems = message_problems(message)
            if problems:
                failures.append((reply, message, problems))
    assert failures == []
    assert rendered > len(SAMPLE)


def test_rendered_long_texts_are_split_not_dropped() -> None:
    text = _text(random.Random(7), 9000)
    messages = render(Text(text))
    assert len(messages) >= 5
    assert all(message_problems(message) == [] for message in messages)
    squashed = "".join(text.split())
    assert "".join("".join(m["text"].split()) for m in messages) == squashed
