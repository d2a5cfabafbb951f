"""Never a 500 for a signed body: generated Meta-shaped deliveries, and mutations of their
types, ranges, depths, sizes and Unicode, through the parser and through the webhook (which
commits what it accepts to a real SQLite queue)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.app import create_app
from bridge.config.localmode import LOCAL_APP_SECRET
from bridge.config.settings import Settings
from bridge.messenger import events
from bridge.messenger.events.fields import MILLIS_MAX
from bridge.messenger.graph import GraphClient
from bridge.messenger.signature import sign
from bridge.queue.sqlite.store import SqliteQueue
from bridge.web.webhook import to_new_job
from tests.conftest import ScriptedBot
from tests.support.ids import PAGE_ID

# Odd values Meta never sends but a body may hold: every JSON type, extreme numbers, Unicode
# outside the BMP, lone surrogates (valid JSON escapes), NUL, very long strings.
odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, 2**64, 10**30, 1e308, -1e308, 1e-300]),
)
odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud800", "👍🏽", "안녕", "a" * 5000, "1700000000"]),
)
scalars = st.one_of(st.none(), st.booleans(), odd_numbers, odd_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def field(proper: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the proper value, sometimes anything at all."""
    return st.one_of(proper, proper, proper, json_values)


ids = field(st.from_regex(r"[1-9][0-9]{0,16}", fullmatch=True))
millis = field(st.integers(min_value=0, max_value=2**64))
# Where a person came from: an ad's context data is a map whose keys are Meta's to choose.
referral = st.fixed_dictionaries(
    {"source": field(st.sampled_from(["ADS", "SHORTLINK"])), "type": field(odd_text)},
    optional={
        "ref": field(odd_text),
        "ads_context_data": field(st.dictionaries(odd_text, scalars)),
    },
)
message = st.fixed_dictionaries(
    {"mid": field(st.text(min_size=1, max_size=20)), "text": field(odd_text)},
    optional={
        "quick_reply": field(st.fixed_dictionaries({"payload": field(odd_text)})),
        "attachments": field(
            st.lists(
                st.fixed_dictionaries(
                    {"type": field(st.sampled_from(["image", "location", "file", "x"]))},
                    optional={"payload": json_values},
                ),
                max_size=2,
            )
        ),
        "is_echo": field(st.booleans()),
        "referral": field(referral),
    },
)
event = st.one_of(
    st.fixed_dictionaries({"message": field(message)}),
    st.fixed_dictionaries({"postback": field(st.fixed_dictionaries({"payload": field(odd_text)}))}),
    st.fixed_dictionaries({"referral": field(referral)}),
    st.dictionaries(odd_text, json_values, max_size=2),  # an event kind nobody knows
)
item = st.tuples(
    st.fixed_dictionaries(
        {
            "sender": field(st.fixed_dictionaries({"id": ids})),
            "recipient": field(st.fixed_dictionaries({"id": st.just(PAGE_ID)})),
            "timestamp": millis,
        }
    ),
    event,
).map(lambda parts: {**parts[0], **parts[1]})
entry = st.fixed_dictionaries(
    {"id": field(st.just(PAGE_ID)), "time": millis, "messaging": field(st.lists(item, max_size=3))}
)
deliveries = st.one_of(
    st.fixed_dictionaries(
        {"object": field(st.just("page")), "entry": field(st.lists(entry, max_size=3))}
    ),
    json_values,
)


def signed_headers(body: bytes) -> dict[str, str]:
    """Signed with local mode's app secret, as the client below is a local-mode app."""
    return {"X-Hub-Signature-256": sign(LOCAL_APP_SECRET, body), "Content-Type": "application/json"}


def encode(value: Any) -> bytes:
    # As JSON allows it and Python writes it (NaN and Infinity included, lone surrogates kept).
    return json.dumps(value, ensure_ascii=True).encode()


@given(deliveries)
@settings(max_examples=500, deadline=None)
def test_the_parser_takes_anything_and_gives_storable_events(value: Any) -> None:
    parsed = events.parse_webhook(json.loads(encode(value)), app_id=None, pages=None)
    for found in parsed.events:
        assert 0 <= found.timestamp < MILLIS_MAX
        job = to_new_job(found, now=1_700_000_000.0)
        assert 0 < job.order_ts < MILLIS_MAX  # fits SQLite's integers
        job.payload.encode("utf-8")  # SQLite stores text as UTF-8: no lone surrogate left
        assert events.from_json(job.payload) == found or _has_nan(found)


def _has_nan(value: Any) -> bool:
    text = events.to_json(value)
    return "NaN" in text


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, graph_module: GraphClient) -> FlaskClient:
    path = Path(tmp_path_factory.mktemp("props")) / "q.db"
    test_settings = Settings.from_env(
        {"BRIDGE_MODE": "local", "FB_PAGE_ID": PAGE_ID, "BRIDGE_DB": str(path)}
    )
    app = create_app(test_settings, queue=SqliteQueue(path), bot=ScriptedBot(), graph=graph_module)
    return app.test_client()


@pytest.fixture(scope="module")
def graph_module() -> GraphClient:
    return GraphClient(
        base_url="http://127.0.0.1:9", version="v25.0", page_token="t", app_secret="s", timeout=1
    )


@given(deliveries)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_signed_body_gets_200_or_400_never_a_5xx(client: FlaskClient, value: Any) -> None:
    body = encode(value)
    response = client.post("/webhook", data=body, headers=signed_headers(body))
    assert response.status_code in (200, 400), response.get_data(as_text=True)


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
def test_json_nested_too_deep_is_a_400(client: FlaskClient, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 400


@pytest.mark.parametrize(
    "timestamp", ["NaN", "Infinity", "-Infinity", "1e400", "-1e308", "-5", "9" * 30]
)
def test_odd_timestamps_are_taken_as_absent(client: FlaskClient, timestamp: str) -> None:
    mid = f"m_odd_{len(timestamp)}_{timestamp[:3]}"
    item = (
        f'{{"sender":{{"id":"7"}},"recipient":{{"id":"{PAGE_ID}"}},"timestamp":{timestamp},'
        f'"message":{{"mid":"{mid}","text":"hi"}}}}'
    )
    entry = f'{{"id":"{PAGE_ID}","time":{timestamp},"messaging":[{item}]}}'
    body = f'{{"object":"page","entry":[{entry}]}}'.encode()
    assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 200
    queue = client.application.extensions["bridge"].queue
    assert queue.state_of(mid) == "queued"  # ordered by its arrival instead


@pytest.mark.parametrize("key", ["\ud800", "ad_title\udfff", "a\ud83db"])
def test_a_lone_surrogate_in_an_ad_context_key_is_stored_not_a_500(
    client: FlaskClient, key: str
) -> None:
    # The ad's context data is kept as (key, value) pairs: the keys are read as text too.
    mid = f"m_ad_key_{len(key)}_{key.isascii()}"
    referral = {"source": "ADS", "type": "OPEN_THREAD", "ads_context_data": {key: "Flu shots"}}
    message = {"mid": mid, "text": "hi", "referral": referral}
    item = {"sender": {"id": "7"}, "recipient": {"id": PAGE_ID}, "timestamp": 1, "message": message}
    body = encode({"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [item]}]})
    assert client.post("/webhook", data=body, headers=signed_headers(body)).status_code == 200
    assert client.application.extensions["bridge"].queue.state_of(mid) == "queued"
