"""``make audit``'s verdict: exit 1 only on a known vulnerability, 0 with a plain statement
when nothing could be audited, 2 when pip-audit itself fails; and the real pip-audit run
against a service it cannot reach (a closed proxy port on loopback)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from deploy import audit
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_STDERR = """Traceback (most recent call last):
  File "pip_audit/_service/pypi.py", line 60, in query
requests.exceptions.ProxyError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries \
exceeded with url: /pypi/flask/3.1.3/json (Caused by ProxyError('Unable to connect to proxy'))
"""


def report(*dependencies: Mapping[str, object]) -> str:
    """pip-audit's --format json output."""
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


FLASK = {"name": "flask", "version": "3.1.3", "vulns": []}
JINJA = {
    "name": "jinja2",
    "version": "3.1.6",
    "vulns": [
        {
            "id": "GHSA-0000-1111-2222",
            "fix_versions": ["3.1.7"],
            "aliases": ["CVE-2026-0001"],
            "description": "sandbox escape",
        }
    ],
}
UNKNOWN = {
    "name": "regex",
    "skip_reason": "Dependency not found on PyPI and could not be audited: regex (2026.11.19)",
}


def test_a_known_vulnerability_fails_naming_it_and_its_fix() -> None:
    code, message = audit.verdict(1, report(FLASK, JINJA), "")
    assert code == 1
    assert "jinja2 3.1.6: GHSA-0000-1111-2222 (fixed in: 3.1.7)" in message
    assert "1 of the 2 audited packages" in message


def test_no_vulnerability_passes() -> None:
    assert audit.verdict(0, report(FLASK), "") == (
        0,
        "no known vulnerabilities in the 1 audited packages",
    )


def test_packages_the_service_does_not_know_are_named_and_do_not_fail() -> None:
    code, message = audit.verdict(0, report(FLASK, UNKNOWN), "")
    assert code == 0 and "not audited (Dependency not found on PyPI" in message
    assert message.endswith("): regex")
    code, message = audit.verdict(0, report(UNKNOWN), "")
    assert code == 0 and message.startswith("nothing was audited: the vulnerability service")
    code, message = audit.verdict(1, report(JINJA, UNKNOWN), "")
    assert code == 1 and "not audited" in message


def test_an_unreachable_service_audits_nothing_and_does_not_fail() -> None:
    code, message = audit.verdict(1, "", UNREACHABLE_STDERR)
    assert code == 0
    assert message.startswith("nothing was audited: the vulnerability service did not answer")
    assert "ProxyError" in message


def test_another_pip_audit_failure_is_an_error() -> None:
    code, message = audit.verdict(1, "", "ERROR:pip_audit._cli:requirement file is malformed")
    assert code == 2 and "malformed" in message


def test_pip_audit_itself_behind_a_closed_proxy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there: no request leaves
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, closed)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert audit.main([str(ROOT / "requirements.lock")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("requirements.lock (pypi): nothing was audited"), printed
