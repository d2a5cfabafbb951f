"""The environment ``make bench`` starts a server with (bench/servers.py)."""

from __future__ import annotations

from bench.servers import server_environment


def test_a_scenario_may_set_what_the_servers_default_to() -> None:
    env = {"BRIDGE_WEB_THREADS": "2", "WEB_CONCURRENCY": "1", "BRIDGE_DELIVERY_THREADS": "0"}
    environment = server_environment({"HOME": "/root"}, 8080, env, metrics_port=None)
    assert environment == {"HOME": "/root", "PORT": "8080", **env}


def test_the_defaults_and_the_metrics_listener() -> None:
    environment = server_environment({}, 8080, {}, metrics_port=9100)
    assert environment == {
        "PORT": "8080",
        "WEB_CONCURRENCY": "2",
        "BRIDGE_WEB_THREADS": "8",
        "BRIDGE_METRICS_PORT": "9100",
    }
