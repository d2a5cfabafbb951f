"""bridge.messenger.graph_policy: the Send API error table (messenger.md §6), backoff and
rate-limit headers."""

from __future__ import annotations

import json

import pytest

from bridge.errors import GraphError
from bridge.messenger.graph_policy import (
    Action,
    Decision,
    classify,
    retry_delay,
    throttle_delay,
    usage_retry_after,
)

RETRY, RETRY_ONCE, THROTTLE = Action.RETRY, Action.RETRY_ONCE, Action.THROTTLE
DROP, PAUSE, ASSUME_SENT = Action.DROP, Action.PAUSE, Action.ASSUME_SENT
NOT_OWNER = Action.NOT_OWNER

# One row per line of messenger.md §6 (plus the "any/unknown subcode" cases the brief names),
# in the document's order: (code, subcode, expected action).
SECTION_6 = [
    pytest.param(1200, None, RETRY, id="1200-temporary-send-failure"),
    pytest.param(1, None, RETRY, id="1-no-subcode"),
    pytest.param(1, 12345, RETRY, id="1-unknown-subcode"),
    pytest.param(1, 99, PAUSE, id="1/99-missing-permission"),
    pytest.param(1, 1357046, ASSUME_SENT, id="1/1357046-may-already-be-sent"),
    pytest.param(2, None, RETRY, id="2-temporary-downtime"),
    pytest.param(2, 12345, RETRY, id="2-any-subcode"),
    pytest.param(4, None, THROTTLE, id="4-app-request-limit"),
    pytest.param(4, 1349210, THROTTLE, id="4-any-subcode"),
    pytest.param(17, None, THROTTLE, id="17-user-request-limit"),
    pytest.param(32, None, THROTTLE, id="32-page-request-limit"),
    pytest.param(613, None, THROTTLE, id="613-rate-limit"),
    pytest.param(613, 2534040, THROTTLE, id="613/2534040-rate-limit"),
    pytest.param(613, 2018338, THROTTLE, id="613/2018338-tagged-message-rate"),
    pytest.param(80000, None, THROTTLE, id="80000-buc-low-edge"),
    pytest.param(80004, None, THROTTLE, id="80004-buc"),
    pytest.param(80006, 2446079, THROTTLE, id="80006-buc-with-subcode"),
    pytest.param(80999, None, THROTTLE, id="80999-buc-high-edge"),
    pytest.param(341, None, THROTTLE, id="341-application-limit"),
    pytest.param(368, None, PAUSE, id="368-policy-block"),
    pytest.param(368, 1390008, PAUSE, id="368-any-subcode"),
    pytest.param(10, 2018278, DROP, id="10/2018278-outside-window"),
    pytest.param(10, 2534022, DROP, id="10/2534022-outside-window"),
    pytest.param(10, 2018065, DROP, id="10/2018065-news-messaging"),
    pytest.param(10, 2018108, DROP, id="10/2018108-cannot-receive"),
    pytest.param(10, 1893063, PAUSE, id="10/1893063-page-restricted"),
    pytest.param(100, 2018001, DROP, id="100/2018001-no-matching-user"),
    pytest.param(100, None, DROP, id="100-invalid-parameter"),
    pytest.param(100, 2018109, DROP, id="100/2018109-attachment-too-large"),
    pytest.param(100, 2018008, RETRY_ONCE, id="100/2018008-attachment-fetch"),
    pytest.param(100, 2018047, RETRY_ONCE, id="100/2018047-attachment-upload"),
    pytest.param(100, 2018294, RETRY_ONCE, id="100/2018294-video-timeout"),
    pytest.param(100, 12345, DROP, id="100-unknown-subcode"),
    pytest.param(100, 2534037, NOT_OWNER, id="100/2534037-not-thread-owner"),
    pytest.param(2018300, None, NOT_OWNER, id="2018300-another-app-controls"),
    pytest.param(10, 2018300, NOT_OWNER, id="subcode-2018300-another-app-controls"),
    pytest.param(200, 2018300, NOT_OWNER, id="200/2018300-another-app-controls"),
    pytest.param(2018321, None, RETRY, id="2018321-automated-qa-flow"),
    pytest.param(190, None, PAUSE, id="190-token-invalid"),
    pytest.param(190, 460, PAUSE, id="190/460-password-changed"),
    pytest.param(190, 463, PAUSE, id="190/463-token-expired"),
    pytest.param(200, None, PAUSE, id="200-permission-error"),
    pytest.param(200, 2018028, PAUSE, id="200/2018028-app-not-live"),
    pytest.param(200, 12345, PAUSE, id="200-other-subcode"),
    pytest.param(200, 1545041, DROP, id="200/1545041-person-not-available"),
    pytest.param(551, None, DROP, id="551-person-not-available"),
    pytest.param(551, 1545041, DROP, id="551/1545041-person-not-available"),
    pytest.param(230, None, DROP, id="230-permissions-disallow"),
    pytest.param(10, None, PAUSE, id="10-permission-denied"),
    pytest.param(10, 12345, PAUSE, id="10-unknown-subcode"),
    pytest.param(2022, None, PAUSE, id="2022-commerce-disabled"),
]


