"""Fixtures every test folder can use: a started fake backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakebackend import FakeBackend


@pytest.fixture
def fake_backend() -> Iterator[FakeBackend]:
    """A started fake backend (function scope); `fake_backend.url` is its http://127.0.0.1:PORT base URL."""
    with FakeBackend() as fake:
        yield fake
