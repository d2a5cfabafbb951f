"""Local mode's fixed values: the bridge signs, answers and records everything itself, on
loopback, so it needs no Facebook app, Page or Lex bot of its own."""

from __future__ import annotations

LOCAL_APP_SECRET = "local-app-secret"
LOCAL_VERIFY_TOKEN = "local-verify-token"
LOCAL_PAGE_ACCESS_TOKEN = "local-page-token"
LOCAL_PAGE_ID = "100000000000001"
LOCAL_LEX_BOT_ID = "LOCALBOT01"
LOCAL_LEX_ALIAS_ID = "TSTALIASID"
LOCAL_PREFIX = "/local"


def local_base_url(port: int) -> str:
    """Where a bridge listening on ``port`` serves its own local endpoints."""
    return f"http://127.0.0.1:{port}{LOCAL_PREFIX}"
