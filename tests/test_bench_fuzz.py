"""The fuzz command's parts that need no server: the mutations, the cases made from them, the
reading of the server's log and the verdict (``python -m bench.fuzz``; the run itself is in
tests/e2e/test_bench_fuzz_e2e.py)."""

from __future__ import annotations

import json
import random
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest

from bench.fuzz import corruption, mutations
from bench.fuzz.cases import (
    FRESH_PSIDS,
    REFUSED,
    SIGNED,
    TOO_LARGE,
    WEIGHTS,
    Case,
    Corpus,
    at_limit,
    freshen,
    load_corpus,
    make_case,
)
from bench.fuzz.logscan import LogReport, scan_log
from bench.fuzz.mutations import Doc, encode, slots
from bench.fuzz.report import Server, failure_lines, kind_table, problems, status_table
from bench.fuzz.sender import NO_ANSWER, Outcome, send_all
from bridge.messenger.signature import SIGNATURE_HEADER, is_valid_signature
from tests.support.servers import http_server

NOW = 1_796_000_000_000
SECRET = "fuzz-test-secret"
LIMIT = 64 * 1024
BODY = {"object": "page", "entry": [{"id": "1", "time": 5, "messaging": [{"text": "hi"}]}]}


def doc() -> Doc:
    return Doc([json.loads(json.dumps(BODY))])


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(NOW)


# --- mutations ---------------------------------------------------------------------------------


def test_slots_are_every_place_holding_a_value_depth_first() -> None:
    paths = [path for _, _, path in slots(Doc([{"a": [1, {"b": None}], "c": "x"}]))]
    assert paths == ["$", "$.a", "$.a[0]", "$.a[1]", "$.a[1].b", "$.c"]
    assert [path for _, _, path in slots(doc(), lambda v: isinstance(v, int))] == [
        "$.entry[0].time"
    ]


def test_raw_fragments_replace_their_placeholders_even_inside_each_other() -> None:
    tree = doc()
    inner = tree.splice(b"1e400")
    tree.holder[0]["entry"][0]["time"] = tree.splice(b'{"a":"' + inner.encode() + b'","a":-0}')
    assert b'"time":{"a":1e400,"a":-0}' in encode(tree)
    assert json.loads(encode(tree))["entry"][0]["time"] == {"a": 0}  # the last key wins


@pytest.mark.parametrize("value", ["page", 7, 2.5, None, True, [1], {"a": 1}])
def test_another_type_is_never_the_same_type(value: object) -> None:
    for seed in range(40):
        assert type(mutations.other_type(random.Random(seed), value)) is not type(value)


def test_every_raw_number_but_the_longest_is_json_python_reads() -> None:
    for raw in mutations.RAW_NUMBERS[:-1]:
        json.loads(raw)
    with pytest.raises(ValueError):  # past Python's 4,300 digits
        json.loads(mutations.RAW_NUMBERS[-1])


def test_a_lone_surrogate_is_an_escape_as_meta_writes_and_invalid_utf8_otherwise() -> None:
    tree = doc()
    tree.holder[0]["entry"][0]["messaging"][0]["text"] = "a\ud800"
    assert b'"text":"a\\ud800"' in encode(tree)
    raw = encode(tree, meta=False)
    assert b"a\xed\xa0\x80" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_depth_nests_a_value_as_deep_as_it_says() -> None:
    for seed in range(30):
        tree = doc()
        note = mutations.change_depth(random.Random(seed), tree)
        depth = int(note.split(" in ")[1].split()[0])
        opening = b"[" * depth if note.endswith("lists") else b'{"a":' * depth
        assert opening in encode(tree)


def test_a_repeated_list_stays_under_the_size_cap() -> None:
    for seed in range(30):
        tree = Doc([{"list": ["x" * 10_000]}])
        mutations.change_size(random.Random(seed), tree)
        assert len(encode(tree)) < mutations.SIZE_CAP + 100_000 * 12


def test_a_body_that_is_not_json_is_read_by_no_json_reader() -> None:
    for seed in range(500):
        body, note = corruption.not_json(random.Random(seed), json.dumps(BODY).encode())
        with pytest.raises(ValueError):  # UnicodeDecodeError is a ValueError too
            json.loads(body)
            pytest.fail(note)


