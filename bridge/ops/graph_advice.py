"""A failed Graph call in plain words, with its fix; shared by ``bridge setup`` and ``check``.

Pure functions. Graph's own message is quoted (it names the field or the permission at fault and
carries no user content), with any secret scrubbed out of it first: Graph echoes a malformed
token back in its message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bridge.errors import GraphError
from bridge.messenger.graph_policy import Action, classify

NEW_TOKEN = (
    "create a new Page access token (a system user's token from Business Settings, or the "
    "Page's access_token from GET /me/accounts with a long-lived user token) and set "
    "FB_PAGE_ACCESS_TOKEN; python -m bridge check confirms it"
)
LOCAL_UNREACHABLE_FIX = (
    "in local mode Graph and Lex are served by the bridge itself: start it first (make demo) "
    "with the same PORT and BRIDGE_DB"
)
BAD_PROOF_FIX = (
    "set FB_APP_SECRET to the App Secret (App settings › Basic) of the app the Page token was "
    "made for; if it is already that, set this machine's clock right (a proof carries its time "
    "and is valid for 5 minutes)"
)

# Error 190's subcodes: why a token stopped working.
_TOKEN_SUBCODES = {
    458: "the app is no longer installed for the person who made the token",
    459: "the person who made the token must log in to Facebook to clear a security checkpoint",
    460: "the password of the person who made the token changed",
    463: "the token has expired",
    464: "the person who made the token has not confirmed their account",
    467: "the token was invalidated (logged out or revoked)",
    492: "the person who made the token no longer has a role on the Page",
}
_PERMISSION_CODES = frozenset({3, 10, 200, 230, 299})
_RATE_CODES = frozenset({4, 17, 32, 341, 613})


@dataclass(frozen=True, slots=True)
class Explained:
    """What went wrong (``detail``) and what to do about it (``fix``)."""

    detail: str
    fix: str


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every non-empty secret replaced by ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def is_bad_proof(error: GraphError) -> bool:
    """Graph refused the ``appsecret_proof`` (wrong app secret, or a clock off by > 5 min).

    Graph answers HTTP 400, code 100, "Invalid appsecret_proof provided in the API argument".
    """
    message = error.message.lower()
    return ("appsecret_proof" in message or "appsecret_time" in message) and not needs_proof(error)


def needs_proof(error: GraphError) -> bool:
    """A call without a proof, refused because the app has "Require App Secret" on."""
    message = error.message.lower()
    return "appsecret_proof" in message and "require" in message


def is_not_page_token(error: GraphError) -> bool:
    """Graph's (#210): the edge needs a Page token and was given a user or app token."""
    return error.code == 210 or "page access token is required" in error.message.lower()


def explain_graph_error(
    error: GraphError,
    *,
    doing: str,
    permission: str = "pages_messaging",
    secrets: Sequence[str] = (),
    unreachable_fix: str | None = None,
) -> Explained:
    """Explain a failed Graph call made to ``doing`` (e.g. "read the Page's subscriptions").

    ``permission`` is the one the call needs, named in the fix for permission errors;
    ``unreachable_fix`` replaces the fix when Graph was not reached (local mode).
    """
    if error.status is None:
        return Explained(
            f"could not {doing}: Graph was not reached ({error.message})",
            unreachable_fix
            or "check that this machine reaches FB_GRAPH_API_URL (https://graph.facebook.com) "
            "over HTTPS (DNS, firewall, proxy)",
        )
    said = _graph_said(error, secrets)
    return (
        _credential_problem(error, doing, said)
        or _access_problem(error, doing, permission, said)
        or _other_problem(error, doing, said)
    )


def _credential_problem(error: GraphError, doing: str, said: str) -> Explained | None:
    """The app secret's proof, or the token itself: the wrong kind, expired or revoked."""
    if is_bad_proof(error):
        return Explained(
            f"could not {doing}: Graph refused the appsecret_proof made with FB_APP_SECRET{said}",
            BAD_PROOF_FIX,
        )
    if needs_proof(error):
        return Explained(
            f"could not {doing}: the app requires an appsecret_proof (Require App Secret is on)"
            f"{said}",
            BAD_PROOF_FIX,
        )
    if is_not_page_token(error):
        return Explained(
            f"could not {doing}: FB_PAGE_ACCESS_TOKEN is not a Page access token (a user or app "
            f"token?){said}",
            "use the Page's own token: GET /me/accounts with a user token lists each Page with "
            "its access_token; a system user's token for the Page also works",
        )
    if error.code == 190:
        why = _TOKEN_SUBCODES.get(error.subcode or 0, "the token is invalid or expired")
        return Explained(
            f"could not {doing}: the Page access token does not work: {why}{said}", NEW_TOKEN
        )
    return None


def _access_problem(error: GraphError, doing: str, permission: str, said: str) -> Explained | None:
    """A permission the token lacks, or a rate limit."""
    code = error.code
    if code in _PERMISSION_CODES:
        return Explained(
            f"could not {doing}: permission denied{said}",
            f"the Page token needs the {permission} permission, from someone with full control "
            "of the Page (the Manage/MODERATE task; Get Started and the menu need Admin), in an "
            "app with access to it (before App Review, only people with a role on the app count)",
        )
    if code in _RATE_CODES or (code is not None and 80000 <= code < 81000) or error.status == 429:
        wait = f"; Graph asks to wait {error.retry_after:.0f} s" if error.retry_after else ""
        return Explained(
            f"could not {doing}: rate limited{said}{wait}",
            "wait and run again; the Messenger Profile API allows 10 calls per 10 minutes per "
            "Page (the dashboard and other tools count too)",
        )
    return None


def _other_problem(error: GraphError, doing: str, said: str) -> Explained:
    """A refused parameter, or what the Send API error policy says of the rest."""
    decision = classify(error)
    if error.code == 100:
        return Explained(
            f"could not {doing}: Graph refused a parameter{said}",
            "correct what Graph names; for a profile, python -m bridge setup --dry-run "
            "validates the file against Messenger's limits first",
        )
    if decision.action is Action.RETRY:
        return Explained(
            f"could not {doing}: {decision.reason}{said}",
            "this is usually temporary: run the command again in a minute",
        )
    return Explained(
        f"could not {doing}: {decision.reason}{said}",
        "see Graph's message; the fbtrace_id identifies the call for Meta support",
    )


def _graph_said(error: GraphError, secrets: Sequence[str]) -> str:
    ref = []
    if error.code is not None:
        ref.append(f"code {error.code}" + (f"/{error.subcode}" if error.subcode else ""))
    if error.status is not None:
        ref.append(f"HTTP {error.status}")
    if error.fbtrace_id:
        ref.append(f"fbtrace_id {error.fbtrace_id}")
    message = scrub(error.message, secrets)
    return f" — Graph said: “{message}” ({', '.join(ref)})"
