"""The supplier's own settings, kept by administrators: its name, address and phone (printed
on delivery notes, packing lists and statements), whether dealers see how much is available
(staff always do), after how many days a shipment the dealer leaves unconfirmed counts as
received, and how far over its credit limit any dealer's orders may go (an amount and a
percentage of the limit; finance may allow a dealer more, portal.domain.credit).

One row (id 1), absent until an administrator first saves; until then the environment's
values (PORTAL_SHOW_STOCK_NUMBERS, PORTAL_AUTO_RECEIVE_DAYS) are the defaults, so an
installation configured that way keeps working. Saving is audited before → after.

Every catalog page asks whether dealers see figures, so each process keeps what it last read
for CACHE_SECONDS: a change made in this process shows at once, in another process (a second
worker or machine) within CACHE_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from portal.db import current_engine, fetch, is_sqlite, write_transaction
from portal.domain import audit
from portal.domain.credit import Tolerance
from portal.domain.errors import FieldError, Forbidden, ValidationFailed, _
from portal.domain.ledger import tolerance_fields
from portal.domain.money import from_fen, percent_text
from portal.domain.scope import Actor
from portal.domain.team import PHONE

CACHE_SECONDS = 5.0
MAX_AUTO_RECEIVE_DAYS = 90
TEXT_LIMITS = {"name": 100, "address": 200, "phone": 40}
_COLUMNS = (
    "name, address, phone, show_stock_numbers, auto_receive_days, "
    "credit_tolerance_fen, credit_tolerance_bp"
)


@dataclass(frozen=True)
class Defaults:
    """What applies until an administrator saves settings (from the environment)."""

    show_stock_numbers: bool = False
    auto_receive_days: int = 7

    @classmethod
    def of(cls, settings: Any) -> Defaults:
        """From the process's configuration (portal.settings.Settings)."""
        return cls(bool(settings.show_stock_numbers), int(settings.auto_receive_days))


@dataclass(frozen=True)
class SupplierSettings:
    name: str
    address: str
    phone: str
    show_stock_numbers: bool
    auto_receive_days: int  # 0: never
    # Over every dealer's credit limit, as typed: yuan ("" none) and percent ("" none).
    credit_tolerance_amount: str
    credit_tolerance_percent: str
    saved: bool  # False while the defaults apply


@dataclass(frozen=True)
class SettingsInput:
    name: str
    address: str = ""
    phone: str = ""
    show_stock_numbers: bool = False
    auto_receive_days: int = 7
    credit_tolerance_amount: str = ""  # yuan, "" or "0" for none
    credit_tolerance_percent: str = ""  # of each dealer's limit, "" or "0" for none


# id(engine) → (monotonic time read, the row or None)
_cache: dict[int, tuple[float, dict | None]] = {}


def forget() -> None:
    """Drop what this process remembers (tests that empty the tables call it)."""
    _cache.clear()


def _blank_if_zero(text: str) -> str:
    return "" if text in ("0", "0.00") else text


def _settings(row: dict | None, defaults: Defaults) -> SupplierSettings:
    if row is None:
        return SupplierSettings(
            name="",
            address="",
            phone="",
            show_stock_numbers=defaults.show_stock_numbers,
            auto_receive_days=defaults.auto_receive_days,
            credit_tolerance_amount="",
            credit_tolerance_percent="",
            saved=False,
        )
    return SupplierSettings(
        name=row["name"],
        address=row["address"],
        phone=row["phone"],
        show_stock_numbers=bool(row["show_stock_numbers"]),
        auto_receive_days=int(row["auto_receive_days"]),
        credit_tolerance_amount=_blank_if_zero(str(from_fen(int(row["credit_tolerance_fen"])))),
        credit_tolerance_percent=_blank_if_zero(percent_text(int(row["credit_tolerance_bp"]))),
        saved=True,
    )


async def _read() -> dict | None:
    rows = await fetch(f"SELECT {_COLUMNS} FROM supplier_settings WHERE id = 1")
    return rows[0] if rows else None


async def _row() -> dict | None:
    """The row as this process last read it, at most CACHE_SECONDS ago."""
    key = id(current_engine())
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is None or now - cached[0] > CACHE_SECONDS:
        cached = _cache[key] = (now, await _read())
    return cached[1]


