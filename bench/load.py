"""Closed-loop load for ``POST /webhook``: pre-signed bodies over keep-alive connections.

Each connection owns its own senders and sends, one request at a time, a burst of
``burst`` back-to-back messages from one sender (increasing timestamps, unique mids, the
text is the mid), then moves to its next sender. A sender's messages are therefore acked in
order, so the order its replies arrive in can be checked against the ack order.

Per request it records the wall-clock send time (``time.time()``, compared with the Graph
fake's arrival times: same host) and the ack latency. asyncio over raw sockets: Debian's
``wrk`` is not required.

``run_open_loop`` is the other mode: requests start at a fixed rate whatever the server does
(latency at light load); each latency counts from the moment its request was due, so a
stalled server is not hidden by requests that were never sent (coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field

from bridge.messenger.signature import sign

PSID_BASE = 7_000_000_000_000_000


@dataclass(frozen=True)
class Message:
    mid: str
    sender: str
    request: bytes  # the whole HTTP request, signed


@dataclass
class Sent:
    mid: str
    sender: str
    sent_at: float  # time.time() when the request was written
    latency: float  # seconds until the whole response was read
    status: int


@dataclass
class LoadResult:
    sent: list[Sent] = field(default_factory=list)
    errors: int = 0  # connection errors (the request's fate is unknown)
    exhausted: int = 0  # connections that ran out of pre-signed bodies
    started: float = 0.0
    ended: float = 0.0

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def acked(self) -> list[Sent]:
        return [s for s in self.sent if s.status == 200]


def make_messages(
    connections: int,
    per_connection: int,
    *,
    secret: str,
    page_id: str,
    burst: int = 4,
    senders: int | None = None,
) -> list[list[Message]]:
    """Signed webhook requests, a list per connection, in the order they are to be sent.

    Each burst comes from a new sender, or, with ``senders``, from the connection's
    ``senders`` senders in turn (a bounded set of people, each with many messages)."""
    now_ms = int(time.time() * 1000)
    tick = 0
    plan: list[list[Message]] = []
    for conn in range(connections):
        messages: list[Message] = []
        for index in range(per_connection):
            turn, position = divmod(index, burst)
            user = turn if senders is None else turn % senders
            sender = str(PSID_BASE + conn * 1_000_000 + user)
            mid = f"m_bench.{conn}.{turn}.{position}"
            tick += 1
            item = {
                "sender": {"id": sender},
                "recipient": {"id": page_id},
                "timestamp": now_ms + tick,
                "message": {"mid": mid, "text": mid},
            }
            body = json.dumps(
                {"object": "page", "entry": [{"id": page_id, "time": now_ms, "messaging": [item]}]}
            ).encode()
            head = (
                "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"X-Hub-Signature-256: {sign(secret, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            messages.append(Message(mid, sender, head.encode() + body))
        plan.append(messages)
    return plan


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status code, and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def _connection(
    port: int, messages: list[Message], deadline: float, result: LoadResult, repeat: bool
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    for message in itertools.cycle(messages) if repeat else messages:
        if time.perf_counter() >= deadline:
            break
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent_at, start = time.time(), time.perf_counter()
            writer.write(message.request)
            status, close = await read_response(reader)
            latency = time.perf_counter() - start
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        result.sent.append(Sent(message.mid, message.sender, sent_at, latency, status))
        if close:
            writer.close()
            reader = writer = None
    else:
        result.exhausted += 1
    if writer is not None:
        writer.close()


async def _run(port: int, plan: list[list[Message]], seconds: float, repeat: bool) -> LoadResult:
    result = LoadResult(started=time.time())
    deadline = time.perf_counter() + seconds
    await asyncio.gather(
        *(_connection(port, messages, deadline, result, repeat) for messages in plan)
    )
    result.ended = time.time()
    return result


def run_load(
    port: int, plan: list[list[Message]], seconds: float, *, repeat: bool = False
) -> LoadResult:
    """Drive ``len(plan)`` connections against 127.0.0.1:``port`` for ``seconds``.

    ``repeat`` cycles through each connection's bodies (mids repeat: only for a target whose
    replies are not accounted for, the bare baseline); otherwise a connection that runs out
    of bodies stops early and is counted in ``exhausted``.
    """
    return asyncio.run(_run(port, plan, seconds, repeat))


async def _open_loop(
    port: int, messages: list[Message], rate: float, seconds: float, connections: int
) -> LoadResult:
    result = LoadResult(started=time.time())
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(None)  # a slot; the connection opens on first use
    clock_offset = time.time() - time.perf_counter()

    async def one(message: Message, due: float) -> None:
        slot = await idle.get()
        try:
            if slot is None:
                slot = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = slot
            writer.write(message.request)
            status, close = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            idle.put_nowait(None)
            return
        latency = time.perf_counter() - due
        result.sent.append(Sent(message.mid, message.sender, due + clock_offset, latency, status))
        if close:
            writer.close()
            slot = None
        idle.put_nowait(slot)

    start = time.perf_counter()
    tasks = []
    for index, message in enumerate(messages):
        due = start + index / rate
        if due - start >= seconds:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(message, due)))
    else:
        result.exhausted += 1
    await asyncio.gather(*tasks)
    result.ended = time.time()
    while not idle.empty():
        slot = idle.get_nowait()
        if slot is not None:
            slot[1].close()
    return result


def run_open_loop(
    port: int, messages: list[Message], *, rate: float, seconds: float, connections: int = 16
) -> LoadResult:
    """Start one request every ``1 / rate`` seconds for ``seconds`` (at most
    ``connections`` in flight; a request due while all are busy waits, and that wait counts
    in its latency)."""
    return asyncio.run(_open_loop(port, messages, rate, seconds, connections))
