"""Helpers for the backend tests: settings aimed at the fake backend, for either wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hoody_lsp.backends import make_backend
from hoody_lsp.backends.base import Backend, GenerateRequest
from hoody_lsp.settings import Settings, resolve
from tests.fakebackend import FakeBackend

KEY = "sk-test-Zq81-secret"
BACKENDS = ("hoody", "openai")


def settings_for(fake: FakeBackend, kind: str, **overrides: Any) -> Settings:
    """Settings pointing `kind` at the fake (openai under /v1, with a model)."""
    raw: dict[str, Any] = {
        "backend": kind,
        "apiKey": KEY,
        "baseUrl": fake.url + ("/v1" if kind == "openai" else ""),
    }
    if kind == "openai":
        raw["model"] = "test-model"
    raw.update(overrides)
    settings, warnings = resolve(raw)
    assert not warnings, warnings
    return settings


def completion(**overrides: Any) -> GenerateRequest:
    fields: dict[str, Any] = {"task": "completion", "directive": "", "prefix": "x = ", "suffix": "\n"}
    fields.update(overrides)
    return GenerateRequest(**fields)


@pytest.fixture(params=BACKENDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(fake_backend: FakeBackend, kind: str) -> AsyncIterator[Backend]:
    """A backend of each kind aimed at the fake; closed after the test."""
    made: Backend = make_backend(settings_for(fake_backend, kind))
    yield made
    await made.aclose()
