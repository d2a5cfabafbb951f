"""Fixtures of the delivery tests (their helpers are in ``tests.delivery.harness``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses


@pytest.fixture
def graph_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
