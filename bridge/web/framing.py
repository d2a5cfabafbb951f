"""Where an HTTP/1.1 request ends in the bytes received so far: pure, no I/O.

The server reads each request whole before a thread takes it (``bridge.web.worker``), so a
client that trickles its headers or body holds a buffer, never a thread. ``request_end`` says
how many bytes make the first request, or that more must arrive. It only frames the request;
the server's own parser still reads and checks it. Whatever it cannot frame (a malformed
header block, a bad chunk size) or what is over a limit is handed over as it is, for the server
to answer 400, 413 or 431 without reading further: the body limit is ``max_body`` plus one
byte, so the application sees that a body is too long.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER_END = b"\r\n\r\n"
WEBHOOK_POST = (b"POST /webhook HTTP/1.", b"POST /webhook?")
CHUNKED = -1  # the body's framing is chunked, not a length


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest header block and body worth waiting for (a chunked body is handed over
    once one byte more than ``body_bytes`` is here)."""

    header_bytes: int = 64 * 1024
    body_bytes: int = 1024 * 1024


def request_end(data: bytes, limits: Limits) -> int | None:
    """How many bytes of ``data`` to hand over for its first request (all of it, when the
    request is too large or malformed and more would not help), or None if more must arrive."""
    head_end = data.find(HEADER_END, 0, limits.header_bytes + len(HEADER_END))
    if head_end < 0:
        return len(data) if len(data) > limits.header_bytes else None
    body_start = head_end + len(HEADER_END)
    framing = _body_framing(data[:head_end])
    if framing is None:  # malformed: the server answers 400
        return len(data)
    if framing == CHUNKED:
        return _chunked_end(data, body_start, limits.body_bytes)
    if framing > limits.body_bytes:  # declared too long: the application answers 413
        return body_start
    end = body_start + framing
    return end if len(data) >= end else None


def is_whole_webhook_post(data: bytes, end: int, limits: Limits) -> bool:
    """Whether the first request of ``data``, ``end`` bytes long (``request_end``), is a
    ``POST /webhook`` whose headers and body (a declared length within the limit) are all in
    those bytes: one the server can answer without reading from its client again."""
    if not data.startswith(WEBHOOK_POST):
        return False
    head_end = data.find(HEADER_END, 0, min(end, limits.header_bytes + len(HEADER_END)))
    if head_end < 0:
        return False
    length = _body_framing(data[:head_end])
    if length is None or length == CHUNKED or length > limits.body_bytes:
        return False
    return end == head_end + len(HEADER_END) + length


def _body_framing(head: bytes) -> int | None:
    """The body's declared length, ``CHUNKED``, or None if the headers contradict."""
    lengths: set[bytes] = set()
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        name = name.strip().lower()
        if name == b"content-length":
            lengths.add(value.strip())
        elif name == b"transfer-encoding":
            chunked = chunked or b"chunked" in value.lower()
    if chunked:
        return CHUNKED
    if not lengths:
        return 0
    if len(lengths) > 1:
        return None
    (length,) = lengths
    return int(length) if length.isdigit() and len(length) <= 18 else None


def _chunked_end(data: bytes, start: int, body_bytes: int) -> int | None:
    """The end of a chunked body starting at ``start`` (and its trailers), or None."""
    position, body = start, 0
    while True:
        line_end = data.find(b"\r\n", position, position + 1024)
        if line_end < 0:
            return len(data) if len(data) - position > 1024 else None
        size_text = data[position:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return len(data)  # a bad chunk size: the server answers 400
        if size == 0:
            if data.startswith(b"\r\n", line_end + 2):
                return line_end + 4
            trailers_end = data.find(HEADER_END, line_end)
            return None if trailers_end < 0 else trailers_end + len(HEADER_END)
        chunk_start = line_end + 2
        if body + min(size, len(data) - chunk_start) > body_bytes:
            return len(data)  # more than the limit is here: the application answers 413
        body += size
        position = chunk_start + size + 2
        if len(data) < position:
            return None
