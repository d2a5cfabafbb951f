"""Odd but valid Lex answers never give silence: what each odd message becomes (V2 and V1),
the fallback marker when nothing can be shown, silence only when Lex said nothing, and a
property over any JSON-ish answer, mapped and rendered."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.bots.lexanswer import plain_text
from bridge.bots.lexv1 import replies_from_post_text
from bridge.bots.lexv2 import LexV2Bot, replies_from_recognize_text
from bridge.messenger.events import TextMessage
from bridge.messenger.limits import is_valid_message
from bridge.messenger.render import render
from bridge.messenger.replies import Button, Card, Fallback, Handover, Reply, Text
from tests.support.ids import PAGE_ID, PSID

BUTTONS = [{"text": "Today", "value": "today"}, {"text": "Tomorrow", "value": "tomorrow"}]
CHOICES = (Button("Today", "today"), Button("Tomorrow", "tomorrow"))
IMAGE = "https://example.com/day.png"
HANDOVER = '{"bridge": {"handover": "inbox"}}'


def card(fields: dict[str, Any], **message: Any) -> dict[str, Any]:
    return {"contentType": "ImageResponseCard", "imageResponseCard": fields, **message}


# --- Lex V2: best effort -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        # An ImageResponseCard message without its card: the message's text.
        ({"contentType": "ImageResponseCard", "content": "Which day?"}, Text("Which day?")),
        (
            {"contentType": "ImageResponseCard", "content": "Which day?", "imageResponseCard": 7},
            Text("Which day?"),
        ),
        # A card without a title: the subtitle, else the message's text, takes its place.
        (card({"subtitle": "Pick a day", "buttons": BUTTONS}), Card("Pick a day", buttons=CHOICES)),
        (
            card({"title": " ", "subtitle": "Pick a day", "imageUrl": IMAGE}, content="ignored"),
            Card("Pick a day", image_url=IMAGE),
        ),
        (card({"buttons": BUTTONS}, content="Which day?"), Card("Which day?", buttons=CHOICES)),
        # Nothing to title it: rendering's placeholder title, with what there is.
        (card({"buttons": BUTTONS}), Card("", buttons=CHOICES)),
        (card({"imageUrl": IMAGE, "title": None}), Card("", image_url=IMAGE)),
        # An image that is no web address: Graph would refuse the whole card, so it is left out.
        (card({"title": "Day", "imageUrl": "day.png"}), Card("Day")),
        (card({"title": "Day", "imageUrl": "javascript:alert(1)"}), Card("Day")),
        (card({"title": "Day", "imageUrl": "https://exa mple.com/a.png"}), Card("Day")),
        (card({"title": "Day", "imageUrl": "http://[::1"}), Card("Day")),
        (card({"imageUrl": "not a url", "buttons": BUTTONS}), Card("", buttons=CHOICES)),
        # A card with nothing of its own, but the message's text.
        (card({}, content="Which day?"), Card("Which day?")),
        # A missing or future content type: words are shown.
        ({"content": "See you tomorrow."}, Text("See you tomorrow.")),
        ({"contentType": "Markdown", "content": "**Tomorrow** at 9"}, Text("**Tomorrow** at 9")),
        ({"contentType": None, "content": "[1] see below"}, Text("[1] see below")),
        ({"contentType": "Future", "content": "{not json}"}, Text("{not json}")),
        ({"contentType": "Future", "content": "I <3 it"}, Text("I <3 it")),
        ({"contentType": "Future", "content": "42"}, Text("42")),
    ],
)
def test_an_odd_v2_message_is_shown_best_effort(message: dict[str, Any], reply: Reply) -> None:
    assert replies_from_recognize_text({"messages": [message]}) == [reply]
    assert all(is_valid_message(m) for m in render(reply)) and render(reply)


# --- Lex V2: nothing that can be shown -----------------------------------------------------------


@pytest.mark.parametrize(
    "messages",
    [
        [{"contentType": "ImageResponseCard"}],
        [{"contentType": "ImageResponseCard", "content": "  ", "imageResponseCard": None}],
        [card({"title": "", "subtitle": None, "buttons": [{"text": "no value"}]})],
        [card({"attachmentLinkUrl": "https://example.com"})],
        [{"contentType": "PlainText", "content": "   "}],  # the model says 1-1024 characters
        [{"contentType": "PlainText", "content": 12}],
        [{"contentType": "SSML", "content": "<speak><break time='1s'/></speak>"}],
        [{"contentType": "CustomPayload", "content": '{"bridge": {"handover": "crm"}}'}],
        # A future content type whose content is data, not words: never shown raw.
        [{"contentType": "Carousel", "content": '{"cards": [{"title": "A"}]}'}],
        [{"content": '[{"type": "button"}]'}],
        [{"contentType": "RichText", "content": "<p>Hello</p>"}],
        [{"contentType": "Future", "content": "[" * 100_000}],
        ["junk", None, 3],
        [{}],
    ],
)
def test_an_answer_with_nothing_that_can_be_shown_gets_the_fallback(
    messages: list[Any],
) -> None:
    assert replies_from_recognize_text({"messages": messages}) == [Fallback()]


def test_messages_that_are_not_a_list_get_the_fallback() -> None:
    assert replies_from_recognize_text({"messages": "Hello"}) == [Fallback()]
    assert replies_from_recognize_text({"messages": {"content": "Hello"}}) == [Fallback()]


@pytest.mark.parametrize("response", [{}, {"messages": None}, {"messages": []}])
def test_lex_saying_nothing_stays_silent(response: dict[str, Any]) -> None:
    assert replies_from_recognize_text(response) == []


def test_a_blank_message_beside_one_that_can_be_shown_is_left_out() -> None:
    messages = [{"contentType": "PlainText", "content": ""}, {"contentType": "ImageResponseCard"}]
    messages.append({"contentType": "PlainText", "content": "Bye!"})
    assert replies_from_recognize_text({"messages": messages}) == [Text("Bye!")]


def test_a_handover_alone_is_not_a_fallback_but_one_beside_nothing_shown_keeps_its_step() -> None:
    payload = {"contentType": "CustomPayload", "content": HANDOVER}
    assert replies_from_recognize_text({"messages": [payload]}) == [Handover()]
    odd = {"messages": [{"contentType": "ImageResponseCard"}, payload]}
    assert replies_from_recognize_text(odd) == [Fallback(), Handover()]


class Answers:
    """A lexv2-runtime client that returns one answer."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def recognize_text(self, **params: Any) -> dict[str, Any]:
        return self.answer


