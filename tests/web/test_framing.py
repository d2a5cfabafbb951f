"""Where a request ends in the bytes received so far (bridge/web/framing.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.web.framing import Limits, is_whole_webhook_post, request_end

LIMITS = Limits(header_bytes=4096, body_bytes=2000)
names = st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)
values = st.from_regex(r"[ -~]{0,40}", fullmatch=True).map(str.strip)
extra_headers = st.lists(st.tuples(names, values), max_size=6)
bodies = st.binary(max_size=1500)


def with_length(headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    head = "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    return head.encode() + body


def chunked(headers: list[tuple[str, str]], body: bytes, cuts: list[int]) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers] + ["Transfer-Encoding: chunked"]
    head = "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    out, start = [head.encode()], 0
    for cut in [*sorted(set(c % (len(body) + 1) for c in cuts)), len(body)]:
        if cut > start:
            out.append(b"%x\r\n%s\r\n" % (cut - start, body[start:cut]))
            start = cut
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def assert_frames(request: bytes) -> None:
    """No proper prefix is a whole request; the request is; what follows it is not part."""
    for size in range(len(request)):
        assert request_end(request[:size], LIMITS) is None, size
    assert request_end(request, LIMITS) == len(request)
    assert request_end(request + b"GET / HTTP/1.1\r\n", LIMITS) == len(request)


@given(extra_headers, bodies)
def test_a_request_with_a_length_ends_after_its_body(
    headers: list[tuple[str, str]], body: bytes
) -> None:
    assert_frames(with_length(headers, body))


@given(extra_headers, bodies, st.lists(st.integers(min_value=0), max_size=5))
def test_a_chunked_request_ends_after_its_last_chunk(
    headers: list[tuple[str, str]], body: bytes, cuts: list[int]
) -> None:
    assert_frames(chunked(headers, body, cuts))


def test_a_request_without_a_body_ends_with_its_headers() -> None:
    assert_frames(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")


def test_a_declared_length_over_the_limit_is_handed_over_at_once() -> None:
    head = b"POST /webhook HTTP/1.1\r\nContent-Length: 2001\r\n\r\n"
    assert request_end(head, LIMITS) == len(head)  # the application answers 413


@given(st.lists(st.integers(min_value=40, max_value=700), min_size=1, max_size=8))
def test_a_chunked_body_over_the_limit_is_handed_over_with_one_byte_too_many(
    sizes: list[int],
) -> None:
    head = b"POST /webhook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    sizes = sizes * (LIMITS.body_bytes // sum(sizes) + 2)  # more than the limit in all
    stream = head + b"".join(b"%x\r\n%s\r\n" % (size, b"a" * size) for size in sizes)
    handed = next(
        end
        for end in range(len(head), len(stream) + 1)
        if request_end(stream[:end], LIMITS) is not None
    )
    assert request_end(stream[:handed], LIMITS) == handed
    # The first moment one byte more than the limit is here, and not before.
    assert _decoded_so_far(stream[len(head) : handed]) == LIMITS.body_bytes + 1


def _decoded_so_far(data: bytes) -> int:
    total = 0
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        total += min(size, len(rest))
        data = rest[size + 2 :]
    return total


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_what_cannot_be_framed_is_handed_over_for_the_server_to_refuse(
    request_bytes: bytes,
) -> None:
    assert request_end(request_bytes, LIMITS) == len(request_bytes)


def test_headers_over_their_limit_are_handed_over() -> None:
    head = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 5000
    assert request_end(head, LIMITS) == len(head)
    assert request_end(head[:4000], LIMITS) is None


def whole_webhook_post(request: bytes) -> bool:
    end = request_end(request, LIMITS)
    return end is not None and is_whole_webhook_post(request, end, LIMITS)


@given(
    extra_headers, bodies, st.sampled_from(["", "?hub.mode=x", "?a=1&b=2"]), st.binary(max_size=80)
)
def test_a_webhook_post_with_its_whole_body_can_be_answered_without_reading_again(
    headers: list[tuple[str, str]], body: bytes, query: str, after: bytes
) -> None:
    request = with_length(headers, body).replace(b"/webhook", b"/webhook" + query.encode(), 1)
    assert whole_webhook_post(request + after)  # pipelined bytes behind it are not its own
    for size in range(len(request)):
        assert not whole_webhook_post(request[:size])


@given(extra_headers, bodies, st.lists(st.integers(0, 1500), max_size=4))
def test_a_chunked_webhook_post_goes_to_a_thread(
    headers: list[tuple[str, str]], body: bytes, cuts: list[int]
) -> None:
    assert not whole_webhook_post(chunked(headers, body, cuts))


@pytest.mark.parametrize(
    "line",
    [
        b"GET /webhook HTTP/1.1",
        b"POST /webhooks HTTP/1.1",
        b"POST /webhook/ HTTP/1.1",
        b"POST /send HTTP/1.1",
        b"POST http://x/webhook HTTP/1.1",
        b"post /webhook HTTP/1.1",
        b"POST  /webhook HTTP/1.1",
    ],
)
def test_only_a_post_to_the_webhook_path_is_answered_on_the_loop(line: bytes) -> None:
    request = with_length([], b"{}")
    assert whole_webhook_post(request)
    assert not whole_webhook_post(request.replace(b"POST /webhook HTTP/1.1", line, 1))


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /webhook HTTP/1.1\r\nContent-Length: 2001\r\n\r\n",  # over the body limit
        b"POST /webhook HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
        b"POST /webhook HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n",
    ],
)
def test_a_webhook_post_the_server_refuses_goes_to_a_thread(request_bytes: bytes) -> None:
    assert not whole_webhook_post(request_bytes)
