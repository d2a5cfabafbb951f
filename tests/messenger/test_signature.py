"""bridge.messenger.signature: X-Hub-Signature-256 over the raw bytes, appsecret_proof, token
compare."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.messenger.signature import (
    SIGNATURE_HEADER,
    appsecret_proof,
    is_valid_signature,
    sign,
    tokens_match,
)

CORPUS = Path(__file__).parents[1] / "fixtures" / "webhooks"

# Pinned vector: HMAC-SHA256(key=b"appsecret", msg=b'{"object":"page"}'), computed once with
# Python's hmac and cross-checked with `openssl dgst -sha256 -hmac appsecret`.
KNOWN_SECRET = "appsecret"
KNOWN_BODY = b'{"object":"page"}'
KNOWN_HEX = "b38a2f589e8e63c7fc3318ee5fad162aa1c05bd62cb1ec87c9a61641619505e2"

# HMAC-SHA256(key=b"appsecret", msg=b"EAAtoken|1700000000"), cross-checked the same way.
KNOWN_PROOF = "7d84bb9c6a2f6dc9daf15264468f44a105d67dd1f2925ac94681af24513d725f"

SECRET = "0123456789abcdef0123456789abcdef"
UNICODE_BODY = (CORPUS / "text_unicode_escapes.json").read_bytes()


def test_pinned_vector_matches_hmac_sha256() -> None:
    computed = hmac.new(KNOWN_SECRET.encode(), KNOWN_BODY, hashlib.sha256).hexdigest()
    assert computed == KNOWN_HEX
    assert sign(KNOWN_SECRET, KNOWN_BODY) == "sha256=" + KNOWN_HEX


def test_pinned_vector_verifies() -> None:
    assert is_valid_signature(KNOWN_SECRET, KNOWN_BODY, "sha256=" + KNOWN_HEX)


def test_header_name_is_the_sha256_one() -> None:
    assert SIGNATURE_HEADER == "X-Hub-Signature-256"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.glob("*.json") if not p.name.endswith(".expected.json"))
)
def test_sign_verify_round_trip_on_recorded_bodies(name: str) -> None:
    body = (CORPUS / name).read_bytes()
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert is_valid_signature(SECRET, body, header)


def test_round_trip_on_an_empty_body() -> None:
    assert is_valid_signature(SECRET, b"", sign(SECRET, b""))


def test_secret_with_non_ascii_characters_is_utf8_encoded() -> None:
    secret = "sécret-비밀"
    expected = hmac.new(secret.encode("utf-8"), KNOWN_BODY, hashlib.sha256).hexdigest()
    assert sign(secret, KNOWN_BODY) == "sha256=" + expected
    assert is_valid_signature(secret, KNOWN_BODY, "sha256=" + expected)


@pytest.mark.parametrize(
    "reserialised",
    [
        pytest.param(lambda d: json.dumps(d).encode(), id="json.dumps-default"),
        pytest.param(
            lambda d: json.dumps(d, separators=(",", ":")).encode(), id="json.dumps-compact"
        ),
        pytest.param(
            lambda d: json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
            id="json.dumps-utf8-compact",
        ),
    ],
)
def test_signature_covers_the_raw_bytes_not_a_reserialised_body(
    reserialised: Callable[[Any], bytes],
) -> None:
    header = sign(SECRET, UNICODE_BODY)
    again = reserialised(json.loads(UNICODE_BODY))
    assert json.loads(again) == json.loads(UNICODE_BODY)
    assert again != UNICODE_BODY
    assert not is_valid_signature(SECRET, again, header)
    assert is_valid_signature(SECRET, UNICODE_BODY, header)


def test_one_changed_byte_fails() -> None:
    header = sign(SECRET, UNICODE_BODY)
    tampered = UNICODE_BODY.replace(b"\\u0040", b"@")
    assert tampered != UNICODE_BODY
    assert not is_valid_signature(SECRET, tampered, header)


def test_wrong_secret_fails() -> None:
    assert not is_valid_signature("another-secret", KNOWN_BODY, "sha256=" + KNOWN_HEX)
    assert not is_valid_signature(KNOWN_SECRET, KNOWN_BODY, sign("another-secret", KNOWN_BODY))


def test_uppercase_hex_digest_is_accepted() -> None:
    assert is_valid_signature(KNOWN_SECRET, KNOWN_BODY, "sha256=" + KNOWN_HEX.upper())


SHA1_HEX = hmac.new(KNOWN_SECRET.encode(), KNOWN_BODY, hashlib.sha1).hexdigest()


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("sha256=", id="prefix-only"),
        pytest.param("sha1=" + SHA1_HEX, id="legacy-sha1"),
        pytest.param("sha1=" + KNOWN_HEX, id="sha256-digest-under-sha1-prefix"),
        pytest.param(KNOWN_HEX, id="no-prefix"),
        pytest.param("SHA256=" + KNOWN_HEX, id="uppercase-prefix"),
        pytest.param("sha256:" + KNOWN_HEX, id="colon-separator"),
        pytest.param("sha256=" + KNOWN_HEX[:-1], id="one-digit-short"),
        pytest.param("sha256=" + KNOWN_HEX + "0", id="one-digit-long"),
        pytest.param("sha256=" + KNOWN_HEX[:32], id="half-length"),
        pytest.param("sha256=" + "g" * 64, id="non-hex"),
        pytest.param("sha256=" + KNOWN_HEX[:-1] + "z", id="last-digit-non-hex"),
        pytest.param("sha256=" + "é" * 64, id="non-ascii"),
        pytest.param("sha256=" + "٣" * 64, id="non-ascii-digits"),
        pytest.param(" sha256=" + KNOWN_HEX, id="leading-space"),
        pytest.param("sha256=" + KNOWN_HEX + "\n", id="trailing-newline"),
        pytest.param("sha256=" + KNOWN_HEX + ",sha1=" + SHA1_HEX, id="two-values"),
        pytest.param("sha256=" + "0" * 64, id="zeros"),
        pytest.param("sha256=" + KNOWN_HEX[::-1], id="reversed"),
    ],
)
def test_bad_headers_are_rejected_without_raising(header: str | None) -> None:
    assert is_valid_signature(KNOWN_SECRET, KNOWN_BODY, header) is False


def test_appsecret_proof_is_hmac_of_token_pipe_time() -> None:
    expected = hmac.new(b"appsecret", b"EAAtoken|1700000000", hashlib.sha256).hexdigest()
    assert expected == KNOWN_PROOF
    assert appsecret_proof("appsecret", "EAAtoken", 1700000000) == KNOWN_PROOF


def test_appsecret_proof_changes_with_time_token_and_secret() -> None:
    proofs = {
        appsecret_proof("appsecret", "EAAtoken", 1700000000),
        appsecret_proof("appsecret", "EAAtoken", 1700000001),
        appsecret_proof("appsecret", "EAAother", 1700000000),
        appsecret_proof("othersecret", "EAAtoken", 1700000000),
    }
    assert len(proofs) == 4
    assert all(len(p) == 64 and p == p.lower() for p in proofs)


@pytest.mark.parametrize(
    ("expected", "given", "match"),
    [
        pytest.param("verify-me", "verify-me", True, id="equal"),
        pytest.param("verify-me", None, False, id="missing"),
        pytest.param("verify-me", "", False, id="empty"),
        pytest.param("verify-me", "verify-m", False, id="prefix"),
        pytest.param("verify-me", "verify-me ", False, id="trailing-space"),
        pytest.param("verify-me", "VERIFY-ME", False, id="case-sensitive"),
        pytest.param("verify-me", "vérify-me", False, id="non-ascii-given"),
        pytest.param("토큰-✓", "토큰-✓", True, id="non-ascii-equal"),
    ],
)
def test_tokens_match(expected: str, given: str | None, match: bool) -> None:
    assert tokens_match(expected, given) is match
