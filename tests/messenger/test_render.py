"""Rendering neutral replies as Send API message objects (bridge/messenger/render.py)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
import regex

from bridge.messenger.limits import (
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    ELEMENT_SUBTITLE_MAX,
    ELEMENT_TITLE_MAX,
    METADATA_MAX,
    PAYLOAD_MAX,
    QUICK_REPLIES_MAX,
    QUICK_REPLY_TITLE_MAX,
    TEXT_MAX,
    is_valid_message,
)
from bridge.messenger.render import (
    PLACEHOLDER_TEXT,
    render,
    split_text,
    ssml_to_text,
    truncate,
)
from bridge.messenger.replies import Button, Card, Custom, Reply, Ssml, Text

LIMIT = TEXT_MAX - 1
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 11 UTF-16 units
FLAG_KR = "\U0001f1f0\U0001f1f7"  # 4 units
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # 4 units
E_ACUTE = "e\u0301"  # 2 units
GRINNING = "\U0001f600"  # astral: 2 units


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def graphemes(text: str) -> list[str]:
    found: list[str] = regex.findall(r"\X", text)
    return found


def prose(length: int) -> str:
    sentences = [
        "The bridge forwards every message to the bot.",
        "Replies come back in order!",
        "Does the user ever notice the split?",
        "Long answers are cut at natural places, never inside a word.",
    ]
    text, i = "", 0
    while len(text) < length:
        text += sentences[i % len(sentences)] + " "
        i += 1
    return text[:length].rstrip()


def assert_within_limits(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        assert is_valid_message(message)
        if "text" in message:
            assert 0 < utf16(message["text"]) < TEXT_MAX
        for reply in message.get("quick_replies", []):
            assert 0 < utf16(reply["title"]) <= QUICK_REPLY_TITLE_MAX
            assert 0 < utf16(reply["payload"]) <= PAYLOAD_MAX
        payload = message.get("attachment", {}).get("payload", {})
        for element in payload.get("elements", []):
            assert 0 < utf16(element["title"]) <= ELEMENT_TITLE_MAX
            assert utf16(element.get("subtitle", "")) <= ELEMENT_SUBTITLE_MAX
            assert len(element.get("buttons", [])) <= BUTTONS_MAX
            for button in element.get("buttons", []):
                assert 0 < utf16(button["title"]) <= BUTTON_TITLE_MAX
                assert 0 < utf16(button["payload"]) <= PAYLOAD_MAX


def buttons(count: int) -> tuple[Button, ...]:
    return tuple(Button(f"Option {i}", f"value-{i}") for i in range(1, count + 1))


# --- Text ----------------------------------------------------------------------------------


def test_text_renders_as_one_text_message() -> None:
    assert render(Text("Hello there")) == [{"text": "Hello there"}]


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n"])
def test_blank_text_renders_nothing(text: str) -> None:
    assert render(Text(text)) == []


def test_long_text_renders_one_message_per_chunk() -> None:
    text = prose(5000)
    assert render(Text(text)) == [{"text": chunk} for chunk in split_text(text)]
    assert len(render(Text(text))) == 3


# --- SSML ----------------------------------------------------------------------------------


def test_ssml_renders_as_its_text() -> None:
    reply = Ssml('<speak>Your order <say-as interpret-as="digits">42</say-as> shipped.</speak>')
    assert render(reply) == [{"text": "Your order 42 shipped."}]


@pytest.mark.parametrize("ssml", ["", "<speak></speak>", "<speak> <break time='1s'/> </speak>"])
def test_ssml_without_text_renders_nothing(ssml: str) -> None:
    assert render(Ssml(ssml)) == []


@pytest.mark.parametrize(
    ("ssml", "expected"),
    [
        ("<speak>Hello</speak>", "Hello"),
        ("<speak>Hello<break time='500ms'/>world</speak>", "Hello world"),
        ("<speak>Call <say-as interpret-as='telephone'>555</say-as> now</speak>", "Call 555 now"),
        ('<speak><prosody rate="slow">Slowly</prosody> said</speak>', "Slowly said"),
        (
            "<speak>Tom &amp; Jerry &lt;3 &quot;hi&quot; &#39;x&#39;</speak>",
            "Tom & Jerry <3 \"hi\" 'x'",
        ),
        ("<speak>a \t\t  b</speak>", "a b"),
        ("<speak>\n  line one  \n\n  line two\n</speak>", "line one\n\nline two"),
        ("<speak><p>First.</p><p>Second.</p></speak>", "First. Second."),
        ("plain text, no markup", "plain text, no markup"),
    ],
)
def test_ssml_to_text(ssml: str, expected: str) -> None:
    assert ssml_to_text(ssml) == expected


# --- Card ----------------------------------------------------------------------------------


def test_card_with_image_renders_generic_template() -> None:
    card = Card(
        title="Pick a size",
        subtitle="All sizes in stock",
        image_url="https://example.com/shirt.png",
        buttons=buttons(3),
    )
    assert render(card) == [
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "generic",
                    "elements": [
                        {
                            "title": "Pick a size",
                            "subtitle": "All sizes in stock",
                            "image_url": "https://example.com/shirt.png",
                            "buttons": [
                                {"type": "postback", "title": "Option 1", "payload": "value-1"},
                                {"type": "postback", "title": "Option 2", "payload": "value-2"},
                                {"type": "postback", "title": "Option 3", "payload": "value-3"},
                            ],
                        }
                    ],
                },
            }
        }
    ]


def test_card_with_five_buttons_puts_the_extra_two_in_quick_replies() -> None:
    card = Card(title="Pick one", image_url="https://example.com/a.png", buttons=buttons(5))
    assert render(card) == [
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "generic",
                    "elements": [
                        {
                            "title": "Pick one",
                            "image_url": "https://example.com/a.png",
                            "buttons": [
                                {"type": "postback", "title": "Option 1", "payload": "value-1"},
                                {"type": "postback", "title": "Option 2", "payload": "value-2"},
                                {"type": "postback", "title": "Option 3", "payload": "value-3"},
                            ],
                        }
                    ],
                },
            },
            "quick_replies": [
                {"content_type": "text", "title": "Option 4", "payload": "value-4"},
                {"content_type": "text", "title": "Option 5", "payload": "value-5"},
            ],
        }
    ]


def test_card_without_image_or_subtitle_renders_text_with_quick_replies() -> None:
    card = Card(title="Which flavour?", buttons=(Button("Vanilla", "v"), Button("Mint", "m")))
    assert render(card) == [
        {
            "text": "Which flavour?",
            "quick_replies": [
                {"content_type": "text", "title": "Vanilla", "payload": "v"},
                {"content_type": "text", "title": "Mint", "payload": "m"},
            ],
        }
    ]


def test_card_with_only_a_title_renders_plain_text() -> None:
    assert render(Card(title="Thanks for your order")) == [{"text": "Thanks for your order"}]


def test_card_with_subtitle_and_no_buttons_is_a_template_without_buttons() -> None:
    card = Card(title="Opening hours", subtitle="9 to 5")
    element = {"title": "Opening hours", "subtitle": "9 to 5"}
    payload = {"template_type": "generic", "elements": [element]}
    assert render(card) == [{"attachment": {"type": "template", "payload": payload}}]


def test_card_truncates_long_title_subtitle_and_button_titles() -> None:
    card = Card(
        title="T" * 100,
        subtitle="S" * 81,
        image_url="https://example.com/x.png",
        buttons=(
            Button("A very long button title indeed", "v1"),
            Button("Exactly twenty chars", "v2"),
        ),
    )
    [message] = render(card)
    element = message["attachment"]["payload"]["elements"][0]
    assert element["title"] == "T" * 79 + "…"
    assert element["subtitle"] == "S" * 79 + "…"
    assert [b["title"] for b in element["buttons"]] == [
        "A very long button…",
        "Exactly twenty chars",
    ]
    assert_within_limits([message])


def test_quick_reply_titles_are_truncated() -> None:
    card = Card(title="Choose", buttons=(Button("Twenty-one characters", "x"),))
    [message] = render(card)
    assert message["quick_replies"][0]["title"] == "Twenty-one characte…"
    assert utf16(message["quick_replies"][0]["title"]) == QUICK_REPLY_TITLE_MAX


def test_button_payload_is_cut_to_the_payload_limit() -> None:
    card = Card(title="t", subtitle="s", buttons=(Button("Go", "v" * 1500),))
    [message] = render(card)
    payload = message["attachment"]["payload"]["elements"][0]["buttons"][0]["payload"]
    assert utf16(payload) == PAYLOAD_MAX
    assert payload.startswith("v" * 999)


def test_card_with_many_buttons_keeps_at_most_thirteen_quick_replies() -> None:
    [message] = render(Card(title="Pick", buttons=buttons(20)))
    assert len(message["quick_replies"]) == QUICK_REPLIES_MAX
    assert message["quick_replies"][-1]["payload"] == "value-13"


def test_generic_card_with_many_buttons_keeps_three_buttons_and_thirteen_quick_replies() -> None:
    [message] = render(Card(title="Pick", subtitle="sub", buttons=buttons(20)))
    element = message["attachment"]["payload"]["elements"][0]
    assert [b["payload"] for b in element["buttons"]] == ["value-1", "value-2", "value-3"]
    assert len(message["quick_replies"]) == QUICK_REPLIES_MAX
    assert message["quick_replies"][0]["payload"] == "value-4"


def test_buttons_with_empty_title_or_value_are_dropped() -> None:
    card = Card(
        title="Pick",
        buttons=(Button("", "a"), Button("B", ""), Button("  ", "c"), Button("D", "d")),
    )
    assert render(card) == [
        {"text": "Pick", "quick_replies": [{"content_type": "text", "title": "D", "payload": "d"}]}
    ]


def test_card_whose_buttons_are_all_dropped_renders_plain_text() -> None:
    assert render(Card(title="Pick", buttons=(Button("", ""),))) == [{"text": "Pick"}]


def test_blank_subtitle_and_image_count_as_missing() -> None:
    assert render(Card(title="Hi", subtitle="  ", image_url="")) == [{"text": "Hi"}]


def test_card_with_a_long_title_splits_it_and_puts_quick_replies_on_the_last_part() -> None:
    messages = render(Card(title=prose(3000), buttons=buttons(2)))
    assert len(messages) == 2
    assert "quick_replies" not in messages[0]
    assert [q["payload"] for q in messages[1]["quick_replies"]] == ["value-1", "value-2"]
    assert_within_limits(messages)


def test_card_with_blank_title_uses_a_placeholder_where_a_title_is_required() -> None:
    [text_message] = render(Card(title=" ", buttons=buttons(1)))
    assert text_message["text"] == PLACEHOLDER_TEXT
    [template] = render(Card(title="", image_url="https://example.com/i.png"))
    assert template["attachment"]["payload"]["elements"][0]["title"] == PLACEHOLDER_TEXT


def test_card_with_blank_title_and_nothing_else_renders_nothing() -> None:
    assert render(Card(title="  ")) == []


# --- Custom payloads -------------------------------------------------------------------------

TEXT_WITH_QUICK_REPLIES = {
    "text": "Pick a colour",
    "quick_replies": [
        {"content_type": "text", "title": "Red", "payload": "RED"},
        {"content_type": "user_email"},
    ],
}
TEMPLATE_ATTACHMENT = {
    "attachment": {
        "type": "template",
        "payload": {
            "template_type": "button",
            "text": "Need help?",
            "buttons": [{"type": "web_url", "url": "https://example.com", "title": "Help"}],
        },
    }
}
IMAGES = {"attachments": [{"type": "image", "payload": {"url": "https://example.com/1.png"}}]}
WITH_METADATA = {"text": "hi", "metadata": "trace-1"}


@pytest.mark.parametrize(
    "message", [TEXT_WITH_QUICK_REPLIES, TEMPLATE_ATTACHMENT, IMAGES, WITH_METADATA]
)
def test_valid_custom_payload_passes_through_unchanged(message: dict[str, Any]) -> None:
    assert render(Custom(json.dumps(message))) == [message]


def test_custom_payload_wrapped_in_message_is_unwrapped() -> None:
    content = json.dumps({"message": TEMPLATE_ATTACHMENT})
    assert render(Custom(content)) == [TEMPLATE_ATTACHMENT]


@pytest.mark.parametrize(
    "content",
    [
        "Just some words",
        "{not json",
        '["a", "b"]',
        '"a JSON string"',
        "42",
        "null",
        json.dumps({"text": "hi", "recipient": {"id": "1"}}),
        json.dumps({"text": ""}),
        json.dumps({"text": "   "}),
        json.dumps({"text": "hi", "quick_replies": [{"content_type": "text"}] * 14}),
        json.dumps({"text": "hi", "attachment": {"type": "image"}}),
        json.dumps({"attachment": {"payload": {}}}),
        json.dumps({"attachments": []}),
        json.dumps({"quick_replies": [{"content_type": "text"}]}),
        json.dumps({"message": {"text": "hi"}, "recipient": {"id": "1"}}),
        json.dumps({"message": "hi"}),
    ],
)
def test_invalid_custom_payload_is_sent_as_text(content: str) -> None:
    assert render(Custom(content)) == [{"text": content}]


def test_invalid_long_custom_payload_is_split_like_text() -> None:
    content = json.dumps({"text": "x" * TEXT_MAX})
    messages = render(Custom(content))
    texts = [m["text"] for m in messages]
    assert texts == split_text(content)
    assert texts[0] == '{"text":'  # the only space is the best cut in the first window
    assert "".join(texts) == content.replace(" ", "")
    assert_within_limits(messages)


@pytest.mark.parametrize("content", ["", "  ", "[" * 100_000])
def test_pathological_custom_payloads_do_not_raise(content: str) -> None:
    messages = render(Custom(content))
    assert_within_limits(messages)
    assert "".join(m["text"] for m in messages) == content.strip()


@pytest.mark.parametrize(
    "obj",
    [
        {"text": "hi"},
        {"text": "x" * (TEXT_MAX - 1)},
        {"attachment": {"type": "image", "payload": {"url": "https://example.com/1.png"}}},
        {"attachments": [{"type": "image"}] * 30},
        {"text": "hi", "quick_replies": []},
        {
            "text": "hi",
            "quick_replies": [{"content_type": "text", "title": "t", "payload": "p"}]
            * QUICK_REPLIES_MAX,
        },
        {"text": "hi", "metadata": "m" * (METADATA_MAX - 1)},
    ],
)
def test_is_valid_message_accepts(obj: object) -> None:
    assert is_valid_message(obj) is True


@pytest.mark.parametrize(
    "obj",
    [
        None,
        "hi",
        ["hi"],
        {},
        {"text": "x" * TEXT_MAX},
        {"text": 5},
        {"attachment": "image"},
        {"attachment": {"type": 1}},
        {"attachments": [{"type": "image"}] * 31},
        {"attachments": ["image"]},
        {"text": "hi", "quick_replies": {"content_type": "text"}},
        {"text": "hi", "quick_replies": [{"title": "no content type"}]},
        {"text": "hi", "metadata": "m" * METADATA_MAX},
        {"text": "hi", "metadata": None},
        {"text": "hi", "sender_action": "typing_on"},
    ],
)
def test_is_valid_message_rejects(obj: object) -> None:
    assert is_valid_message(obj) is False


# --- split_text ----------------------------------------------------------------------------


def test_text_exactly_at_the_limit_is_unchanged() -> None:
    text = "a" * LIMIT
    assert split_text(text) == [text]


def test_text_one_over_the_limit_is_split() -> None:
    assert split_text("a" * TEXT_MAX) == ["a" * LIMIT, "a"]


def test_text_that_fits_keeps_its_whitespace() -> None:
    assert split_text("  hello  world \n") == ["  hello  world \n"]


def test_prose_is_split_at_sentence_ends_within_the_limit() -> None:
    text = prose(5000)
    chunks = split_text(text)
    assert len(chunks) == 3
    assert all(utf16(chunk) <= LIMIT for chunk in chunks)
    assert all(chunk[-1] in ".!?" for chunk in chunks[:-1])
    assert " ".join(chunks).split() == text.split()


def test_long_text_without_spaces_is_cut_at_the_limit() -> None:
    chunks = split_text("x" * 5000)
    assert [len(chunk) for chunk in chunks] == [LIMIT, LIMIT, 5000 - 2 * LIMIT]


def test_paragraph_break_is_preferred() -> None:
    first, second = prose(1200), prose(1200)
    assert split_text(f"{first}\n\n{second}") == [first, second]


def test_paragraph_break_leaving_less_than_half_the_limit_is_ignored() -> None:
    first = "Short intro."
    text = f"{first}\n\n{prose(3000)}"
    chunks = split_text(text)
    assert chunks[0] != first
    assert chunks[0].startswith(first + "\n\n")
    assert 2 * utf16(chunks[0]) >= LIMIT
    assert chunks[0].endswith((".", "!", "?"))


def test_line_break_is_preferred_to_a_sentence_end() -> None:
    first = "item one. " * 110 + "last"  # 1104 characters with sentence ends throughout
    text = f"{first}\nnext line. " + "more words " * 100
    assert split_text(text)[0] == first


def test_whitespace_is_used_when_no_sentence_end_fits() -> None:
    text = "word " * 1000
    chunks = split_text(text)
    assert all(chunk == chunk.strip() for chunk in chunks)
    assert all(set(chunk.split()) == {"word"} for chunk in chunks)
    assert sum(len(chunk.split()) for chunk in chunks) == 1000


def test_whitespace_is_stripped_at_cut_points_but_kept_inside_chunks() -> None:
    text = "a  b\t\tc " * 600
    chunks = split_text(text, 100)
    assert all(chunk == chunk.strip() for chunk in chunks)
    assert "a  b\t\tc" in chunks[0]


def test_cjk_sentence_end_without_space_is_a_break() -> None:
    sentence = "今日はいい天気です。"  # 10 characters
    chunks = split_text(sentence * 30, 95)
    assert chunks[0] == sentence * 9
    assert "".join(chunks) == sentence * 30


def test_korean_text_is_split_at_spaces() -> None:
    text = "오늘은 날씨가 정말 좋습니다 " * 300
    chunks = split_text(text)
    assert all(utf16(chunk) <= LIMIT for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_decomposed_hangul_syllables_are_not_cut() -> None:
    text = unicodedata.normalize("NFD", "안녕하세요") * 40  # 2 or 3 code points per syllable
    chunks = split_text(text, 7)
    assert all(utf16(chunk) <= 7 for chunk in chunks)
    assert [g for chunk in chunks for g in graphemes(chunk)] == graphemes(text)


@pytest.mark.parametrize("cluster", [FAMILY, FLAG_KR, THUMBS_UP_MEDIUM, E_ACUTE, GRINNING])
@pytest.mark.parametrize("limit", [12, 25, LIMIT])
def test_clusters_at_the_cut_point_are_never_split(cluster: str, limit: int) -> None:
    text = "ab" + cluster * (3 * limit // utf16(cluster) + 1)
    chunks = split_text(text, limit)
    assert len(chunks) > 1
    assert all(utf16(chunk) <= limit for chunk in chunks)
    assert [g for chunk in chunks for g in graphemes(chunk)] == graphemes(text)


def test_astral_emoji_count_as_two_units() -> None:
    text = GRINNING * 1000  # 1000 code points, 2000 UTF-16 units
    assert split_text(text) == [GRINNING * 999, GRINNING]


def test_cluster_longer_than_the_limit_is_cut_between_code_points() -> None:
    text = "e" + "\u0301" * 10
    chunks = split_text(text, 4)
    assert "".join(chunks) == text
    assert all(utf16(chunk) <= 4 for chunk in chunks)


def test_lone_surrogates_are_counted_and_split() -> None:
    chunks = split_text("\ud800" * 3000)
    assert [len(chunk) for chunk in chunks] == [LIMIT, 3000 - LIMIT]


@pytest.mark.parametrize("limit", [-1, 0, 1])
def test_split_text_rejects_a_limit_too_small_for_any_character(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        split_text("some text", limit)


# --- truncate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 20, "short"),
        ("exactly", 7, "exactly"),
        ("Hello world", 6, "Hello…"),
        ("Hello world", 7, "Hello…"),  # no trailing space before the ellipsis
        ("abc", 1, "…"),
        ("abc", 0, ""),
        ("ab" + FAMILY, 12, "ab…"),
        ("ab" + FAMILY + "cd", 14, "ab" + FAMILY + "…"),
        (GRINNING * 3, 4, GRINNING + "…"),
        ("cafe\u0301s", 5, "caf…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert utf16(truncate(text, limit)) <= max(limit, 0)


# --- totality ------------------------------------------------------------------------------

ODD_REPLIES: list[Reply] = [
    Text(FAMILY * 500),
    Text("\u0301" * 3000),
    Text("\n\n" * 2000 + "end"),
    Ssml("<speak>" + "&amp; " * 1000 + "</speak>"),
    Card(title=FLAG_KR * 50, subtitle=E_ACUTE * 100, buttons=(Button(FAMILY * 3, GRINNING),)),
    Card(title="x" * 5000, buttons=buttons(30)),
    Custom(json.dumps({"text": FAMILY * 300})),
    Custom("\ud800" * 2500),
]


@pytest.mark.parametrize("reply", ODD_REPLIES)
def test_render_respects_every_limit_for_odd_input(reply: Reply) -> None:
    messages = render(reply)
    assert messages
    assert_within_limits(messages)