def test_corruption_is_deterministic_and_other_encodings_still_read() -> None:
    data = json.dumps(BODY).encode()
    assert corruption.corrupt(random.Random(3), data) == corruption.corrupt(random.Random(3), data)
    notes = {corruption.corrupt(random.Random(seed), data)[1].split()[1] for seed in range(200)}
    assert {"truncated", "as"} <= notes
    for codec in ("utf-8-sig", "utf-16", "utf-32"):
        assert json.loads(data.decode().encode(codec)) == BODY  # json.loads detects these


# --- cases -------------------------------------------------------------------------------------


def test_the_corpus_is_the_fixture_bodies_retimed_to_now(corpus: Corpus) -> None:
    assert "text" in corpus.names and not any(n.endswith(".expected") for n in corpus.names)
    [entry] = json.loads(corpus.bodies[corpus.names.index("text")])["entry"]
    assert entry["time"] == NOW > entry["messaging"][0]["timestamp"] > NOW - 1000  # gaps kept


def test_a_case_is_the_same_every_time_and_signed_as_its_kind_says(corpus: Corpus) -> None:
    kinds: Counter[str] = Counter()
    for index in range(1000):
        case = make_case(corpus, 7, index, secret=SECRET, limit=LIMIT)
        assert case == make_case(corpus, 7, index, secret=SECRET, limit=LIMIT)
        kinds[case.kind] += 1
        valid = is_valid_signature(SECRET, case.body, case.signature)
        assert valid is (case.kind not in ("unsigned", "bad_signature"))
        assert (case.signature is None) is (case.kind == "unsigned")
        if len(case.body) > LIMIT:
            assert case.expected == TOO_LARGE
        elif not valid:
            assert case.expected == REFUSED
        elif case.kind == "limit":
            assert case.expected == {200}
        elif case.kind != "not_json":
            assert case.expected == SIGNED
    assert set(kinds) == set(WEIGHTS)
    signed = sum(n for kind, n in kinds.items() if kind not in ("unsigned", "bad_signature"))
    assert signed / 1000 > 0.9  # the point is to get past the signature


def test_a_fresh_case_is_a_new_person_with_mids_of_its_own(corpus: Corpus) -> None:
    batch = json.loads(freshen(corpus.bodies[corpus.names.index("batch")], 42))
    items = [item for entry in batch["entry"] for item in entry["messaging"]]
    assert {item["sender"]["id"] for item in items} == {str(FRESH_PSIDS + 42)}
    mids = [item[k]["mid"] for item in items for k in ("message", "postback") if k in item]
    assert len(mids) == 4 and all(mid.startswith("m_fuzz42_m_") for mid in mids)
    [entry] = json.loads(freshen(corpus.bodies[corpus.names.index("echo")], 42))["entry"]
    assert entry["messaging"][0]["sender"]["id"] == entry["id"]  # an echo's sender: the Page


def test_bodies_at_the_limit_are_just_under_at_or_over_it(corpus: Corpus) -> None:
    base = corpus.bodies[corpus.names.index("text")]
    sizes = {len(at_limit(random.Random(seed), base, LIMIT)[0]) for seed in range(60)}
    assert sizes == {LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 1000, 2 * LIMIT}
    body, _ = at_limit(random.Random(0), base, LIMIT)
    assert json.loads(body)["object"] == "page"  # still the delivery, padded


# --- sending -----------------------------------------------------------------------------------


