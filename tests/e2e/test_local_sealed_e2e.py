"""Local mode answers only this machine, under its own name, and no other site: through the
real server (a tunnel or DNS rebinding brings requests from 127.0.0.1 under another name)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.servers import Bridge, start_bridge, stop_bridge

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    server = start_bridge(tmp_path_factory.mktemp("sealed"))
    yield server
    assert stop_bridge(server) == 0, server.log.read_text()


@pytest.mark.parametrize(
    "path", ["/local/faults", "/local/graph/inbox", "/local/emulator/config", "/local/status"]
)
def test_another_host_name_finds_nothing(bridge: Bridge, path: str) -> None:
    response = requests.get(f"{bridge.url}{path}", headers={"Host": "bridge.example"}, timeout=5)
    assert response.status_code == 404
    assert requests.get(f"{bridge.url}{path}", timeout=5).status_code == 200


def test_another_site_cannot_inject_a_fault(bridge: Bridge) -> None:
    faults = f"{bridge.url}/local/faults"
    evil = {"Origin": "https://evil.example"}
    assert (
        requests.post(f"{faults}/lex", json={"delay": 30}, headers=evil, timeout=5).status_code
        == 403
    )
    form = requests.post(f"{faults}/lex", data='{"delay": 30}', timeout=5)  # curl -d, a form
    assert form.status_code == 415
    assert requests.get(faults, timeout=5).json()["faults"] == []
    assert requests.post(f"{faults}/lex", json={"status": 429}, timeout=5).json() == {"queued": 1}
    assert requests.delete(faults, timeout=5).ok
