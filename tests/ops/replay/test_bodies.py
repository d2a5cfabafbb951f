"""Finding the files a replay sends and checking the bodies in them
(bridge/ops/replay/bodies.py), and moving their timestamps for ``--retime``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.config.localmode import LOCAL_PAGE_ID
from bridge.errors import NotAWebhookBody
from bridge.ops.replay.bodies import find_files, load_body, retime
from tests.ops.replay.test_replayer import echo, meta, text

# --- finding files --------------------------------------------------------------------------------


def test_directories_give_their_bodies_sorted_without_expectations_or_index(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "nested").mkdir(parents=True)
    for name in ("b.json", "a.json", "a.expected.json", "index.json", "index.jsonl", "notes.txt"):
        (corpus / name).write_text("{}")
    (corpus / "nested" / "c.json").write_text("{}")
    single = tmp_path / "z.json"
    single.write_text("{}")
    assert find_files([single, corpus, single]) == [
        single,
        corpus / "a.json",
        corpus / "b.json",
        single,  # files are taken as named, in order, even twice
    ]


def test_a_directory_without_bodies_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "only.expected.json").write_text("{}")
    with pytest.raises(ValueError, match=f"no webhook bodies \\(\\*.json\\) in {tmp_path}"):
        find_files([tmp_path])


# --- checking bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b"\xef\xbb\xbf{}", "starts with a byte-order mark, which Meta never sends"),
        (b'{"object":"page","entry":["\xff"]}', "not UTF-8 (byte 0xff at offset 27)"),
        (b'{"object":', "not JSON (Expecting value at line 1 column 11)"),
        (b"[1, 2]", "not a webhook body: the top level is a list"),
        (b'"page"', "not a webhook body: the top level is a string"),
        (b'{"entry": []}', 'not a webhook body: no "object" field'),
        (b'{"object": "page"}', 'not a webhook body: no "entry" list'),
        (
            b'{"object": "page", "entry": {}}',
            'not a webhook body: "entry" is an object, not a list',
        ),
        (b'{"object": "page", "entry": null}', 'not a webhook body: "entry" is null, not a list'),
    ],
)
def test_a_file_that_is_not_a_webhook_body_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(NotAWebhookBody) as error:
        load_body(data)
    assert str(error.value) == reason


def test_a_body_keeps_its_bytes_and_names_its_events_senders_and_skips() -> None:
    tap = {
        "sender": {"id": "7"},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": 1700000000000,
        "postback": {"title": "Get Started", "payload": "GET_STARTED"},  # no mid: derived key
    }
    first = text("7", "héllo / 안녕", "m_1")
    data = meta(
        first, text("8", "second", "m_2"), first, tap, echo("7"), {"read": {"watermark": 1}}
    )
    body = load_body(data)
    assert body.data is data
    assert [(e.key[:8], e.sender) for e in body.events] == [
        ("m_1", "7"),
        ("m_2", "8"),  # the repeated item is one job
        ("derived:", "7"),
    ]
    assert body.senders == ["7", "8"]
    assert body.skipped == ("echo", "read")


def test_a_body_of_another_object_type_is_sent_with_nothing_to_follow() -> None:
    body = load_body(b'{"object":"instagram","entry":[]}')
    assert (body.events, body.skipped) == ((), ("not_page_object",))


def test_retime_moves_every_timestamp_keeping_the_gaps() -> None:
    body = (
        b'{"object":"page","entry":[{"id":"1","time":1000000002000,"messaging":['
        b'{"sender":{"id":"7"},"recipient":{"id":"1"},"timestamp":1000000001000,'
        b'"message":{"mid":"m_a","text":"a\\/b"}},'
        b'{"sender":{"id":"7"},"recipient":{"id":"1"},"timestamp":"1000000000",'
        b'"postback":{"payload":"P","title":"T"}}]}]}'
    )
    moved = json.loads(retime(body, now_ms=2_000_000_000_000))
    entry = moved["entry"][0]
    assert entry["time"] == 2_000_000_000_000
    assert entry["messaging"][0]["timestamp"] == 1_999_999_999_000
    assert entry["messaging"][1]["timestamp"] == "1999999998000"  # seconds string, as ms now
    assert retime(body, now_ms=2_000_000_000_000).isascii()
    assert retime(b"not json", now_ms=1) == b"not json"
