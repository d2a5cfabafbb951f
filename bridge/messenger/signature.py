"""Webhook signatures and appsecret_proof; pure functions, no I/O.

Meta signs each webhook body with HMAC-SHA256 keyed with the app secret and sends
``X-Hub-Signature-256: sha256=<hex>``. The hash covers the raw bytes exactly as sent
(Meta's escaped-unicode JSON), so it must be checked before any parsing.
https://developers.facebook.com/docs/messenger-platform/webhooks#validate-payloads
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")


def sign(secret: str, body: bytes) -> str:
    """Return the ``X-Hub-Signature-256`` header value Meta would send for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def is_valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True only if ``header`` is a well-formed sha256 signature of ``body``; never raises."""
    if not header or not header.startswith(_PREFIX):
        return False
    given = header[len(_PREFIX) :].lower()
    if len(given) != 64 or not set(given) <= _HEX_DIGITS:
        return False
    return hmac.compare_digest(given, sign(secret, body)[len(_PREFIX) :])


def appsecret_proof(secret: str, access_token: str, unix_time: int) -> str:
    """Timestamped appsecret_proof: HMAC-SHA256(secret, f"{token}|{time}"), valid 5 minutes.

    https://developers.facebook.com/documentation/facebook-login/security
    """
    message = f"{access_token}|{unix_time}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a shared token (the webhook verify token)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
