"""End to end: attachments, stickers, referrals and echoes through the real server (gunicorn,
webhook, queue, delivery) to a Lex V2 endpoint reached by boto3, replies read back from the
local Graph inbox.

The Lex endpoint is tests/support/lexserver.py (it records the request attributes), reached through
``AWS_ENDPOINT_URL_LEX_RUNTIME_V2`` exactly as a real bot would be; Graph stays local.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.config.localmode import LOCAL_PAGE_ID
from tests.conftest import wait_for
from tests.support.ids import PAGE_INBOX_APP_ID
from tests.support.lexserver import LexCall, LexServer, aws_environment, lex_server
from tests.support.servers import START_MS, Bridge, body_of, start_bridge, stop_bridge, text

pytestmark = pytest.mark.e2e

IMAGE_URL = "https://scontent.xx.fbcdn.net/v/t1.15752-9/rash_photo.jpg?_nc_cat=101&oh=00_AYB"
LIKE_STICKER = 369239263222822


@pytest.fixture(scope="module")
def lex() -> Iterator[LexServer]:
    with lex_server() as server:
        yield server


@pytest.fixture(scope="module")
def bridge(lex: LexServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    tmp = tmp_path_factory.mktemp("bridge")
    server = start_bridge(
        tmp,
        BRIDGE_BOT="lexv2",
        LEX_BOT_ID="ABCDE12345",
        LEX_BOT_ALIAS_ID="TSTALIASID",
        BRIDGE_V1_ATTRIBUTES="true",
        BRIDGE_NO_TEXT_INPUTS="like=yes",
        BRIDGE_NO_TEXT_REPLY_KINDS="audio",
        BRIDGE_NO_TEXT_REPLY="Please type your question.",
        **aws_environment(tmp, AWS_ENDPOINT_URL_LEX_RUNTIME_V2=lex.url),
    )
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


def message(psid: str, mid: str, **fields: Any) -> dict[str, Any]:
    return {
        "sender": {"id": psid},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": START_MS + 1,
        "message": {"mid": mid, **fields},
    }


def test_an_image_reaches_lex_with_its_attributes_and_the_answer_comes_back(
    bridge: Bridge, lex: LexServer
) -> None:
    psid = "3700000000000001"
    image = {"type": "image", "payload": {"url": IMAGE_URL}}
    assert bridge.post(body_of(message(psid, "m_att_image", attachments=[image]))).ok
    bridge.wait_done("m_att_image")
    [call] = lex.calls_for(psid)
    assert (call.api, call.bot, call.alias, call.locale) == (
        "v2",
        "ABCDE12345",
        "TSTALIASID",
        "en_US",
    )
    assert call.text == "image"
    assert call.attributes == {
        "x-amz-lex:channels:platform": "Facebook",
        "x-amz-lex:channel-type": "Facebook",
        "x-amz-lex:user-id": psid,
        "x-amz-lex:facebook-page-id": LOCAL_PAGE_ID,
        "x-bridge:no-text": '"image"',
        "x-bridge:attachments": json.dumps(
            [{"type": "image", "url": IMAGE_URL}], separators=(",", ":")
        ),
    }
    assert "sessionState" not in call.body
    assert bridge.messages(psid) == [{"text": "Lex got: image"}]


def test_the_like_sticker_sends_its_configured_text(bridge: Bridge, lex: LexServer) -> None:
    psid = "3700000000000002"
    sticker = {"url": "https://scontent.xx.fbcdn.net/like.png", "sticker_id": LIKE_STICKER}
    both_styles = [{"type": "image", "payload": sticker}, {"type": "sticker", "payload": sticker}]
    body = body_of(message(psid, "m_att_like", sticker_id=LIKE_STICKER, attachments=both_styles))
    assert bridge.post(body).ok
    bridge.wait_done("m_att_like")
    [call] = lex.calls_for(psid)
    assert call.text == "yes"
    assert json.loads(call.attributes["x-bridge:attachments"]) == [
        {
            "type": "sticker",
            "url": "https://scontent.xx.fbcdn.net/like.png",
            "sticker_id": str(LIKE_STICKER),
            "like": True,
        }
    ]
    assert bridge.messages(psid) == [{"text": "Lex got: yes"}]


def test_a_configured_kind_is_answered_by_the_bridge_without_lex(
    bridge: Bridge, lex: LexServer
) -> None:
    psid = "3700000000000003"
    audio = {"type": "audio", "payload": {"url": "https://cdn.fbsbx.com/voice.mp4"}}
    assert bridge.post(body_of(message(psid, "m_att_audio", attachments=[audio]))).ok
    bridge.wait_done("m_att_audio")
    assert lex.calls_for(psid) == []
    assert bridge.messages(psid) == [{"text": "Please type your question."}]


def test_text_with_a_reply_to_and_a_returning_referral(bridge: Bridge, lex: LexServer) -> None:
    psid = "3700000000000004"
    reply = message(psid, "m_att_reply", text="and for kids?", reply_to={"mid": "m_earlier"})
    referral = {
        "sender": {"id": psid},
        "recipient": {"id": LOCAL_PAGE_ID},
        "timestamp": START_MS + 2,
        "referral": {"ref": "flu-2026", "source": "SHORTLINK", "type": "OPEN_THREAD"},
    }
    assert bridge.post(body_of(reply, referral)).ok
    bridge.wait_done("m_att_reply")
    # The referral has no mid; its turn follows the message's.
    calls: list[LexCall] = wait_for(
        lambda: len(lex.calls_for(psid)) == 2 and lex.calls_for(psid), what="two Lex turns"
    )
    assert [call.text for call in calls] == ["and for kids?", "referral"]
    assert json.loads(calls[0].attributes["x-bridge:reply-to"]) == {
        "mid": "m_earlier",
        "is_self_reply": None,
    }
    assert json.loads(calls[1].attributes["x-bridge:referral"]) == {
        "source": "SHORTLINK",
        "type": "OPEN_THREAD",
        "ref": "flu-2026",
    }


def test_echoes_never_reach_lex_or_the_queue(bridge: Bridge, lex: LexServer) -> None:
    psid, staffed = "3700000000000005", "3700000000000006"

    def echo(to: str, app_id: int, mid: str) -> dict[str, object]:
        return {
            "sender": {"id": LOCAL_PAGE_ID},
            "recipient": {"id": to},
            "timestamp": START_MS + 3,
            "message": {"is_echo": True, "app_id": app_id, "mid": mid, "text": "hello"},
        }

    own = echo(psid, 1517776481860111, "m_echo_app")
    assert bridge.post(body_of(own, text(psid, "after the echo", "m_echo_after", ts=5))).ok
    bridge.wait_done("m_echo_after")
    assert [call.text for call in lex.calls_for(psid)] == ["after the echo"]
    # A person at the Page wrote from the Page Inbox: the bot stays out of that conversation.
    inbox = echo(staffed, PAGE_INBOX_APP_ID, "m_echo_inbox")
    assert bridge.post(body_of(inbox, text(staffed, "thanks", "m_echo_staffed", ts=5))).ok
    wait_for(lambda: bridge.state("m_echo_staffed") == "dropped", timeout=30, what="dropped")
    assert lex.calls_for(staffed) == []
    assert bridge.state("m_echo_inbox") is None and bridge.state("m_echo_app") is None