async def current(defaults: Defaults) -> SupplierSettings:
    """The settings in force, for anyone's page (nothing in them is private): read at most
    every CACHE_SECONDS per process."""
    return _settings(await _row(), defaults)


async def credit_tolerance() -> Tolerance:
    """What the supplier lets every dealer's orders go over its credit limit (none until an
    administrator sets it), for the credit checks: read at most every CACHE_SECONDS."""
    row = await _row()
    if row is None:
        return Tolerance()
    return Tolerance(int(row["credit_tolerance_fen"]), int(row["credit_tolerance_bp"]))


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may change the supplier's settings."))


async def for_admin(actor: Actor, defaults: Defaults) -> SupplierSettings:
    """The settings as the settings page and the API show them, fresh from the database."""
    _require_admin(actor)
    row = await _read()
    _cache[id(current_engine())] = (time.monotonic(), row)
    return _settings(row, defaults)


def _check(data: SettingsInput) -> tuple[list[FieldError], int | None, int | None]:
    """The input's errors, and its tolerance as stored (fen, basis points; None if refused)."""
    errors = []
    if not data.name.strip():
        errors.append(FieldError("name", _("Enter a name.")))
    for name, limit in TEXT_LIMITS.items():
        if len(getattr(data, name)) > limit:
            errors.append(FieldError(name, _("At most %(n)s characters."), {"n": limit}))
    phone = data.phone.strip()
    if phone and len(phone) <= TEXT_LIMITS["phone"] and not PHONE.match(phone):
        errors.append(FieldError("phone", _("Enter a phone number of digits.")))
    if not 0 <= data.auto_receive_days <= MAX_AUTO_RECEIVE_DAYS:
        errors.append(
            FieldError(
                "auto_receive_days",
                _("Enter a whole number from 0 to %(max)s."),
                {"max": MAX_AUTO_RECEIVE_DAYS},
            )
        )
    amount, bp = tolerance_fields(
        data.credit_tolerance_amount,
        data.credit_tolerance_percent,
        ("credit_tolerance_amount", "credit_tolerance_percent"),
        errors,
    )
    return errors, amount, bp


async def save(
    actor: Actor, data: SettingsInput, defaults: Defaults, *, now: datetime | None = None
) -> SupplierSettings:
    """Change the settings, all or nothing, audited ("supplier.settings_saved")."""
    _require_admin(actor)
    errors, tolerance_fen, tolerance_bp_ = _check(data)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    values = {
        "name": data.name.strip(),
        "address": data.address.strip(),
        "phone": data.phone.strip(),
        "show_stock_numbers": data.show_stock_numbers,
        "auto_receive_days": data.auto_receive_days,
        "credit_tolerance_fen": tolerance_fen,
        "credit_tolerance_bp": tolerance_bp_,
    }
    lock = "" if is_sqlite(current_engine()) else " FOR UPDATE"
    async with write_transaction():
        rows = await fetch(f"SELECT {_COLUMNS} FROM supplier_settings WHERE id = 1{lock}")
        old = _settings(rows[0] if rows else None, defaults)
        before = {k: v for k, v in asdict(old).items() if k in values}
        # The tolerance before, as stored (none while nothing was saved).
        before["credit_tolerance_fen"] = int(rows[0]["credit_tolerance_fen"]) if rows else 0
        before["credit_tolerance_bp"] = int(rows[0]["credit_tolerance_bp"]) if rows else 0
        placeholders = ", ".join("{}" for _value in values)
        await fetch(
            f"INSERT INTO supplier_settings (id, {_COLUMNS}, updated_at) "
            f"VALUES (1, {placeholders}, {{}}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in (*values, "updated_at")),
            *values.values(),
            now,
        )
        await audit.record(
            actor,
            "supplier.settings_saved",
            "supplier_settings",
            1,
            before,
            values,
            now=now,
        )
    saved = dict(values)  # the row as now stored: this process sees it at once
    _cache[id(current_engine())] = (time.monotonic(), saved)
    return _settings(saved, defaults)
