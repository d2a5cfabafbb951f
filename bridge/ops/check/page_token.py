"""Checks 1 and 2: the Page token works and is FB_PAGE_ID's, and Graph accepts the
``appsecret_proof`` made with FB_APP_SECRET.

Both come from one ``GET /me``. When Graph refuses the proof, the call is repeated without one:
if the token then works, the secret is wrong (or the clock is off); if the app requires a proof
("Require App Secret"), the token cannot be checked until the secret is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from bridge.config.settings import Settings
from bridge.errors import GraphError
from bridge.messenger.graph import GraphClient
from bridge.ops.check.result import CheckResult, fail, not_run
from bridge.ops.graph_advice import (
    BAD_PROOF_FIX,
    explain_graph_error,
    is_bad_proof,
    needs_proof,
    scrub,
)

_TOKEN = "Page token"
_SECRET = "App secret"
_READ_PAGE = "read the Page behind the token"


class TokenChecks(NamedTuple):
    """The two verdicts, the token's Page id (None if the token fails) and whether later calls
    may carry a proof."""

    token: CheckResult
    secret: CheckResult
    page_id: str | None
    proof: bool


def interpret_me(me: Mapping[str, Any], expected_page_id: str | None) -> CheckResult:
    """``GET /me`` answered: the token works; is it FB_PAGE_ID's Page?"""
    page_id, name = str(me.get("id") or ""), str(me.get("name") or "(no name)")
    if expected_page_id is not None and page_id != expected_page_id:
        return fail(
            "page_token",
            _TOKEN,
            f"the token belongs to the Page {name!r} ({page_id}), but FB_PAGE_ID is "
            f"{expected_page_id}: the bridge would ignore every delivery for the token's Page",
            "set FB_PAGE_ACCESS_TOKEN to the token of the Page in FB_PAGE_ID, or FB_PAGE_ID to "
            f"{page_id}",
        )
    return CheckResult("page_token", _TOKEN, True, f"valid, for the Page {name!r} ({page_id})")


def token_and_secret(
    graph: GraphClient, settings: Settings, secrets: Sequence[str], local_fix: str | None
) -> TokenChecks:
    """The Page token and app secret checks, from ``GET /me`` with a proof (and without one
    when the proof is refused)."""
    try:
        me = graph.me()
    except GraphError as error:
        if is_bad_proof(error):
            return _without_proof(graph, settings, error, secrets)
        explained = explain_graph_error(
            error, doing=_READ_PAGE, secrets=secrets, unreachable_fix=local_fix
        )
        return TokenChecks(
            fail("page_token", _TOKEN, explained.detail, explained.fix),
            not_run(
                "app_secret", _SECRET, "needs a working Page token", "fix the Page token first"
            ),
            None,
            True,
        )
    token = interpret_me(me, settings.graph.page_id)
    secret = CheckResult(
        "app_secret", _SECRET, True, "Graph accepted the appsecret_proof made with FB_APP_SECRET"
    )
    return TokenChecks(token, secret, _page_of(me, token), True)


def _without_proof(
    graph: GraphClient, settings: Settings, refused: GraphError, secrets: Sequence[str]
) -> TokenChecks:
    """The proof was refused: the same call without one tells a bad secret from a bad token."""
    bad_secret = fail(
        "app_secret",
        _SECRET,
        "Graph refused the appsecret_proof made with FB_APP_SECRET (“"
        f"{scrub(refused.message, secrets)}”): the secret is not the one of the app the "
        "token was made for, "
        "or this machine's clock is off by more than 5 minutes. Every Send API call would "
        "fail the same way, and webhook signatures would not verify either",
        BAD_PROOF_FIX,
    )
    try:
        me = graph.me(proof=False)
    except GraphError as second:
        return TokenChecks(_unproven_token(second, secrets), bad_secret, None, False)
    token = interpret_me(me, settings.graph.page_id)
    return TokenChecks(token, bad_secret, _page_of(me, token), False)


def _unproven_token(error: GraphError, secrets: Sequence[str]) -> CheckResult:
    """The token's verdict when the call without a proof failed too."""
    if needs_proof(error):
        return not_run(
            "page_token",
            _TOKEN,
            "the app requires an appsecret_proof (Require App Secret) and the proof was refused",
            "fix the app secret first",
        )
    explained = explain_graph_error(error, doing=_READ_PAGE, secrets=secrets)
    return fail("page_token", _TOKEN, explained.detail, explained.fix)


def _page_of(me: Mapping[str, Any], token: CheckResult) -> str | None:
    return str(me.get("id")) if token.ok else None
