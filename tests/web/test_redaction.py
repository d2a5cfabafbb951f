"""Recording verified deliveries, raw or redacted (BRIDGE_RECORD_DIR, BRIDGE_RECORD_REDACT)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.events import meta_bytes, parse_webhook
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.redaction import INDEX, Recorder, pseudonym_id, redact, redaction_key
from tests.conftest import PAGE_ID, TEST_SECRET, ScriptedBot, delivery, signed_headers, text_item

KEY = redaction_key(TEST_SECRET)


def body_with(
    *items: dict[str, Any], standby: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": PAGE_ID, "time": 1, "messaging": list(items)}
    if standby is not None:
        entry["standby"] = standby
    return {"object": "page", "entry": [entry]}


def item(psid: str, message: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": 1}
    if message is not None:
        base["message"] = message
    return {**base, **fields}


def test_psids_get_consistent_stand_ins_and_pages_keep_their_ids() -> None:
    body = body_with(
        item("1234567890123456", {"mid": "m_1", "text": "I live at 5 Elm Street"}),
        item("1234567890123456", {"mid": "m_2", "text": "I live at 5 Elm Street"}),
        item("6543210987654321", {"mid": "m_3", "text": "other person"}),
    )
    redacted = redact(body, KEY)
    assert isinstance(redacted, dict)
    items = redacted["entry"][0]["messaging"]
    first, second, third = (i["sender"]["id"] for i in items)
    assert first == second != third
    assert first != "1234567890123456" and len(first) == 16 and first.isdigit()
    assert all(i["recipient"]["id"] == PAGE_ID for i in items)
    assert items[0]["message"]["text"] == items[1]["message"]["text"]
    assert "Elm" not in json.dumps(redacted)
    assert "(22 chars)" in items[0]["message"]["text"]
    assert [i["message"]["mid"] for i in items] == ["m_1", "m_2", "m_3"]
    # Another deployment (another app secret) gets other stand-ins.
    assert pseudonym_id(redaction_key("other"), "1234567890123456") != first
    assert redact(body, KEY) == redacted  # deterministic


def test_choices_stay_replayable_and_personal_fields_go() -> None:
    body = body_with(
        item("111", {"mid": "m_q", "text": "Yes please", "quick_reply": {"payload": "YES"}}),
        item("111", postback={"mid": "m_p", "title": "Get Started", "payload": "GET_STARTED"}),
        item(
            "111",
            {
                "mid": "m_a",
                "attachments": [
                    {"type": "image", "payload": {"url": "https://cdn.fb/photo-of-me.jpg"}},
                    {
                        "type": "fallback",
                        "payload": {"url": "https://example.com/x", "title": "My page"},
                    },
                    {"type": "location", "payload": {"coordinates": {"lat": 37.5, "long": 127.0}}},
                ],
            },
        ),
        {
            "recipient": {"id": PAGE_ID},
            "timestamp": 1,
            "optin": {"ref": "campaign-7", "user_ref": "secret-user-ref"},
        },
        item(
            "111",
            optin={
                "type": "notification_messages",
                "payload": "DEALS",
                "notification_messages_token": "TOKEN123",
            },
        ),
        standby=[item("111", {"mid": "m_s", "text": "to the human agent"})],
    )
    redacted = redact(body, KEY)
    text = json.dumps(redacted)
    for gone in (
        "Yes please",
        "photo-of-me",
        "My page",
        "37.5",
        "secret-user-ref",
        "TOKEN123",
        "to the human agent",
        '"111"',
    ):
        assert gone not in text
    for kept in ("YES", "GET_STARTED", "Get Started", "campaign-7", "DEALS", "m_s"):
        assert kept in text
    events = parse_webhook(redacted).events
    assert [e.kind for e in events] == ["quick_reply", "postback", "attachment", "optin"]


def test_a_raw_recording_keeps_the_exact_bytes_and_indexes_them(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, redact_with=None)
    raw = b'{"object":"page","entry":[{"id":"1","messaging":[{"message":{"text":"\\u00e9\\/"}}]}]}'
    path = recorder.record(raw)
    assert path is not None and path.read_bytes() == raw
    [line] = (tmp_path / INDEX).read_text().splitlines()
    record = json.loads(line)
    assert record["file"] == path.name and record["bytes"] == len(raw)
    assert record["redacted"] is False


def test_a_redacted_recording_is_serialised_as_meta_does(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, redact_with=KEY)
    path = recorder.record(meta_bytes(body_with(item("222", {"mid": "m", "text": "é / @"}))))
    assert path is not None
    data = path.read_bytes()
    assert data.isascii() and data == meta_bytes(json.loads(data))
    assert json.loads(data)["entry"][0]["messaging"][0]["message"]["text"].startswith("redacted-")
    assert json.loads((tmp_path / INDEX).read_text())["redacted"] is True


def test_a_body_that_cannot_be_redacted_is_skipped_not_raised(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, redact_with=KEY)
    assert recorder.record(b"not json") is None
    assert not (tmp_path / INDEX).exists()


def test_concurrent_recordings_each_get_a_file_and_an_index_line(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, redact_with=None)
    threads = [
        threading.Thread(target=recorder.record, args=(f'{{"n":{n}}}'.encode(),)) for n in range(40)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = (tmp_path / INDEX).read_text().splitlines()
    assert len(lines) == 40 and len({json.loads(line)["file"] for line in lines}) == 40
    assert len(list(tmp_path.glob("*.json"))) == 40


def test_the_webhook_records_only_verified_deliveries(
    settings: Settings, queue: SqliteQueue, graph: GraphClient, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    app = create_app(
        replace(settings, record_dir=folder, record_redact=False),
        queue=queue,
        bot=ScriptedBot(),
        graph=graph,
    )
    client = app.test_client()
    body = delivery(text_item("7", "keep me", "m_rec"))
    assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 200
    bad = delivery(text_item("7", "forged", "m_forged"))
    assert client.post("/webhook", data=bad, headers=signed_headers(bad, "nope")).status_code == 403
    [recorded] = sorted(folder.glob("*.json"))
    assert recorded.read_bytes() == body


def test_recording_is_off_unless_a_folder_is_set(
    settings: Settings, queue: SqliteQueue, graph: GraphClient
) -> None:
    app = create_app(settings, queue=queue, bot=ScriptedBot(), graph=graph)
    assert app.extensions["bridge"].recorder is None
    assert Settings.from_env({"BRIDGE_MODE": "local"}).record_dir is None
    configured = Settings.from_env(
        {"BRIDGE_MODE": "local", "BRIDGE_RECORD_DIR": "/tmp/r", "BRIDGE_RECORD_REDACT": "false"}
    )
    assert configured.record_dir == Path("/tmp/r") and configured.record_redact is False
