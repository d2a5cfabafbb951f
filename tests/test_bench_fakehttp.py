"""The fakes' ``POST /_faults`` switch (bench/fakehttp.py)."""

from __future__ import annotations

import pytest

from bench.fakehttp import FakeHandler


class _Recorded(FakeHandler):
    """A handler with no socket: what it applies and answers, in order."""

    def __init__(self) -> None:  # no request to handle: only the switch is driven
        self.events: list[tuple[str, object]] = []

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.events.append(("reply", status))


@pytest.mark.parametrize(
    ("raw", "on"),
    [(b'{"on": false}', False), (b'{"on": true}', True), (b"", True), (b"[1]", True), (b"{", True)],
)
def test_the_setting_is_applied_before_the_caller_hears_it(raw: bytes, on: bool) -> None:
    # The caller's next request may reach another of the fake's threads as soon as the
    # answer is out: the switch must already hold then.
    handler = _Recorded()
    handler.switch_faults(raw, lambda value: handler.events.append(("apply", value)))
    assert handler.events == [("apply", on), ("reply", 200)]
