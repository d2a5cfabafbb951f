"""Messenger profile validation (bridge/messenger/profile.py): every problem at once, each
with its JSON path; single problems; the limits themselves; the whitelisted-domain rules."""

from __future__ import annotations

import pytest

from bridge.messenger.domains import domain_problem
from bridge.messenger.profile import validate_profile


def test_every_problem_is_listed_at_once_with_its_json_path() -> None:
    document = {
        "get_started": {"payload": ""},
        "greetings": [],
        "greeting": [{"locale": "en_US", "text": "x" * 161}, {"locale": "en_US", "text": "hi"}],
        "persistent_menu": [
            {
                "locale": "default",
                "composer_input_disabled": "no",
                "call_to_actions": [
                    {"type": "nested", "title": "More", "call_to_actions": []},
                    {"type": "postback", "title": "t" * 31, "payload": "p" * 1001},
                    {"type": "web_url", "title": "Site", "url": "ftp://example.com"},
                    {"type": "web_url", "title": "W", "url": "https://a.example", "x": 1},
                    {"type": "call", "title": "Call us"},
                ]
                + [{"type": "postback", "title": "ok", "payload": "ok"}] * 16,
            }
        ],
        "ice_breakers": [
            {
                "locale": "default",
                "call_to_actions": [{"question": f"q{n}", "payload": f"p{n}"} for n in range(5)],
            },
            {"question": "flat", "payload": "flat"},
        ],
        "whitelisted_domains": [
            "http://example.com",
            "https://10.0.0.1",
            "https://localhost",
            "https://intranet",
            "https://www.example.com",
            "https://WWW.example.com/",
        ],
    }
    problems = [str(p) for p in validate_profile(document)]
    assert problems == [
        "$.get_started.payload: must not be empty",
        "$.greetings: unknown field; did you mean 'greeting'? the fields setup manages are "
        "get_started, greeting, persistent_menu, ice_breakers, whitelisted_domains",
        "$.greeting[0].text: has 161 characters; the limit is 160",
        "$.greeting[1].locale: 'en_US' appears twice (also at $.greeting[0])",
        '$.greeting: needs an entry with "locale": "default" (shown to everyone whose locale '
        "has no entry of its own)",
        "$.persistent_menu[0].composer_input_disabled: must be true or false",
        "$.persistent_menu[0].call_to_actions: has 21 items; the limit is 20",
        "$.persistent_menu[0].call_to_actions[0]: nested menus were removed in Graph API v8.0: "
        "put the items in this list directly (up to 20)",
        "$.persistent_menu[0].call_to_actions[1].payload: has 1001 characters; the limit is 1000",
        "$.persistent_menu[0].call_to_actions[1].title: has 31 characters; the limit is 30",
        "$.persistent_menu[0].call_to_actions[2].url: must be an absolute http:// or https:// URL",
        "$.persistent_menu[0].call_to_actions[3].x: unknown key (allowed here: type, title, url, "
        "webview_height_ratio, messenger_extensions, fallback_url, webview_share_button)",
        '$.persistent_menu[0].call_to_actions[4].type: must be "postback" or "web_url"',
        "$.ice_breakers[0].call_to_actions: has 5 items; the limit is 4",
        '$.ice_breakers[1]: the flat ice-breaker format is deprecated: use [{"locale": '
        '"default", "call_to_actions": [{"question": …, "payload": …}]}]',
        "$.whitelisted_domains[0]: 'http://example.com' must start with https://",
        "$.whitelisted_domains[1]: 'https://10.0.0.1' is an IP address: Messenger accepts "
        "domain names only",
        "$.whitelisted_domains[2]: 'https://localhost' is localhost: Messenger accepts public "
        "domain names only",
        "$.whitelisted_domains[3]: 'https://intranet' is not fully qualified: use a name such "
        "as www.example.com",
        "$.whitelisted_domains[5]: 'https://WWW.example.com/' appears twice (also at "
        "$.whitelisted_domains[4])",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "$: the profile must be a JSON object with the fields to set"),
        ({"get_started": "GO"}, "$.get_started: must be an object with payload"),
        ({"get_started": {}}, "$.get_started.payload: is missing"),
        ({"greeting": []}, "$.greeting: must not be empty"),
        ({"greeting": {"locale": "default"}}, "$.greeting: must be a list"),
        (
            {"greeting": [{"locale": "en-US", "text": "hi"}]},
            "$.greeting[0].locale: 'en-US' is not a locale: use \"default\" or one such as en_US",
        ),
        (
            {"persistent_menu": [{"locale": "default", "composer_input_disabled": True}]},
            "$.persistent_menu[0].call_to_actions: is missing: with composer_input_disabled the "
            "menu is the only way to talk to the bot",
        ),
        (
            {
                "persistent_menu": [
                    {
                        "locale": "default",
                        "call_to_actions": [
                            {
                                "type": "web_url",
                                "title": "W",
                                "url": "https://a.example",
                                "webview_height_ratio": "half",
                            }
                        ],
                    }
                ]
            },
            "$.persistent_menu[0].call_to_actions[0].webview_height_ratio: must be one of "
            "compact, tall, full",
        ),
        (
            {"whitelisted_domains": [f"https://d{n}.example.com" for n in range(51)]},
            "$.whitelisted_domains: has 51 items; the limit is 50",
        ),
    ],
)
def test_single_problems(document: object, expected: str) -> None:
    assert expected in [str(p) for p in validate_profile(document)]


def test_a_greeting_of_exactly_160_characters_and_4_ice_breakers_are_fine() -> None:
    document = {
        "greeting": [{"locale": "default", "text": "é" * 160}],
        "ice_breakers": [
            {
                "locale": "default",
                "call_to_actions": [{"question": f"q{n}", "payload": "p"} for n in range(4)],
            }
        ],
        "persistent_menu": [
            {
                "locale": "default",
                "call_to_actions": [{"type": "postback", "title": "t" * 30, "payload": "p"}] * 20,
            }
        ],
    }
    assert validate_profile(document) == []


@pytest.mark.parametrize(
    ("domain", "problem"),
    [
        ("https://www.example.com", None),
        ("https://shop.example.co.uk/path", None),
        ("https://[::1]", "'https://[::1]' is an IP address: Messenger accepts domain names only"),
        (
            "https://app.localhost",
            "'https://app.localhost' is localhost: Messenger accepts public domain names only",
        ),
        (
            "https://user:pw@example.com",
            "'https://user:pw@example.com' must not hold a user name or password",
        ),
        ("www.example.com", "'www.example.com' must start with https://"),
        (42, "must be a string such as https://www.example.com"),
    ],
)
def test_domain_rules(domain: object, problem: str | None) -> None:
    assert domain_problem(domain) == problem