def test_a_handover_intent_closed_with_nothing_shown_still_asks_for_a_person() -> None:
    answer = {
        "messages": [{"contentType": "ImageResponseCard"}],
        "sessionState": {"dialogAction": {"type": "Close"}, "intent": {"name": "TalkToNurse"}},
    }
    bot = LexV2Bot(
        Answers(answer),
        bot_id="ABCDE12345",
        alias_id="TSTALIASID",
        locale_id="en_US",
        handover_intent="TalkToNurse",
    )
    replies = bot.respond(TextMessage(PAGE_ID, PSID, 1, "m_1", "a nurse please"))
    assert replies == [
        Fallback(),
        Handover(metadata="The bot asked for a person (intent TalkToNurse)."),
    ]


# --- Lex V1 ------------------------------------------------------------------------------------


def composite(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"messageFormat": "Composite", "message": json.dumps({"messages": list(parts)})}


@pytest.mark.parametrize(
    ("response", "replies"),
    [
        ({"message": "Hi!", "messageFormat": "Markdown"}, [Text("Hi!")]),
        (
            {
                "responseCard": {
                    "genericAttachments": [{"subTitle": "Pick one", "buttons": BUTTONS}]
                }
            },
            [Card("Pick one", buttons=CHOICES)],
        ),
        (
            {"responseCard": {"genericAttachments": [{"buttons": BUTTONS}]}},
            [Card("", buttons=CHOICES)],
        ),
        (composite({"type": "Markdown", "group": 1, "value": "Hi!"}), [Text("Hi!")]),
        # Cards that cannot be shown beside a message that can: left out.
        (
            {"message": "Hi!", "responseCard": {"genericAttachments": [{}, "junk"]}},
            [Text("Hi!")],
        ),
    ],
)
def test_an_odd_v1_answer_is_shown_best_effort(
    response: dict[str, Any], replies: list[Reply]
) -> None:
    assert replies_from_post_text(response) == replies


@pytest.mark.parametrize(
    "response",
    [
        {"message": "", "messageFormat": "PlainText"},
        {"message": 12},
        {"message": '{"cards": []}', "messageFormat": "Carousel"},
        {"message": '{"messages": "no"}', "messageFormat": "Composite"},
        {"message": '{"messages": []}', "messageFormat": "Composite"},
        composite(
            {"type": "PlainText", "group": 1, "value": " "}, {"type": "SSML", "value": "<a/>"}
        ),
        composite({"type": "CustomPayload", "value": '{"bridge": "hello"}'}),
        {"messageFormat": "CustomPayload", "message": '{"bridge": {"handover": "crm"}}'},
        {"responseCard": {"genericAttachments": "junk"}},
        {"responseCard": {"genericAttachments": []}},
        {"responseCard": {"genericAttachments": [{"title": "", "attachmentLinkUrl": "x"}]}},
        {"responseCard": "junk"},
    ],
)
def test_a_v1_answer_with_nothing_that_can_be_shown_gets_the_fallback(
    response: dict[str, Any],
) -> None:
    assert replies_from_post_text(response) == [Fallback()]


