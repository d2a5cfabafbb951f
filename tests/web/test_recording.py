"""Recording verified deliveries, raw or redacted (BRIDGE_RECORD_DIR, BRIDGE_RECORD_REDACT)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

from bridge.app import create_app
from bridge.config.settings import Settings
from bridge.messenger.events import meta_bytes
from bridge.messenger.graph import GraphClient
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.recording import INDEX, Recorder
from tests.conftest import ScriptedBot, delivery, signed_headers, text_item
from tests.web.test_redaction import KEY, body_with, item


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
        replace(settings, web=replace(settings.web, record_dir=folder, record_redact=False)),
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
    assert Settings.from_env({"BRIDGE_MODE": "local"}).web.record_dir is None
    configured = Settings.from_env(
        {"BRIDGE_MODE": "local", "BRIDGE_RECORD_DIR": "/tmp/r", "BRIDGE_RECORD_REDACT": "false"}
    )
    assert configured.web.record_dir == Path("/tmp/r") and configured.web.record_redact is False


def test_a_raw_recording_blanks_notification_tokens_and_nothing_else(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, redact_with=None)
    item = {
        "sender": {"id": "701"},
        "recipient": {"id": "42"},
        "timestamp": 1717175000100,
        "optin": {
            "type": "notification_messages",
            "payload": "FLU_ALERTS é",
            "notification_messages_token": "NMsecret0042",
        },
    }
    body = json.dumps({"object": "page", "entry": [{"id": "42", "messaging": [item]}]}).encode()
    path = recorder.record(body)
    assert path is not None
    written = path.read_bytes()
    assert b"NMsecret0042" not in written
    recorded = json.loads(written)
    optin = recorded["entry"][0]["messaging"][0]["optin"]
    assert optin["notification_messages_token"] == ""
    assert optin["payload"] == "FLU_ALERTS é" and recorded["entry"][0]["id"] == "42"
    # Escaped keys are found too; a body without a token keeps its exact bytes.
    escaped = body.replace(b"notification_messages_token", b"notification\\u005fmessages_token")
    again = recorder.record(escaped)
    assert again is not None and b"NMsecret0042" not in again.read_bytes()
    plain = b'{"object":"page","entry":[{"id":"42","time":1,"messaging":[]}],"x":"\\u00e9"}'
    kept = recorder.record(plain)
    assert kept is not None and kept.read_bytes() == plain
