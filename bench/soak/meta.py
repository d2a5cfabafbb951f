"""Meta's side of the soak: many people writing, each delivery posted again until it is acked.

Each sender (a PSID) writes numbered messages (``s17 m5``: sender 17's fifth) one after the
other, a paced while apart (0.5–1.5 × ``senders / rate`` seconds, drawn from the sender's own
seeded random), each in a signed delivery of its own. As Meta does, a delivery not answered
200 — connection refused while the server is down, reset, no answer within Meta's 5 s, a
5xx — is posted again with the same body (the same mid, the same timestamp) after a backoff
(0.25 s doubling to 4 s, jittered), until it is acked or the run's last moment (``give_up``)
passes; and a share of acked deliveries (``redeliver_rate``) is posted again a moment later,
as Meta sometimes sends a delivery twice. A sender's next message is posted only once the
previous one was acked, so each person's messages reach the bridge in the order they were
written, the order their replies must keep. Every post is a new connection.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.load import PSID_BASE, read_response
from bridge.messenger.signature import sign

META_TIMEOUT = 5.0  # seconds Meta waits for a webhook's 200
BACKOFF_START = 0.25
BACKOFF_CAP = 4.0
REFUSED, RESET, TIMEOUT = "refused", "reset", "timeout"


@dataclass(frozen=True)
class Plan:
    port: int
    secret: str
    page_id: str
    senders: int
    rate: float  # new messages per second, all senders together
    seconds: float  # new messages start for this long
    give_up: float  # seconds from the start: no delivery is posted after this
    redeliver_rate: float = 0.02
    seed: int = 7


@dataclass
class Message:
    sender: int
    number: int
    acked: bool = False

    @property
    def text(self) -> str:
        return f"s{self.sender} m{self.number}"

    @property
    def psid(self) -> str:
        return str(PSID_BASE + self.sender)


@dataclass
class Deliveries:
    """Every message written, and what each post of a delivery got."""

    messages: list[Message] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)  # HTTP status → posts
    failures: Counter[str] = field(default_factory=Counter)  # refused, reset, timeout → posts
    redelivered: int = 0  # acked deliveries Meta posted again

    @property
    def posts(self) -> int:
        return sum(self.statuses.values()) + sum(self.failures.values())


def request_of(plan: Plan, message: Message, timestamp_ms: int) -> bytes:
    """The signed HTTP request of one delivery holding ``message``."""
    item = {
        "sender": {"id": message.psid},
        "recipient": {"id": plan.page_id},
        "timestamp": timestamp_ms,
        "message": {"mid": f"m_soak.{message.sender}.{message.number}", "text": message.text},
    }
    entry = {"id": plan.page_id, "time": timestamp_ms, "messaging": [item]}
    body = json.dumps({"object": "page", "entry": [entry]}).encode()
    head = (
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {sign(plan.secret, body)}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


async def post(port: int, request: bytes, timeout: float = META_TIMEOUT) -> int | str:
    """One post on a new connection: the HTTP status, or ``refused``, ``reset``, ``timeout``."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status, _ = await read_response(reader)
            return status
    except TimeoutError:
        return TIMEOUT
    except ConnectionRefusedError:
        return REFUSED
    except (OSError, asyncio.IncompleteReadError, ValueError):
        return RESET
    finally:
        if writer is not None:
            writer.close()


async def _deliver(
    plan: Plan, request: bytes, seen: Deliveries, rng: random.Random, last: float
) -> bool:
    """Post until acked (True), backing off between posts, or until ``last`` (False)."""
    delay = BACKOFF_START
    while True:
        outcome = await post(plan.port, request)
        if isinstance(outcome, int):
            seen.statuses[outcome] += 1
            if outcome == 200:
                return True
        else:
            seen.failures[outcome] += 1
        wait = delay * rng.uniform(0.5, 1.5)
        if time.monotonic() + wait > last:
            return False
        await asyncio.sleep(wait)
        delay = min(BACKOFF_CAP, delay * 2)


async def _redeliver(
    plan: Plan, request: bytes, seen: Deliveries, rng: random.Random, last: float
) -> None:
    await asyncio.sleep(rng.uniform(0.0, 2.0))
    seen.redelivered += 1
    await _deliver(plan, request, seen, rng, last)


async def _sender(plan: Plan, index: int, seen: Deliveries, started: float) -> None:
    """One person: a message, posted until acked, a pause, the next, until the load ends."""
    rng = random.Random(f"{plan.seed}:{index}")
    interval = plan.senders / plan.rate
    redeliveries: list[asyncio.Task[None]] = []
    last, stop = started + plan.give_up, started + plan.seconds
    await asyncio.sleep(rng.uniform(0.0, interval))
    number = timestamp = 0
    while time.monotonic() < stop:
        number += 1
        message = Message(index, number)
        seen.messages.append(message)
        timestamp = max(timestamp + 1, int(time.time() * 1000))
        request = request_of(plan, message, timestamp)
        message.acked = await _deliver(plan, request, seen, rng, last)
        if not message.acked:
            break
        if rng.random() < plan.redeliver_rate:
            redeliveries.append(asyncio.create_task(_redeliver(plan, request, seen, rng, last)))
        await asyncio.sleep(rng.uniform(0.5, 1.5) * interval)
    await asyncio.gather(*redeliveries)


async def write_in(plan: Plan) -> Deliveries:
    """Every sender writing for ``plan.seconds``; returns once each delivery was acked (or
    given up at ``plan.give_up``)."""
    seen = Deliveries()
    started = time.monotonic()
    await asyncio.gather(*(_sender(plan, index, seen, started) for index in range(plan.senders)))
    return seen
