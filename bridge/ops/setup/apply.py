"""``run_setup``: the Graph calls of ``python -m bridge setup``, written out as they happen.

The Page behind the token first (it must be FB_PAGE_ID's), then the webhook subscription, then
the profile: read, planned, checked against the call budget, and written only where it
differs. Any failure is explained with its fix and stops the run (exit status 1); a dry run
reads and plans but writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bridge.errors import GraphError, SetupFailed
from bridge.messenger.graph import GraphClient
from bridge.messenger.profile import PROFILE_FIELDS
from bridge.ops.graph_advice import explain_graph_error
from bridge.ops.setup.budget import PROFILE_BUDGET, PROFILE_WINDOW, Budget, CallLog, budget
from bridge.ops.setup.plan import ProfilePlan, plan_profile, plan_subscription
from bridge.ops.setup.render import render_profile, render_subscription

T = TypeVar("T")


@dataclass(frozen=True)
class SetupOptions:
    profile: dict[str, Any] | None = None
    profile_name: str = ""
    dry_run: bool = False
    only: tuple[str, ...] | None = None
    delete_missing: bool = False
    subscribe: bool = True


def run_setup(
    graph: GraphClient,
    options: SetupOptions,
    *,
    page_id: str | None,
    call_log: CallLog,
    echo: Callable[[str], None],
    secrets: Sequence[str] = (),
    unreachable_fix: str | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Subscribe the Page and apply the profile as ``options`` say; 0 when all went well."""
    run = _Run(graph, call_log, echo, clock, tuple(secrets), unreachable_fix)
    try:
        page = run.page(page_id)
        if options.subscribe:
            run.subscribe(page, dry_run=options.dry_run)
        if options.profile is not None:
            run.apply_profile(page, options)
    except SetupFailed:
        return 1
    if options.dry_run:
        echo("\nDry run: nothing was changed. Run again without --dry-run to apply.")
    return 0