@pytest.mark.parametrize(
    "response", [{}, {"dialogState": "ReadyForFulfillment"}, {"message": None}]
)
def test_lex_v1_saying_nothing_stays_silent(response: dict[str, Any]) -> None:
    assert replies_from_post_text(response) == []


# --- the plain-text rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        ("Hello", True),
        ("  Hello  ", True),
        ("< 5 minutes", True),
        ("[sic] words", True),
        ("true", True),  # JSON, but a word too
        ('"quoted"', True),
        ('{"a": 1}', False),
        ("  [1, 2]  ", False),
        ("<speak>Hi</speak>", False),
        ("<!-- note -->", False),
        ("</p>", False),
        ("", False),
        (" \n", False),
        (None, False),
    ],
)
def test_plain_text_shows_only_words(content: object, shown: bool) -> None:
    assert (plain_text(content) is not None) is shown


# --- any answer, mapped and rendered -------------------------------------------------------------

texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\u0301" * 30, "👨\u200d👩\u200d👧" * 20, "a" * 3000, "\ud800"]),
    st.sampled_from(["<speak></speak>", '{"a": 1}', "[1]", HANDOVER, '{"bridge": 1}']),
    st.sampled_from(['{"text": "raw"}', '{"attachment": {"type": "image"}}', "x" * 1025]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)


def anything_or(proper: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(proper, proper, json_values)


buttons = st.lists(
    anything_or(st.fixed_dictionaries({}, optional={"text": texts, "value": texts})), max_size=15
)
cards = st.fixed_dictionaries(
    {},
    optional={
        "title": anything_or(texts),
        "subtitle": anything_or(texts),
        "subTitle": anything_or(texts),
        "imageUrl": anything_or(st.sampled_from([IMAGE, "", "not a url"])),
        "buttons": anything_or(buttons),
    },
)
content_types = st.sampled_from(["PlainText", "SSML", "CustomPayload", "ImageResponseCard"])
v2_messages = st.lists(
    anything_or(
        st.fixed_dictionaries(
            {},
            optional={
                "contentType": st.one_of(content_types, texts, json_values),
                "content": anything_or(texts),
                "imageResponseCard": anything_or(cards),
            },
        )
    ),
    max_size=10,
)
formats = st.sampled_from(["PlainText", "SSML", "CustomPayload", "Composite", "Markdown"])
parts = st.fixed_dictionaries(
    {}, optional={"type": anything_or(formats), "group": json_values, "value": anything_or(texts)}
)
v1_messages = st.one_of(
    texts,
    st.lists(anything_or(parts), max_size=5).map(lambda found: json.dumps({"messages": found})),
)
v1_answers = st.fixed_dictionaries(
    {},
    optional={
        "message": anything_or(v1_messages),
        "messageFormat": anything_or(formats),
        "responseCard": anything_or(
            st.fixed_dictionaries({"genericAttachments": anything_or(st.lists(cards, max_size=4))})
        ),
    },
)


def check_shown(replies: list[Reply], said_something: bool) -> None:
    """Rendering never raises and keeps Messenger's limits; when Lex said something, something
    is shown, or the fallback marker stands in for it; when it said nothing, nothing is."""
    rendered = [message for reply in replies for message in render(reply)]
    assert all(is_valid_message(message) for message in rendered)
    if not said_something:
        assert replies == []
    elif rendered:
        assert Fallback() not in replies
    else:
        # The fallback text in place of it all, or a handover the bot asked for (or both).
        rest = replies[1:] if replies[:1] == [Fallback()] else replies
        assert replies and all(isinstance(reply, Handover) for reply in rest)


@settings(max_examples=400, deadline=None)
@given(v2_messages)
def test_any_v2_answer_maps_and_renders_to_something_shown(messages: list[Any]) -> None:
    check_shown(replies_from_recognize_text({"messages": messages}), bool(messages))


@settings(max_examples=400, deadline=None)
@given(v1_answers)
def test_any_v1_answer_maps_and_renders_to_something_shown(answer: dict[str, Any]) -> None:
    said = answer.get("message") is not None or answer.get("responseCard") is not None
    check_shown(replies_from_post_text(answer), said)


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        Card,
        title=texts,
        subtitle=st.none() | texts,
        image_url=st.none() | texts,
        buttons=st.lists(st.builds(Button, texts, texts), max_size=20).map(tuple),
    )
)
def test_any_card_renders_within_messengers_limits(shown_card: Card) -> None:
    rendered = render(shown_card)
    assert all(is_valid_message(message) for message in rendered)
    fields = [shown_card.title, shown_card.subtitle, shown_card.image_url]
    fields += [text for b in shown_card.buttons if b.value.strip() for text in (b.title,)]
    assert bool(rendered) is any(text and text.strip() for text in fields)