def _error(
    status: int | None = 400,
    code: int | None = None,
    subcode: int | None = None,
    message: str = "Graph error",
) -> GraphError:
    return GraphError(message, status=status, code=code, subcode=subcode, fbtrace_id="AbCdEf123")


def _ref(code: int, subcode: int | None) -> str:
    return str(code) if subcode is None else f"{code}/{subcode}"


@pytest.mark.parametrize(("code", "subcode", "action"), SECTION_6)
def test_section_6_row_maps_to_its_action(code: int, subcode: int | None, action: Action) -> None:
    assert classify(_error(code=code, subcode=subcode)).action is action


@pytest.mark.parametrize(("code", "subcode", "action"), SECTION_6)
def test_reason_names_the_code_and_nothing_from_the_message(
    code: int, subcode: int | None, action: Action
) -> None:
    error = _error(code=code, subcode=subcode, message="Hello Alice, your order 42")
    decision = classify(error)
    assert f"({_ref(code, subcode)})" in decision.reason
    assert "Alice" not in decision.reason
    assert "AbCdEf123" not in decision.reason
    assert classify(error) == decision  # stable


@pytest.mark.parametrize(
    ("code", "subcode", "reason"),
    [
        (10, 2018278, "outside the 24-hour window (10/2018278)"),
        (190, None, "access token invalid or expired (190)"),
        (613, None, "rate limited (613)"),
        (2, None, "transient Graph error (2)"),
        (100, 2534037, "not the thread owner (100/2534037)"),
        (2018300, None, "another app controls the thread (2018300)"),
        (80004, None, "Business Use Case rate limit (80004)"),
    ],
)
def test_reason_labels(code: int, subcode: int | None, reason: str) -> None:
    assert classify(_error(code=code, subcode=subcode)).reason == reason


@pytest.mark.parametrize("code", [3, 99, 9999, 79999, 81000, 1357046])
def test_unknown_code_retries(code: int) -> None:
    assert classify(_error(code=code)) == Decision(RETRY, f"unrecognised Graph error ({code})")


def test_timeout_or_connection_error_retries() -> None:
    decision = classify(GraphError("timed out: ReadTimeout"))
    assert decision == Decision(RETRY, "Graph unreachable (timeout or connection error)")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_without_graph_code_retries(status: int) -> None:
    assert classify(_error(status=status)) == Decision(RETRY, f"Graph server error (HTTP {status})")


def test_http_429_throttles() -> None:
    assert classify(_error(status=429)) == Decision(THROTTLE, "rate limited (HTTP 429)")
    assert classify(_error(status=429, code=12345)).action is THROTTLE


def test_other_status_without_code_retries() -> None:
    assert classify(_error(status=404)) == Decision(RETRY, "unrecognised Graph error (HTTP 404)")


@pytest.mark.parametrize(
    ("status", "code", "subcode", "action"),
    [
        (500, 100, None, DROP),
        (500, 190, None, PAUSE),
        (503, 1, 1357046, ASSUME_SENT),
        (429, 1, 99, PAUSE),
        (None, 10, 2018278, DROP),
    ],
)
def test_a_known_graph_code_wins_over_the_status(
    status: int | None, code: int, subcode: int | None, action: Action
) -> None:
    assert classify(_error(status=status, code=code, subcode=subcode)).action is action


def test_subcode_2018300_without_a_code() -> None:
    decision = classify(_error(subcode=2018300))
    assert decision == Decision(NOT_OWNER, "another app controls the thread (?/2018300)")


# --- retry_delay ------------------------------------------------------------------------