class DropsEverySecondRequest(BaseHTTPRequestHandler):
    """Answers a connection's first request, then closes it under the second unanswered (a
    kept-alive connection the server closed while the client sent on it)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.served = getattr(self, "served", 0) + 1
        if self.served > 1:
            self.close_connection = True
            return
        status = 403 if SIGNATURE_HEADER not in self.headers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_request_on_a_connection_the_server_closed_is_sent_again_once() -> None:
    def make(index: int) -> Case:
        signature = None if index == 3 else "sha256=00"
        return Case(index, "type", "text", b"{}", signature, SIGNED, "note")

    with http_server(DropsEverySecondRequest) as url:
        sent = send_all(url, make, list(range(10)), connections=1, progress=False)
    assert [(o.index, o.status) for o in sent.finished()] == [
        (i, 403 if i == 3 else 200) for i in range(10)
    ]
    assert sent.resent == 9  # each connection serves one request and drops the next


# --- the log -----------------------------------------------------------------------------------


def line(level: str, message: str, **extra: object) -> str:
    return json.dumps({"time": "t", "level": level, "logger": "x", "message": message, **extra})


def test_the_log_is_counted_by_level_with_tracebacks_errors_and_boots() -> None:
    text = "\n".join(
        [
            line("INFO", "Booting worker with pid: 10"),
            line("INFO", "Booting worker with pid: 11"),
            line("WARNING", "odd \u2028 but one line"),
            line("ERROR", "bot failed", job_id=1, error="config: bad id"),
            line("ERROR", "bot failed", job_id=2, error="config: bad id"),
            line("ERROR", "unhandled error", exception="Traceback (most recent call last):\nX: y"),
            "Traceback (most recent call last):",
            "2026-12-02 17:00:00,000 CRITICAL gunicorn.error: WORKER TIMEOUT (pid:10)",
        ]
    )
    report = scan_log(text, {})
    assert report.lines == 8
    assert report.levels == Counter(INFO=2, WARNING=1, ERROR=3, CRITICAL=1, other=1)
    assert len(report.tracebacks) == 2 and report.boots == 2
    assert report.errors == Counter(
        {
            "x: bot failed (config: bad id)": 2,
            "x: unhandled error (X: y)": 1,
            "CRITICAL gunicorn.error: WORKER TIMEOUT (pid:10)": 1,
        }
    )


def test_a_secret_is_found_as_it_is_and_as_json_escapes_it() -> None:
    secret = 'se"cret\\1'
    assert scan_log(line("INFO", secret), {"FB_APP_SECRET": secret}).leaks == ["FB_APP_SECRET"]
    assert scan_log(f"raw {secret}", {"S": secret}).leaks == ["S"]
    assert scan_log(line("INFO", "[redacted]"), {"S": secret}).leaks == []


# --- the report --------------------------------------------------------------------------------


def outcome(index: int, kind: str, status: int, expected: frozenset[int] = SIGNED) -> Outcome:
    return Outcome(index, kind, "text", 10, "range $.x ← 1e400", expected, status)


OUTCOMES = [
    outcome(0, "type", 200),
    outcome(1, "type", 400),
    outcome(2, "range", 200),
    outcome(3, "unsigned", 403, REFUSED),
]
HEALTHY = Server(healthz=200, alive=True, workers=2)


def test_the_status_and_kind_tables() -> None:
    assert status_table(OUTCOMES) == [
        "status         count    share",
        "200                2   50.00%",
        "400                1   25.00%",
        "403                1   25.00%",
    ]
    assert kind_table(OUTCOMES) == [
        "kind                  200       400       403",
        "type                    1         1         ·",
        "range                   1         ·         ·",
        "unsigned                ·         ·         1",
    ]


def test_a_run_that_met_its_target_has_no_problems() -> None:
    assert problems(OUTCOMES, LogReport(lines=2, boots=2), HEALTHY) == []
    assert problems(OUTCOMES, None, Server(200, None, None)) == []


def test_each_way_to_miss_the_target_is_named() -> None:
    failed = [
        *OUTCOMES,
        outcome(4, "unicode", 500),
        outcome(5, "bytes", NO_ANSWER),
        outcome(6, "unsigned", 200, REFUSED),
    ]
    boot = line("INFO", "Booting worker with pid: 1")
    text = "\n".join([boot, boot, boot, "Traceback (most recent call last):", SECRET])
    log = scan_log(text, {"FB_APP_SECRET": SECRET, "FB_VERIFY_TOKEN": "not-in-it"})
    assert problems(failed, log, Server(healthz=NO_ANSWER, alive=False, workers=2)) == [
        "1 answers were 5xx",
        "2 answers were not what their case expects",
        "1 tracebacks in the log",
        "1 workers restarted (3 boots)",
        "secrets in the log: FB_APP_SECRET",
        "the server process is not running",
        "/healthz answered no answer",
    ]


def test_each_failed_case_says_how_to_send_it_again() -> None:
    failed = [outcome(i, "range", 500) for i in range(3)]
    lines = failure_lines(failed, lambda i: f"python -m bench.fuzz --replay {i}", shown=2)
    assert lines == [
        "#0 range: 500 (expected 200/400), 10 bytes from text: range $.x ← 1e400",
        "    again: python -m bench.fuzz --replay 0",
        "#1 range: 500 (expected 200/400), 10 bytes from text: range $.x ← 1e400",
        "    again: python -m bench.fuzz --replay 1",
        "… and 1 more",
    ]
