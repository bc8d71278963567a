"""Tiers (价格等级, the price list a dealer buys at), kept by administrators: code, name and
rank (lower is listed first). A tier is removed only once nothing refers to it. Audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from portal.db import write_transaction
from portal.domain import audit
from portal.domain.codes import same_text
from portal.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed, _
from portal.domain.idempotency import is_unique_violation
from portal.domain.removal import Use, count_uses, remove_unused
from portal.domain.scope import Actor
from portal.tables import Tier

CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
MISSING = _("Tier not found.")
TAKEN = _("Another tier has this code.")
IN_USE = _("This tier is still in use, so it cannot be removed.")

# What may refer to a tier (every foreign key to it), with how each use is reported. The
# foreign keys cascade, so a tier is removed only when none of these counts is above zero.
USES: tuple[Use, ...] = (
    Use(
        "dealers",
        "dealer",
        "tier",
        _("Dealers in this tier: %(n)s. Move them to another tier first."),
    ),
    Use(
        "tier_prices",
        "tier_price",
        "tier",
        _("Tier prices: %(n)s. Remove them under Products and prices first."),
    ),
    Use(
        "volume_breaks",
        "volume_break",
        "tier",
        _("Volume breaks: %(n)s. Remove them under Products and prices first."),
    ),
    Use(
        "promotions",
        "promotion",
        "tier",
        _("Promotions for this tier: %(n)s. Set them to another tier or to every tier first."),
    ),
    Use(
        "visibility",
        "product_visibility",
        "tier",
        _("Products shown to this tier: %(n)s. Change their visibility first."),
    ),
)


@dataclass(frozen=True)
class TierInput:
    code: str
    name: str
    rank: int = 0


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may change tiers."))


async def list_tiers(actor: Actor) -> list[dict]:
    """Every tier with the number of dealers in it, by rank then code."""
    _require_admin(actor)
    rows = await Tier.raw(
        "SELECT t.id AS id, t.code AS code, t.name AS name, t.rank AS rank, "
        "(SELECT COUNT(*) FROM dealer d WHERE d.tier = t.id) AS dealers "
        "FROM tier t ORDER BY t.rank, t.code"
    )
    return [{**r, "dealers": int(r["dealers"])} for r in rows]


async def get_tier(actor: Actor, tier_id: int) -> dict:
    """A tier with its dealer count and what refers to it (`uses`, `removable`)."""
    _require_admin(actor)
    row = await Tier.select().where(Tier.id == tier_id).first()
    if row is None:
        raise NotFound(MISSING)
    uses = await count_uses(Tier, USES, tier_id)
    return {**row, "dealers": uses["dealers"], "uses": uses, "removable": not any(uses.values())}


def _check(data: TierInput) -> list[FieldError]:
    errors = []
    if not CODE.match(data.code):
        errors.append(FieldError("code", _("Use 1 to 20 letters, digits, dashes or underscores.")))
    name = data.name.strip()
    if not name or len(name) > 50:
        errors.append(FieldError("name", _("Enter a name of at most 50 characters.")))
    if not -1000 <= data.rank <= 1000:
        errors.append(FieldError("rank", _("Enter a whole number from -1000 to 1000.")))
    return errors


async def save_tier(
    actor: Actor, tier_id: int | None, data: TierInput, *, now: datetime | None = None
) -> dict:
    """Add (tier_id None) or change a tier; a code another tier has, in any letter case (t1
    is T1), is a field error, also when two administrators save it at once."""
    _require_admin(actor)
    errors = _check(data)
    taken = Tier.exists().where(same_text(Tier.code, data.code))
    if tier_id is not None:
        taken = taken.where(Tier.id != tier_id)
    if not errors and await taken:
        errors.append(FieldError("code", TAKEN))
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    values = {"code": data.code, "name": data.name.strip(), "rank": data.rank}
    try:
        async with write_transaction():
            if tier_id is None:
                row = Tier(**values)
                await Tier.insert(row)
                tier_id, before = row.id, {}
            else:
                old = await Tier.select().where(Tier.id == tier_id).first()
                if old is None:
                    raise NotFound(MISSING)
                await Tier.update({getattr(Tier, k): v for k, v in values.items()}).where(
                    Tier.id == tier_id
                )
                before = {k: old[k] for k in values}
            await audit.record(actor, "tier.saved", "tier", tier_id, before, values, now=now)
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise ValidationFailed(errors=[FieldError("code", TAKEN)]) from None
    return await get_tier(actor, tier_id)


async def delete_tier(actor: Actor, tier_id: int, *, now: datetime | None = None) -> None:
    """Remove a tier nothing refers to; otherwise refuse (Conflict) and say what still uses
    it, one entry per kind of use, with the counts also in `extra["uses"]`."""
    _require_admin(actor)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await remove_unused(
            actor,
            Tier,
            tier_id,
            USES,
            missing=MISSING,
            in_use=IN_USE,
            audited=("code", "name", "rank"),
            now=now,
        )
