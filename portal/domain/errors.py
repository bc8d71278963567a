"""Typed domain errors: a stable problem type, an HTTP status, and a message for the user.

Messages are gettext msgids with named parameters; they are translated when rendered,
in the reader's language (see portal.i18n).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _(msgid: str) -> str:
    """Marks a msgid for extraction; translation happens at render time."""
    return msgid


@dataclass
class FieldError:
    """One problem with one piece of input (a form field, a cart line, a CSV row)."""

    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


class DomainError(Exception):
    type: str = "error"
    status: int = 400
    title: str = _("The request could not be completed.")

    def __init__(
        self,
        message: str | None = None,
        params: dict[str, Any] | None = None,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.title
        self.params = params or {}
        self.errors = errors or []
        # Machine-readable figures for the API (e.g. available and required credit).
        self.extra = extra or {}
        super().__init__(self.message % self.params if self.params else self.message)


class ValidationFailed(DomainError):
    type = "validation"
    status = 422
    title = _("Some of the input is not valid.")


class NotFound(DomainError):
    type = "not-found"
    status = 404
    title = _("Not found.")


class PricesChanged(DomainError):
    """The order's total is not the one the submitter was shown (prices-changed)."""

    type = "prices-changed"
    status = 409
    title = _("The prices changed.")


class Conflict(DomainError):
    type = "conflict"
    status = 409
    title = _("This conflicts with the current state.")


class CreditExceeded(DomainError):
    type = "credit-exceeded"
    status = 422
    title = _("Not enough available credit.")


class InsufficientStock(DomainError):
    type = "insufficient-stock"
    status = 422
    title = _("Not enough stock.")


class Unauthorized(DomainError):
    type = "unauthorized"
    status = 401
    title = _("Please sign in.")


class Forbidden(DomainError):
    type = "forbidden"
    status = 403
    title = _("You may not do this.")


class RateLimited(DomainError):
    type = "rate-limited"
    status = 429
    title = _("Too many attempts. Please wait and try again.")