def test_retry_delay_doubles_per_attempt() -> None:
    top = [retry_delay(n, rng=lambda: 1.0) for n in range(1, 7)]
    assert top == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def test_retry_delay_jitter_is_between_half_and_full() -> None:
    assert retry_delay(4, rng=lambda: 0.0) == 4.0
    assert retry_delay(4, rng=lambda: 0.5) == 6.0
    assert retry_delay(4, rng=lambda: 0.999) == pytest.approx(7.996)


def test_retry_delay_is_capped() -> None:
    assert retry_delay(9, rng=lambda: 1.0) == 256.0
    assert retry_delay(10, rng=lambda: 1.0) == 300.0
    assert retry_delay(10, rng=lambda: 0.0) == 150.0
    assert retry_delay(10_000, rng=lambda: 1.0) == 300.0  # no float overflow


def test_retry_delay_base_and_cap_are_parameters() -> None:
    assert retry_delay(3, rng=lambda: 1.0, base=2.0, cap=5.0) == 5.0
    assert retry_delay(2, rng=lambda: 0.0, base=2.0) == 2.0


@pytest.mark.parametrize("attempts", [0, -3])
def test_retry_delay_treats_fewer_than_one_attempt_as_one(attempts: int) -> None:
    assert retry_delay(attempts, rng=lambda: 1.0) == 1.0


# --- throttle_delay ---------------------------------------------------------------------


def _throttled(retry_after: object = None) -> GraphError:
    error = _error(code=613)
    # setattr: works whether or not GraphError declares ``retry_after``, and lets the tests
    # store values of the wrong type.
    setattr(error, "retry_after", retry_after)  # noqa: B010
    return error


def test_throttle_delay_backs_off_by_consecutive_throttles() -> None:
    tops = [throttle_delay(_throttled(), n, rng=lambda: 1.0) for n in range(1, 6)]
    assert tops == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert throttle_delay(_throttled(), 3, rng=lambda: 0.0) == 10.0


def test_throttle_delay_caps_backoff_at_15_minutes() -> None:
    assert throttle_delay(_throttled(), 8, rng=lambda: 1.0) == 640.0
    assert throttle_delay(_throttled(), 9, rng=lambda: 1.0) == 900.0
    assert throttle_delay(_throttled(), 50, rng=lambda: 0.0) == 450.0


def test_throttle_delay_works_without_a_retry_after_attribute() -> None:
    error = _error(code=4)
    if hasattr(error, "retry_after"):
        delattr(error, "retry_after")  # a GraphError from before the attribute existed
    assert throttle_delay(error, 1, rng=lambda: 0.0) == 2.5


def test_throttle_delay_uses_graphs_figure_when_longer() -> None:
    assert throttle_delay(_throttled(180.0), 1, rng=lambda: 1.0) == 180.0
    assert throttle_delay(_throttled(3600.0), 50, rng=lambda: 1.0) == 3600.0  # beyond the cap


def test_throttle_delay_uses_backoff_when_longer() -> None:
    assert throttle_delay(_throttled(2.0), 4, rng=lambda: 1.0) == 40.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -5.0, "60", True])
def test_throttle_delay_ignores_a_nonsense_retry_after(bad: object) -> None:
    assert throttle_delay(_throttled(bad), 1, rng=lambda: 1.0) == 5.0


# --- usage_retry_after ------------------------------------------------------------------

BUC_3_MIN = json.dumps(
    {
        "1234567890": [
            {
                "type": "messenger",
                "call_count": 100,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 3,
            }
        ]
    }
)


def test_buc_estimated_time_is_minutes() -> None:
    headers = {
        "X-Business-Use-Case-Usage": '{"1234567890":[{"type":"messenger","call_count":100,'
        '"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":3}]}'
    }
    assert usage_retry_after(headers) == 180.0


def test_buc_takes_the_largest_entry_across_businesses() -> None:
    usage = {
        "111": [
            {"type": "messenger", "estimated_time_to_regain_access": 1},
            {"type": "pages", "estimated_time_to_regain_access": 7},
        ],
        "222": [{"type": "messenger", "estimated_time_to_regain_access": 2.5}],
    }
    assert usage_retry_after({"X-Business-Use-Case-Usage": json.dumps(usage)}) == 420.0


