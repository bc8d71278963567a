"""Small factories that put master data in place; orders are made through domain functions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from functools import lru_cache

from argon2 import PasswordHasher

from portal.domain.pinyin import KEYED, with_keys
from portal.domain.scope import Actor, actor_from_user
from portal.tables import (
    Address,
    ApprovalRule,
    Category,
    ContractPrice,
    Dealer,
    PackUnit,
    Product,
    RepAssignment,
    Sku,
    StockLevel,
    Tier,
    TierPrice,
    User,
    VolumeBreak,
    Warehouse,
)

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=4)
def password_hash(password: str = PASSWORD) -> str:
    # Hash once per run, with a cheap argon2id cost: verification reads the cost from the
    # hash, so test sign-ins stay fast while production hashes keep the library's cost.
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)


async def _insert(table, **values) -> dict:
    """A row as the portal writes it: a name comes with its keys (pinyin.with_keys)."""
    row = table(**with_keys(table, values) if table._meta.tablename in KEYED else values)
    await row.save()
    return await table.select().where(table.id == row.id).first()


async def approval_rule(
    kind: str = "total_at_least",
    approver_role: str = "sales_manager",
    *,
    amount_fen: int = 1,
    step_order: int = 10,
) -> dict:
    """An approval rule (by default: every order waits for a sales manager)."""
    return await _insert(
        ApprovalRule,
        kind=kind,
        approver_role=approver_role,
        step_order=step_order,
        amount_fen=amount_fen,
        created_at=now(),
    )


async def tier(code: str | None = None, name: str = "一级经销商", rank: int = 1) -> dict:
    return await _insert(Tier, code=code or f"T{next(_seq)}", name=name, rank=rank)


async def warehouse(code: str | None = None, name: str = "华东仓", priority: int = 0) -> dict:
    return await _insert(Warehouse, code=code or f"WH{next(_seq)}", name=name, priority=priority)


async def dealer(
    tier_row: dict | None = None,
    *,
    name: str | None = None,
    credit_limit_fen: int = 10_000_000,
    balance_fen: int = 0,
    default_warehouse: dict | None = None,
    region: str = "华东",
    **extra,
) -> dict:
    tier_row = tier_row or await tier()
    n = next(_seq)
    row = await _insert(
        Dealer,
        code=f"D{n:04d}",
        name=name or f"测试经销商{n}",
        tier=tier_row["id"],
        region=region,
        credit_limit_fen=credit_limit_fen,
        balance_fen=balance_fen,
        default_warehouse=default_warehouse["id"] if default_warehouse else None,
        **{"created_at": now(), **extra},
    )
    await _insert(
        Address,
        dealer=row["id"],
        label="总仓",
        contact="王经理",
        phone="13800000000",
        line="上海市浦东新区张江路 1 号",
        is_default=True,
    )
    return row


async def user(
    role: str,
    dealer_row: dict | None = None,
    *,
    username: str | None = None,
    manager: dict | None = None,
    discount_authority_bp: int = 0,
    phone: str | None = None,
    display_name: str | None = None,
) -> dict:
    n = next(_seq)
    return await _insert(
        User,
        username=username or f"{role}{n}",
        phone=phone,
        display_name=display_name or f"{role} {n}",
        password_hash=password_hash(),
        role=role,
        dealer=dealer_row["id"] if dealer_row else None,
        manager=manager["id"] if manager else None,
        discount_authority_bp=discount_authority_bp,
        created_at=now(),
    )


def actor(user_row: dict) -> Actor:
    return actor_from_user(user_row)


async def assign(rep: dict, dealer_row: dict) -> None:
    await _insert(RepAssignment, dealer=dealer_row["id"], rep=rep["id"], assigned_at=now())


async def category(name: str = "饮料", parent: dict | None = None) -> dict:
    return await _insert(Category, name=name, parent=parent["id"] if parent else None)


async def sku(
    *,
    code: str | None = None,
    name: str = "农夫山泉 550ml",
    base_price_fen: int = 200,
    base_unit: str = "瓶",
    pack: tuple[str, int] | None = ("箱", 24),
    moq: int = 1,
    order_multiple: int = 1,
    product: dict | None = None,
    barcode: str | None = None,
    **extra,
) -> dict:
    n = next(_seq)
    if product is None:
        product = await _insert(Product, name=name, category=(await category())["id"])
    row = await _insert(
        Sku,
        product=product["id"],
        code=code or f"SKU{n:05d}",
        barcode=barcode or f"69{n:011d}",
        name=name,
        base_unit=base_unit,
        base_price_fen=base_price_fen,
        moq=moq,
        order_multiple=order_multiple,
        **extra,
    )
    if pack:
        await _insert(PackUnit, sku=row["id"], name=pack[0], factor=pack[1])
    return row


async def stock(sku_row: dict, warehouse_row: dict, on_hand: int, reserved: int = 0) -> dict:
    return await _insert(
        StockLevel,
        sku=sku_row["id"],
        warehouse=warehouse_row["id"],
        on_hand=on_hand,
        reserved=reserved,
    )


async def tier_price(
    tier_row: dict, sku_row: dict, *, price_fen: int | None = None, percent_bp: int | None = None
) -> dict:
    return await _insert(
        TierPrice,
        tier=tier_row["id"],
        sku=sku_row["id"],
        price_fen=price_fen,
        percent_bp=percent_bp,
    )


async def volume_break(tier_row: dict, sku_row: dict, min_qty: int, price_fen: int) -> dict:
    return await _insert(
        VolumeBreak, tier=tier_row["id"], sku=sku_row["id"], min_qty=min_qty, price_fen=price_fen
    )


async def contract_price(dealer_row: dict, sku_row: dict, price_fen: int) -> dict:
    return await _insert(
        ContractPrice, dealer=dealer_row["id"], sku=sku_row["id"], price_fen=price_fen
    )
