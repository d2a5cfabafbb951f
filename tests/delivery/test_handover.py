"""The stored handover step: the bot's messages, then at most one step that passes the
conversation to the Page Inbox."""

from __future__ import annotations

from bridge.delivery import handover
from bridge.messenger.replies import PAGE_INBOX_APP_ID, Handover, Text


def test_the_stored_reply_ends_with_one_handover_step() -> None:
    planned = handover.plan(
        [Text("One moment."), Handover(metadata="first"), Text("Bye."), Handover()]
    )
    assert planned == [
        {"text": "One moment."},
        {"text": "Bye."},
        {"bridge:handover": {"target_app_id": PAGE_INBOX_APP_ID, "metadata": "first"}},
    ]
    assert handover.from_step(planned[-1]) == Handover(metadata="first")
    assert handover.from_step(planned[0]) is None
    long = handover.to_step(Handover(metadata="x" * 5000))
    assert len(long["bridge:handover"]["metadata"]) == handover.METADATA_MAX
    assert handover.to_step(Handover())["bridge:handover"]["metadata"] == handover.ASKED