def test_buc_zero_means_no_wait() -> None:
    usage = {"1": [{"type": "messenger", "call_count": 40, "estimated_time_to_regain_access": 0}]}
    assert usage_retry_after({"X-Business-Use-Case-Usage": json.dumps(usage)}) is None


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), ("1.5", 1.5), (" 30 ", 30.0)])
def test_retry_after_seconds(value: str, seconds: float) -> None:
    assert usage_retry_after({"Retry-After": value}) == seconds


def test_retry_after_zero_means_no_wait() -> None:
    assert usage_retry_after({"Retry-After": "0"}) is None


@pytest.mark.parametrize(
    "field", ["call_count", "total_cputime", "total_time"], ids=lambda f: f"app-{f}"
)
def test_app_usage_at_100_percent_waits_a_minute(field: str) -> None:
    usage = {"call_count": 12, "total_cputime": 5, "total_time": 8} | {field: 100}
    assert usage_retry_after({"X-App-Usage": json.dumps(usage)}) == 60.0


def test_page_usage_above_100_percent_waits_a_minute() -> None:
    usage = '{"call_count":104,"total_cputime":3,"total_time":4}'
    assert usage_retry_after({"X-Page-Usage": usage}) == 60.0


def test_usage_below_100_percent_is_no_wait() -> None:
    headers = {
        "X-App-Usage": '{"call_count":99,"total_cputime":50,"total_time":98}',
        "X-Page-Usage": '{"call_count":10,"total_cputime":1,"total_time":1}',
    }
    assert usage_retry_after(headers) is None


def test_the_largest_wait_wins() -> None:
    headers = {
        "Retry-After": "90",
        "X-App-Usage": '{"call_count":100,"total_cputime":1,"total_time":1}',
        "X-Business-Use-Case-Usage": BUC_3_MIN,
    }
    assert usage_retry_after(headers) == 180.0
    assert usage_retry_after(headers | {"Retry-After": "600"}) == 600.0
    assert usage_retry_after({"Retry-After": "5", "X-App-Usage": headers["X-App-Usage"]}) == 60.0


def test_header_names_match_in_any_case() -> None:
    assert usage_retry_after({"x-business-use-case-usage": BUC_3_MIN}) == 180.0
    assert usage_retry_after({"RETRY-AFTER": "7"}) == 7.0
    assert usage_retry_after({"x-page-usage": '{"total_time":100}'}) == 60.0


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Business-Use-Case-Usage": "{not json"},
        {"X-Business-Use-Case-Usage": "[1, 2, 3]"},
        {"X-Business-Use-Case-Usage": '{"1": "nope"}'},
        {"X-Business-Use-Case-Usage": '{"1": [7, {"estimated_time_to_regain_access": "3"}]}'},
        {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": true}]}'},
        {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": 1e400}]}'},
        {"X-Business-Use-Case-Usage": "[" * 100_000},
        {"X-App-Usage": "call_count=100"},
        {"X-App-Usage": '{"call_count": "100"}'},
        {"X-Page-Usage": '{"call_count": NaN}'},
        {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"Retry-After": "soon"},
        {"Retry-After": "-30"},
        {"Retry-After": "nan"},
        {"Retry-After": "inf"},
        {"Retry-After": ""},
    ],
    ids=lambda h: next(iter(h)),
)
def test_malformed_values_are_ignored(headers: dict[str, str]) -> None:
    assert usage_retry_after(headers) is None


def test_malformed_header_does_not_hide_a_good_one() -> None:
    headers = {"X-Business-Use-Case-Usage": "{oops", "Retry-After": "45"}
    assert usage_retry_after(headers) == 45.0


def test_no_headers_means_no_wait() -> None:
    assert usage_retry_after({}) is None
    assert usage_retry_after({"Content-Type": "application/json"}) is None


def test_accepts_any_mapping() -> None:
    requests_structures = pytest.importorskip("requests.structures")
    headers = requests_structures.CaseInsensitiveDict({"Retry-After": "12"})
    assert usage_retry_after(headers) == 12.0


def test_an_invalid_appsecret_proof_pauses_the_page_instead_of_dropping_messages() -> None:
    error = GraphError(
        "Invalid appsecret_proof provided in the API argument", status=400, code=100, fbtrace_id="T"
    )
    decision = classify(error)
    assert decision.action is Action.PAUSE and "app secret" in decision.reason
    assert classify(GraphError("(#100) Invalid parameter", status=400, code=100)).action is (
        Action.DROP
    )
