"""What a new password must be: long enough, not the username or phone, not easy to guess."""

from __future__ import annotations

import pytest

from portal.domain.team import check_new_password


def messages(password: str, **kw) -> list[str]:
    return [e.message for e in check_new_password(password, **kw)]


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "87654321",
        "123456789",
        "abcdefgh",
        "qwertyui",
        "Password",
        "password1",
        "1qaz2wsx",
        "woaini1314",
        "aaaaaaaa",
        "abababab",
        "88888888",
        "a123456789",
    ],
)
def test_passwords_easy_to_guess_are_refused(password: str):
    assert messages(password) == ["This password is too easy to guess: choose another one."]


@pytest.mark.parametrize(
    "password", ["correct horse battery", "new-pass-77", "Lz8#qp2m", "订货通-2026-安全"]
)
def test_ordinary_passwords_pass(password: str):
    assert messages(password, username="buyer", phone="13912345678") == []


def test_short_username_and_phone_are_refused():
    assert messages("x7k") == ["Use at least %(n)s characters for the password."]
    assert messages("BuyerOne", username="buyerone") == ["The password must not be the username."]
    assert messages("13912345678", phone="139 1234 5678") == [
        "This password is too easy to guess: choose another one."
    ]
