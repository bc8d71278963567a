"""VerifiedToken: a token verified once is remembered, but never past its expiry, and a
token that differs by a byte is verified afresh."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import Token

from portal.auth.session import ALGORITHM, AUDIENCE, VerifiedToken

SECRET = "s" * 64


def encoded(seconds: float, sub: str = "7") -> str:
    return Token(exp=datetime.now(UTC) + timedelta(seconds=seconds), sub=sub, aud=AUDIENCE).encode(
        SECRET, ALGORITHM
    )


def decode(raw: str, secret: str = SECRET) -> Token:
    return VerifiedToken.decode(raw, secret, ALGORITHM, audience=[AUDIENCE])


@pytest.fixture(autouse=True)
def empty_cache():
    VerifiedToken._verified.clear()
    yield
    VerifiedToken._verified.clear()


def test_a_token_is_verified_once_then_remembered(monkeypatch):
    raw = encoded(600)
    calls = []
    real = Token.decode_payload.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Token, "decode_payload", classmethod(counting))
    first = decode(raw)
    second = decode(raw)
    assert (first.sub, second.sub, len(calls)) == ("7", "7", 1)


def test_a_remembered_token_still_expires():
    raw = encoded(2)  # exp is whole seconds: it lives 1 to 2 s
    assert decode(raw).sub == "7"
    time.sleep(2.3)
    with pytest.raises(NotAuthorizedException):
        decode(raw)
    assert not VerifiedToken._verified


def test_a_forged_or_foreign_token_is_still_checked():
    raw = encoded(600)
    decode(raw)
    head, payload, signature = raw.split(".")
    forged = ".".join([head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(NotAuthorizedException):
        decode(forged)
    with pytest.raises(NotAuthorizedException):
        decode(raw, secret="t" * 64)  # the same token under another secret


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(VerifiedToken, "CACHE_SIZE", 3)
    tokens = [encoded(600, sub=str(n)) for n in range(1, 6)]
    for raw in tokens:
        decode(raw)
    assert len(VerifiedToken._verified) == 3
    assert [key[0] for key in VerifiedToken._verified] == tokens[2:]