@dataclass(frozen=True)
class _Run:
    """One Page's setup: the client, where calls are counted, and where output goes."""

    graph: GraphClient
    call_log: CallLog
    echo: Callable[[str], None]
    clock: Callable[[], float]
    secrets: tuple[str, ...]
    unreachable_fix: str | None

    def failed(self, error: GraphError, doing: str, permission: str) -> SetupFailed:
        """Say what went wrong and how to fix it; the caller raises what this returns."""
        explained = explain_graph_error(
            error,
            doing=doing,
            permission=permission,
            secrets=self.secrets,
            unreachable_fix=self.unreachable_fix,
        )
        self.echo(f"✗ {explained.detail}")
        self.echo(f"  fix: {explained.fix}")
        return SetupFailed()

    def page(self, page_id: str | None) -> str:
        """The id of the token's Page, which must be ``page_id`` when that is given."""
        try:
            me = self.graph.me()
        except GraphError as error:
            raise self.failed(
                error, "read the Page behind FB_PAGE_ACCESS_TOKEN", "pages_messaging"
            ) from None
        token_page = str(me.get("id") or "")
        if page_id is not None and token_page != page_id:
            self.echo(
                f"✗ FB_PAGE_ACCESS_TOKEN belongs to the Page {me.get('name')!r} ({token_page}), "
                f"but FB_PAGE_ID is {page_id}"
            )
            self.echo("  fix: use the token of the Page in FB_PAGE_ID, or set FB_PAGE_ID to its id")
            raise SetupFailed()
        self.echo(f"Page: {me.get('name') or '(no name)'} ({token_page})")
        return token_page

    def subscribe(self, page: str, *, dry_run: bool) -> None:
        self.echo("\nWebhook subscription (this app's fields on the Page)")
        try:
            plan = plan_subscription(self.graph.subscribed_apps(page))
        except GraphError as error:
            raise self.failed(
                error, "read the Page's webhook subscription", "pages_manage_metadata"
            ) from None
        for line in render_subscription(plan):
            self.echo(line)
        if not plan.changes:
            self.echo("  ✓ already subscribed to every field the bridge uses")
            return
        if dry_run:
            self.echo(f"  would subscribe with {len(plan.fields)} fields")
            return
        try:
            self.graph.subscribe(page, plan.fields)
        except GraphError as error:
            raise self.failed(
                error, "subscribe the Page to the app", "pages_manage_metadata"
            ) from None
        self.echo(f"  ✓ subscribed with {len(plan.fields)} fields")

    def apply_profile(self, page: str, options: SetupOptions) -> None:
        """Read, plan, check the budget, then write only the fields that differ."""
        assert options.profile is not None
        self.echo(f"\nMessenger profile ({options.profile_name})")
        before = budget(self.call_log.calls(page), self.clock())
        if before.left < 1:
            self.refuse(before, needed=1)
        current = self.profile_call(
            page, "read the Messenger profile", lambda: self.graph.messenger_profile(PROFILE_FIELDS)
        )
        plan = plan_profile(
            options.profile, current, only=options.only, delete_missing=options.delete_missing
        )
        for line in render_profile(plan):
            self.echo(line)
        if plan.problems:
            for problem in plan.problems:
                self.echo(f"✗ {problem}")
            raise SetupFailed()
        now = budget(self.call_log.calls(page), self.clock())
        self.echo_calls(plan, now)
        if not plan.writes:
            self.echo("  ✓ the profile already matches the file")
            return
        if now.left < plan.writes:
            self.refuse(now, needed=plan.writes)
        if not options.dry_run:
            self.write_profile(page, plan)

    def echo_calls(self, plan: ProfilePlan, now: Budget) -> None:
        writes = "".join(
            f" + 1 {what}"
            for what, needed in (("POST", plan.to_set), ("DELETE", plan.to_delete))
            if needed
        )
        self.echo(
            f"  Profile API calls: 1 read{writes} (Meta allows {PROFILE_BUDGET} per "
            f"{PROFILE_WINDOW / 60:.0f} minutes per Page; {now.left} left after the read)"
        )

    def write_profile(self, page: str, plan: ProfilePlan) -> None:
        """One POST for every field to set, one DELETE for every field to delete."""
        if plan.to_set:
            to_set = plan.to_set
            self.profile_call(
                page,
                "set the Messenger profile",
                lambda: self.graph.set_messenger_profile(to_set),
            )
            self.echo(f"  ✓ set {', '.join(plan.to_set)} (one call)")
        if plan.to_delete:
            to_delete = plan.to_delete
            self.profile_call(
                page,
                "delete Messenger profile fields",
                lambda: self.graph.delete_messenger_profile(to_delete),
            )
            self.echo(f"  ✓ deleted {', '.join(plan.to_delete)} (one call)")

    def profile_call(self, page: str, doing: str, call: Callable[[], T]) -> T:
        """A Messenger Profile API call, counted against the budget whether or not it works."""
        try:
            return call()
        except GraphError as error:
            raise self.failed(error, doing, "pages_messaging") from None
        finally:
            self.call_log.record(page, self.clock())

    def refuse(self, state: Budget, *, needed: int) -> None:
        """Stop before a run that would go over the budget, saying when to run it again."""
        wait = max(0, int((state.frees_at or self.clock()) - self.clock()) + 1)
        self.echo(
            f"✗ this needs {needed} more Messenger Profile API call{'s' if needed > 1 else ''}, "
            f"but {state.used} of the {PROFILE_BUDGET} Meta allows per "
            f"{PROFILE_WINDOW / 60:.0f} minutes for this Page were made from here already "
            f"({state.left} left). Nothing was changed."
        )
        self.echo(
            f"  fix: run it again in {wait} s, when the oldest of those calls stops counting "
            "(going over makes Graph refuse profile calls with error 613 for a while)"
        )
        raise SetupFailed()
