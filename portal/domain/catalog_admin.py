"""Products and prices kept by administrators one SKU at a time (商品与价格): a SKU's own fields,
its pack units, each tier's price and volume breaks, dealers' contract prices, the product's
picture (an address, or a photo uploaded and kept by the portal) and who may see the product;
and adding a product, or a SKU to a product, one at a time.

The rules for what may change are the import's (portal.domain.data_io), which uses the checks
and audited writes defined here: a SKU's code, base unit and product never change (stock and
orders count in that unit); a SKU's code is unique in any letter case and its barcode (if it
has one) is its own; the minimum order is a multiple of the order multiple; money is integer
fen, never below zero; a tier lists a fixed price or a percentage of the base price (or
neither), and volume breaks from 2 base units up, each at a larger quantity and a lower price
than the one before (the first below the tier's price); a pack unit (1 箱 = 24 瓶) holds a
whole number of base units. Every change is audited in its own transaction.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from portal.db import current_engine, fetch, is_sqlite, write_transaction
from portal.domain import audit, photos, pinyin
from portal.domain.catalog import SqlText, category_lineage, visible_where
from portal.domain.categories import TREE_LOCK
from portal.domain.codes import (
    MSG_BARCODE,
    MSG_BARCODE_TAKEN,
    barcode_ok,
    row_by_code,
    rows_by_code,
    same_text,
)
from portal.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
    _,
)
from portal.domain.idempotency import is_unique_violation
from portal.domain.money import amount_fen, format_yuan, from_fen, percent_bp, percent_text
from portal.domain.pricing import PriceInputs
from portal.domain.quantities import normalise
from portal.domain.safety_stock import MAX_SAFETY_STOCK
from portal.domain.scope import Actor
from portal.tables import (
    Category,
    ContractPrice,
    Dealer,
    PackUnit,
    Product,
    ProductPicture,
    ProductVisibility,
    Sku,
    Tier,
    TierPrice,
    VolumeBreak,
)

# Limits shared with the import.
MAX_QTY = 10_000_000  # base units: a volume break, a counted stock
ORDER_QTY_MAX = 100_000  # a minimum order quantity or an order multiple
SKU_TEXT = {"barcode": 40, "name": 160, "spec": 50, "colour": 30}
MAX_BREAKS = 20
MAX_BREAKS_TEXT = 2000  # characters of breaks typed one per line
MAX_PACKS = 5
MAX_PACKS_TEXT = 200  # characters of packs typed one per line
PACK_NAME_MAX = 10  # pack_unit.name
PACK_FACTOR_MAX = 100_000  # base units in one pack
MAX_WEIGHT_G = 1_000_000
IMAGE_MAX = 255  # product.image
PRODUCT_TEXT = {"name": 120, "brand": 50, "description": 2000}  # product's columns (and ours)
# Characters a pack's name may not hold: the import writes packs as "箱=24; 中包=6".
PACK_NAME_FORBIDDEN = frozenset("=＝;；,，")
MAX_LISTED = 200  # tiers or dealers a restricted product names
PER_PAGE = 30
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 100
MAX_TERMS = 5
VISIBILITIES = ("all", "restricted")

MISSING_SKU = _("Product not found.")
PRODUCT_TAKEN = _("Another product in this category has this name.")
MSG_CATEGORY = _("Choose a category from the list.")
MISSING_TIER = _("Tier not found.")
MISSING_DEALER = _("Dealer not found.")
MSG_AMOUNT = _("Enter an amount such as 1234.50.")
MSG_COST = _("Enter a cost such as 1.25, or leave it empty if it is not known.")
MSG_ORDER_QTY = _("Enter a whole number from 1 to %(max)s.")
MSG_NO_DEALER = _("No dealer has the code %(code)s.")
RACED = _("Someone else changed this at the same moment. Please try again.")
MSG_BREAK_FORMAT = _(
    "Break %(n)s: write the quantity from which it applies and its price, such as 240 1.60."
)
MSG_BREAK_QTY = _("Break %(n)s: the quantity must be a whole number from 2 to %(max)s.")
MSG_BREAK_PRICE = _("Break %(n)s: the price must be an amount such as 1.60.")
MSG_BREAK_ORDER = _("Break %(n)s: each break must start at a larger quantity than the one before.")
# A break is a lower price for a larger quantity: never at or above what it breaks from.
MSG_BREAK_NOT_LOWER = _(
    "Break %(n)s: the price must be lower than %(price)s, the price it breaks from."
)
MSG_MOQ_MULTIPLE = _("The minimum order must be a multiple of the order multiple (%(multiple)s).")
# What is wrong with a pack unit, by problem (see pack_problems); the import words them by row.
MSG_PACK = {
    "format": _("Pack %(n)s: write its name and how many %(unit)s it holds, such as box 24."),
    "name": _("Pack %(n)s: the name must be 1 to %(max)s characters, without spaces, = or ;."),
    "factor": _("Pack %(n)s: the number of %(unit)s must be a whole number from 2 to %(max)s."),
    "twice": _("Pack %(n)s: another pack already has the name %(name)s."),
    "base": _("Pack %(n)s: %(name)s is the base unit itself, not a pack."),
    "many": _("At most %(max)s pack units."),
    "long": _("At most %(max)s characters."),
}
MSG_WEIGHT = _("Enter the weight in grams, a whole number from 0 to %(max)s.")
MSG_IMAGE = _(
    "Enter an address starting with https://, or a path starting with /static/, "
    "of at most %(max)s characters; leave it empty for no picture."
)
# Where the portal serves a product's uploaded picture (see ProductPicture); product.image holds
# this path, so every page that shows the address shows the upload.
PICTURE_PATH = "/pictures/products/"
OWN_PICTURE = re.compile(r"/pictures/products/([0-9]{1,10})")
# A volume break's quantity with its unit glued on: "10箱".
_QTY_IN_UNIT = re.compile(r"([0-9]{1,9})([^\W\d_]+)")
MISSING_PICTURE = _("Picture not found.")
MSG_OTHER_PICTURE = _(
    "This address is a picture uploaded for another product, or one replaced since: upload "
    "this product's picture instead, or enter another address."
)


# --- checks shared with the import ---------------------------------------------------------------


def whole(value: str | int, low: int = 0, high: int = MAX_QTY) -> int | None:
    """A whole number from low to high as typed (a spreadsheet's "12.0" too), or None."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdecimal() or len(text) > 9:
        return None
    number = int(text)
    return number if low <= number <= high else None


Problem = tuple[str, dict[str, Any]]  # a key of MSG_PACK and its parameters


def pack_problems(
    pairs: Sequence[tuple[str, str | int] | None], base_unit: str
) -> tuple[list[tuple[str, int]], list[Problem]]:
    """Pack units as (name, base units in one), in the order given, and what is wrong with
    them: each pack n (from 1) named by 1 to PACK_NAME_MAX characters without spaces (nor the
    import's separators), holding a whole number of base units from 2 on (1 would be the base
    unit again); names differ from each other and from the base unit; at most MAX_PACKS.
    None in pairs is a pack that could not be read as a name and a number."""
    if len(pairs) > MAX_PACKS:
        return [], [("many", {"max": MAX_PACKS})]
    packs: list[tuple[str, int]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    base = base_unit.strip().casefold()
    for n, pair in enumerate(pairs, start=1):
        if pair is None:
            problems.append(("format", {"n": n, "unit": base_unit}))
            continue
        name, factor = str(pair[0]).strip(), whole(pair[1], 2, PACK_FACTOR_MAX)
        bad_name = (
            not 1 <= len(name) <= PACK_NAME_MAX
            or any(c.isspace() or not c.isprintable() for c in name)
            or any(c in PACK_NAME_FORBIDDEN for c in name)
        )
        if bad_name:
            problems.append(("name", {"n": n, "max": PACK_NAME_MAX}))
        if factor is None:
            problems.append(("factor", {"n": n, "unit": base_unit, "max": PACK_FACTOR_MAX}))
        if bad_name or factor is None:
            continue
        if name.casefold() == base:
            problems.append(("base", {"n": n, "name": name}))
        elif name.casefold() in seen:
            problems.append(("twice", {"n": n, "name": name}))
        else:
            seen.add(name.casefold())
            packs.append((name, factor))
    return packs, problems


def check_packs(
    packs: str | Sequence[tuple[str, str | int]], base_unit: str
) -> tuple[list[tuple[str, int]], list[FieldError]]:
    """Pack units typed one per line ("箱 24": a 箱 holds 24 base units) or as (name, factor)
    pairs, checked by pack_problems; errors on the field "packs", each naming its line."""
    if isinstance(packs, str):
        if len(packs) > MAX_PACKS_TEXT:
            return [], [FieldError("packs", MSG_PACK["long"], {"max": MAX_PACKS_TEXT})]
        pairs: list[tuple[str, str | int] | None] = []
        for line in packs.splitlines():
            parts = line.split()
            if parts:
                pairs.append((parts[0], parts[1]) if len(parts) == 2 else None)
    else:
        pairs = [(str(name), factor) for name, factor in packs]
    result, problems = pack_problems(pairs, base_unit)
    return result, [FieldError("packs", MSG_PACK[key], params) for key, params in problems]


def packs_text(packs: Sequence[tuple[str, int]]) -> str:
    """Pack units as an administrator types them back, one per line: "箱 24"."""
    return "\n".join(f"{name} {factor}" for name, factor in packs)


def own_picture_id(image: str) -> int | None:
    """The id of the uploaded picture an image address names (/pictures/products/12), or None
    if it is not one of the portal's own."""
    match = OWN_PICTURE.fullmatch(image or "")
    return int(match.group(1)) if match else None


def check_image(text: str) -> str | None:
    """A product's picture: an https address (pages allow pictures from https sites, e.g. an
    object store; a plain http one would be mixed content on the portal's https pages), a
    path under /static/ or an uploaded picture's own path (/pictures/products/12), at most
    IMAGE_MAX characters, without spaces; "" for none. None if it is none of these."""
    image = str(text).strip()
    if not image:
        return ""
    if len(image) > IMAGE_MAX or any(c.isspace() or not c.isprintable() for c in image):
        return None
    if image.startswith("/static/"):
        return None if "/../" in image or image.endswith("/..") else image
    if own_picture_id(image) is not None:
        return image
    try:
        parts = urlsplit(image)
    except ValueError:
        return None
    return image if parts.scheme.lower() == "https" and parts.hostname else None


def foreign_picture(image: str, current: str) -> bool:
    """Whether image is the address of an uploaded picture other than the product's own
    current one (current: the product's image now; "" for a product being added). Products
    never share an upload: it goes when its own product's picture is replaced, and the other
    product would be left showing nothing."""
    return own_picture_id(image) is not None and image != current


def check_product_image(text: str, current: str) -> tuple[str, FieldError | None]:
    """A product's picture as typed (check_image) for a product whose image is now current
    ("" for one being added): the address, or what is wrong with it (field "image")."""
    image = check_image(text)
    if image is None:
        return "", FieldError("image", MSG_IMAGE, {"max": IMAGE_MAX})
    if foreign_picture(image, current):
        return "", FieldError("image", MSG_OTHER_PICTURE)
    return image, None


async def refuse_foreign_picture(product_id: int | None, image: str) -> None:
    """Inside the use case's transaction, just before a product (None: one being added) gets
    this image: an uploaded picture's address only on the product it was uploaded for (its
    upload is the product's one picture). Seen again here, as a picture replaced meanwhile
    would otherwise be written as an address that serves nothing."""
    picture = own_picture_id(image)
    if picture is not None and (
        product_id is None
        or not await ProductPicture.exists().where(
            (ProductPicture.id == picture) & (ProductPicture.product == product_id)
        )
    ):
        raise ValidationFailed(errors=[FieldError("image", MSG_OTHER_PICTURE)])


# --- audited writes shared with the import -----------------------------------------------------


async def upsert_audited(
    actor: Actor,
    now: datetime,
    table: Any,
    where: Any,
    values: dict[str, Any],
    keys: dict[str, Any],
    action: str,
) -> str:
    """Insert or update the one row `where` picks with `values`, audited; "created", "updated"
    or "unchanged" (nothing written). Call it inside the use case's transaction."""
    before = await table.select().where(where).first()
    if before is not None and all(before[k] == v for k, v in values.items()):
        return "unchanged"
    if before is None:
        row = table(**keys, **values)
        await table.insert(row)
        entity_id, old = row.id, {}
    else:
        await table.update({getattr(table, k): v for k, v in values.items()}).where(
            table.id == before["id"]
        )
        entity_id, old = before["id"], {k: before[k] for k in values}
    await audit.record(
        actor, action, table._meta.tablename, entity_id, old, {**keys, **values}, now=now
    )
    return "created" if before is None else "updated"


async def delete_audited(
    actor: Actor,
    now: datetime,
    table: Any,
    where: Any,
    keys: dict[str, Any],
    fields: Sequence[str],
    action: str,
) -> bool:
    """Delete the one row `where` picks, audited with what it held; False if there was none."""
    before = await table.select().where(where).first()
    if before is None:
        return False
    await table.delete().where(table.id == before["id"])
    await audit.record(
        actor,
        action,
        table._meta.tablename,
        before["id"],
        {**keys, **{k: before[k] for k in fields}},
        {},
        now=now,
    )
    return True


async def write_sku_changes(
    actor: Actor, sku_id: int, values: dict[str, Any], action: str, now: datetime
) -> bool:
    """Set those of a SKU's fields that differ, audited with before and after; False if none
    did. Call it inside the use case's transaction."""
    before = await Sku.select().where(Sku.id == sku_id).first()
    if before is None:
        raise NotFound(MISSING_SKU)

    def old(key: str) -> Any:
        return bool(before[key]) if isinstance(values[key], bool) else before[key]

    changed = {k: v for k, v in values.items() if old(k) != v}
    if not changed:
        return False
    keyed = pinyin.with_keys(Sku, changed)
    await Sku.update({getattr(Sku, k): v for k, v in keyed.items()}).where(Sku.id == sku_id)
    await audit.record(actor, action, "sku", sku_id, {k: old(k) for k in changed}, changed, now=now)
    return True


def _by_size(packs: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    return sorted(packs, key=lambda p: (-p[1], p[0]))


async def write_packs(
    actor: Actor, sku_id: int, packs: Sequence[tuple[str, int]], now: datetime
) -> bool:
    """Replace a SKU's pack units with these, audited ("sku.packs", before and after); False,
    with nothing written, if they are the ones it has. Call it inside the use case's
    transaction. Carts and placed orders keep their quantities in base units, so changing,
    adding or removing a pack never alters them; only how they are offered and shown."""
    rows = await PackUnit.select(PackUnit.name, PackUnit.factor).where(PackUnit.sku == sku_id)
    before = _by_size([(r["name"], int(r["factor"])) for r in rows])
    after = _by_size(packs)
    if before == after:
        return False
    await PackUnit.delete().where(PackUnit.sku == sku_id)
    if after:
        await PackUnit.insert(*(PackUnit(sku=sku_id, name=n, factor=f) for n, f in after))
    await audit.record(
        actor,
        "sku.packs",
        "sku",
        sku_id,
        {"packs": [[n, f] for n, f in before]},
        {"packs": [[n, f] for n, f in after]},
        now=now,
    )
    return True


async def write_image(actor: Actor, product_id: int, image: str, now: datetime) -> bool:
    """Set a product's picture, its cover (every SKU of the product shows it), audited
    ("product.image"); False, with nothing written, if it already has this one. A cover the
    product had uploaded goes when its address is replaced or removed; removed, the product's
    next picture (if it has more) takes its place. Call it inside the use case's
    transaction."""
    row = await Product.select(Product.image).where(Product.id == product_id).first()
    if row is None:
        raise NotFound(MISSING_SKU)
    if (row["image"] or "") == image:
        return False
    await refuse_foreign_picture(product_id, image)
    old_picture = own_picture_id(row["image"] or "")
    if old_picture is not None:
        # Only this product's own upload: one of another product's that it shows from before
        # addresses were checked (see foreign_picture) stays that product's.
        await ProductPicture.delete().where(
            (ProductPicture.id == old_picture) & (ProductPicture.product == product_id)
        )
    if not image:
        # The cover removed: the product's next picture, if it has more, takes its place.
        following = (
            await ProductPicture.select(ProductPicture.id)
            .where(ProductPicture.product == product_id)
            .order_by(ProductPicture.id)
            .first()
        )
        image = f"{PICTURE_PATH}{following['id']}" if following else ""
        if (row["image"] or "") == image:
            return False
    await Product.update({Product.image: image}).where(Product.id == product_id)
    await audit.record(
        actor,
        "product.image",
        "product",
        product_id,
        {"image": row["image"] or ""},
        {"image": image},
        now=now,
    )
    return True


# --- uploaded pictures ------------------------------------------------------------------------


async def upload_product_picture(
    actor: Actor, product_id: int, upload: photos.Upload, *, now: datetime | None = None
) -> dict[str, Any]:
    """Keep an uploaded photo as the product's picture (every SKU of it shows it): checked by
    its content, re-encoded without metadata and scaled (portal.domain.photos), stored, and
    product.image set to its own address (audited, "product.image"). The picture it had
    uploaded before goes in the same transaction. A refused file is a field error
    ("picture"), nothing written. The product's fields as get_product gives them."""
    picture = await _checked_picture(actor, product_id, upload)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock(Product, product_id)
        await _refuse_more_than_max(product_id, replacing=True)
        row = await _store_picture(product_id, picture, now)
        # The cover it replaces goes (write_image); the product's other pictures stay.
        await write_image(actor, product_id, f"{PICTURE_PATH}{row.id}", now)
    return await get_product(actor, product_id)


async def _checked_picture(actor: Actor, product_id: int, upload: photos.Upload) -> photos.Picture:
    """An administrator's upload for an existing product, checked by its content and
    re-encoded (portal.domain.photos); ValidationFailed on the field "picture"."""
    require_admin(actor)
    if not await Product.exists().where(Product.id == product_id):
        raise NotFound(MISSING_SKU)
    errors: list[FieldError] = []
    if not upload.filename and not upload.data:
        raise ValidationFailed(errors=[FieldError("picture", _("Choose a picture to upload."))])
    # Decoding and re-encoding is CPU work: off the event loop, and before any lock is taken.
    pictures = await asyncio.to_thread(
        photos.check, [upload], field="picture", max_count=1, errors=errors
    )
    if errors:
        raise ValidationFailed(errors=errors)
    return pictures[0]


async def _refuse_more_than_max(product_id: int, *, replacing: bool) -> None:
    """ValidationFailed ("picture") when one more upload would give the product more than
    MAX_PICTURES; `replacing`: the upload takes the cover's place (an uploaded cover then
    goes, so it adds none). Under the product's lock."""
    count = await ProductPicture.count().where(ProductPicture.product == product_id)
    if replacing and own_picture_id(await _image_now(product_id)) is not None:
        count -= 1
    if count >= MAX_PICTURES:
        raise ValidationFailed(
            errors=[FieldError("picture", MSG_TOO_MANY_PICTURES, {"max": MAX_PICTURES})]
        )


async def _store_picture(product_id: int, picture: photos.Picture, now: datetime) -> Any:
    """The picture's row (its id set), in the caller's transaction."""
    row = ProductPicture(
        product=product_id,
        content_type=picture.content_type,
        data=picture.data,
        thumb=picture.thumb,
        created_at=now,
    )
    await ProductPicture.insert(row)
    return row


# A product's pictures: its cover (product.image) and more, shown in turn on its page.
MAX_PICTURES = 9
MSG_TOO_MANY_PICTURES = _("A product has at most %(max)s pictures: remove one first.")


async def product_pictures(product_id: int, image: str | None = None) -> list[dict[str, Any]]:
    """The product's uploaded pictures, the cover first, then the others as they were added:
    [{"id", "address", "cover"}]. An image address of another site (the cover too, then) is
    not among them: see picture_addresses. `image`: the product's image, if the caller has
    just read it."""
    if image is None:
        product = await Product.select(Product.image).where(Product.id == product_id).first()
        if product is None:
            raise NotFound(MISSING_SKU)
        image = product["image"] or ""
    cover = own_picture_id(image)
    rows = (
        await ProductPicture.select(ProductPicture.id)
        .where(ProductPicture.product == product_id)
        .order_by(ProductPicture.id)
    )
    found = [
        {"id": r["id"], "address": f"{PICTURE_PATH}{r['id']}", "cover": r["id"] == cover}
        for r in rows
    ]
    return sorted(found, key=lambda p: not p["cover"])  # stable: the rest by id


def picture_addresses(image: str, pictures: list[dict[str, Any]]) -> list[str]:
    """What a product's page shows in turn: its cover (an upload or another site's address),
    then its other uploads."""
    addresses = [image] if image else []
    return addresses + [p["address"] for p in pictures if p["address"] != image]


async def _own_picture(product_id: int, picture_id: int) -> dict[str, Any]:
    row = (
        await ProductPicture.select(ProductPicture.id)
        .where((ProductPicture.id == picture_id) & (ProductPicture.product == product_id))
        .first()
    )
    if row is None:
        raise NotFound(MISSING_PICTURE)
    return row


async def add_product_picture(
    actor: Actor, product_id: int, upload: photos.Upload, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Keep an uploaded photo as one more picture of the product (checked and re-encoded as
    upload_product_picture does), audited ("product.picture_added"); the cover too when the
    product has none. At most MAX_PICTURES a product (field "picture"). The pictures after."""
    picture = await _checked_picture(actor, product_id, upload)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock(Product, product_id)
        await _refuse_more_than_max(product_id, replacing=False)
        row = await _store_picture(product_id, picture, now)
        await audit.record(
            actor,
            "product.picture_added",
            "product",
            product_id,
            {},
            {"picture_id": row.id},
            now=now,
        )
        if not await _image_now(product_id):
            await write_image(actor, product_id, f"{PICTURE_PATH}{row.id}", now)
    return await product_pictures(product_id)


async def make_cover(
    actor: Actor, product_id: int, picture_id: int, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Show one of the product's pictures first (product.image, what the catalog rows show);
    the cover before stays among its pictures (an upload; another site's address is simply
    replaced). Audited ("product.image"). The pictures after."""
    require_admin(actor)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock(Product, product_id)
        await _own_picture(product_id, picture_id)
        image = await _image_now(product_id)
        address = f"{PICTURE_PATH}{picture_id}"
        if image != address:
            await _set_cover(actor, product_id, image, address, now)
    return await product_pictures(product_id)


async def _image_now(product_id: int) -> str:
    row = await Product.select(Product.image).where(Product.id == product_id).first()
    return (row["image"] if row else "") or ""


async def _set_cover(actor: Actor, product_id: int, image: str, cover: str, now: datetime) -> None:
    """product.image from `image` to `cover`, audited ("product.image"), in the caller's
    transaction (the pictures stay: see write_image for a cover that goes)."""
    await Product.update({Product.image: cover}).where(Product.id == product_id)
    await audit.record(
        actor, "product.image", "product", product_id, {"image": image}, {"image": cover}, now=now
    )


async def remove_product_picture(
    actor: Actor, product_id: int, picture_id: int, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Remove one of the product's pictures, audited ("product.picture_removed"); the cover's
    place goes to the next picture, or to none. The pictures after."""
    require_admin(actor)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock(Product, product_id)
        await _own_picture(product_id, picture_id)
        if await _image_now(product_id) == f"{PICTURE_PATH}{picture_id}":
            # The cover goes as when its address is cleared: the next picture takes its place.
            await write_image(actor, product_id, "", now)
        else:
            await ProductPicture.delete().where(ProductPicture.id == picture_id)
        await audit.record(
            actor,
            "product.picture_removed",
            "product",
            product_id,
            {"picture_id": picture_id},
            {},
            now=now,
        )
    return await product_pictures(product_id)


async def sku_of_product(actor: Actor, product_id: int, wanted: str | int) -> int | None:
    """Which SKU's page shows a product to an administrator: the wanted SKU if it is one of
    the product's, else its first; None if it has none. NotFound for an unknown product."""
    require_admin(actor)
    if not await Product.exists().where(Product.id == product_id):
        raise NotFound(MISSING_SKU)
    sku_id = whole(wanted, 1, 2**31 - 1)
    if sku_id is not None and await Sku.exists().where(
        (Sku.id == sku_id) & (Sku.product == product_id)
    ):
        return sku_id
    first = await Sku.select(Sku.id).where(Sku.product == product_id).order_by(Sku.id).first()
    return None if first is None else int(first["id"])


@dataclass(frozen=True)
class PictureFile:
    """A stored picture's bytes as they are served."""

    content_type: str
    data: bytes


async def get_product_picture(
    actor: Actor, picture_id: int, *, thumbnail: bool = False
) -> PictureFile:
    """An uploaded product picture (or its thumbnail): the cover or another of the product's
    pictures (a replaced or removed one is gone). Staff see every such picture: a rep looks
    at restricted products for their dealers, and staff's pages are not scoped by product. A
    dealer's user sees it only where the catalog shows the product to their dealer (an active
    SKU of an active product listed to all, or to their tier or to them:
    catalog.visible_where).
    NotFound otherwise, the same as for an id that does not exist."""
    column = "thumb" if thumbnail else "data"
    sql = SqlText().add(
        f'SELECT pp.content_type, pp.{column} AS bytes FROM "product_picture" pp '
        'JOIN "product" p ON p.id = pp.product'
    )
    if actor.is_staff:
        sql.add("WHERE 1 = 1")
    else:
        dealer = None
        if actor.dealer_id is not None:
            dealer = (
                await Dealer.select(Dealer.id, Dealer.tier)
                .where(Dealer.id == actor.dealer_id)
                .first()
            )
        if dealer is None:
            raise NotFound(MISSING_PICTURE)
        visible_where(sql.add('JOIN "sku" s ON s.product = p.id'), dealer)
    sql.add("AND pp.id = {} LIMIT 1", picture_id)
    rows = await sql.run()
    if not rows:
        raise NotFound(MISSING_PICTURE)
    return PictureFile(content_type=rows[0]["content_type"], data=bytes(rows[0]["bytes"]))


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuRow:
    """One line of the administrators' SKU list."""

    id: int
    code: str
    barcode: str
    name: str
    spec: str
    colour: str
    base_unit: str
    base_price_fen: int
    active: bool
    product_id: int
    product_name: str
    product_active: bool
    visibility: str


@dataclass(frozen=True)
class SkuPage:
    items: list[SkuRow]
    page: int
    per_page: int
    has_more: bool
    total: int


@dataclass(frozen=True)
class TierPriceRow:
    """What one tier pays for the SKU: a fixed price or a percentage of the base price (or
    neither: the base price), and its volume breaks (min qty in base units, fen), ascending."""

    tier_id: int
    tier_code: str
    tier_name: str
    price_fen: int | None
    percent_bp: int | None
    breaks: tuple[tuple[int, int], ...]
    # The tier's own price per base unit (a percentage worked out), None if it lists none.
    unit_price_fen: int | None

    @property
    def percent(self) -> str:
        return "" if self.percent_bp is None else percent_text(self.percent_bp)


@dataclass(frozen=True)
class ContractRow:
    dealer_id: int
    dealer_code: str
    dealer_name: str
    price_fen: int


@dataclass(frozen=True)
class Listed:
    """A tier or a dealer a restricted product is shown to."""

    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Visibility:
    product_id: int
    visibility: str  # "all" or "restricted"
    tiers: tuple[Listed, ...] = ()
    dealers: tuple[Listed, ...] = ()


@dataclass(frozen=True)
class SkuDetail:
    sku: dict[str, Any]  # the SKU row (booleans as bool)
    # id, name, brand, description, image, active, category_id, category_path
    product: dict[str, Any]
    packs: list[tuple[str, int]]  # (name, base units in one), largest first
    tier_prices: list[TierPriceRow]  # every tier, by rank
    contract_prices: list[ContractRow]  # by dealer code
    visibility: Visibility


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden(_("Only an administrator may change products and prices."))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_skus(
    actor: Actor, q: str = "", *, page: int = 1, per_page: int = PER_PAGE
) -> SkuPage:
    """SKUs by code, ordered by code, inactive ones included. Every whitespace-separated term
    of q must be part of the code, the barcode, or the SKU's name, product name or brand."""
    require_admin(actor)
    page = min(max(int(page), 1), MAX_PAGE)
    per_page = min(max(int(per_page), 1), 100)
    sqlite = is_sqlite(current_engine())
    where, args = "", []
    for term in q.strip()[:MAX_QUERY_CHARS].split()[:MAX_TERMS]:
        code = "s.code" if sqlite else "LOWER(s.code)"
        # sku.search_text is the lower-cased name, product name and brand (kept by triggers).
        where += (
            f" AND (s.search_text LIKE {{}} ESCAPE '\\' OR {code} LIKE {{}} ESCAPE '\\' "
            "OR s.barcode LIKE {} ESCAPE '\\')"
        )
        lowered = f"%{_escape_like(term.lower())}%"
        args += [lowered, lowered, f"%{_escape_like(term)}%"]
    base = 'FROM "sku" s JOIN "product" p ON p.id = s.product WHERE 1 = 1' + where
    rows = await Sku.raw(
        "SELECT s.id, s.code, s.barcode, s.name, s.spec, s.colour, s.base_unit, "
        "s.base_price_fen, s.active, p.id AS product_id, p.name AS product_name, "
        f"p.active AS product_active, p.visibility {base} ORDER BY s.code, s.id "
        "LIMIT {} OFFSET {}",
        *args,
        per_page + 1,
        (page - 1) * per_page,
    )
    count = await Sku.raw(f"SELECT COUNT(*) AS n {base}", *args)
    items = [
        SkuRow(
            id=r["id"],
            code=r["code"],
            barcode=r["barcode"] or "",
            name=r["name"],
            spec=r["spec"] or "",
            colour=r["colour"] or "",
            base_unit=r["base_unit"],
            base_price_fen=int(r["base_price_fen"]),
            active=bool(r["active"]),
            product_id=r["product_id"],
            product_name=r["product_name"],
            product_active=bool(r["product_active"]),
            visibility=r["visibility"],
        )
        for r in rows[:per_page]
    ]
    return SkuPage(
        items=items,
        page=page,
        per_page=per_page,
        has_more=len(rows) > per_page,
        total=int(count[0]["n"]) if count else 0,
    )


async def _visibility(product_id: int, visibility: str) -> Visibility:
    rows = await ProductVisibility.raw(
        "SELECT pv.tier, pv.dealer, t.code AS tier_code, t.name AS tier_name, "
        "d.code AS dealer_code, d.name AS dealer_name FROM product_visibility pv "
        "LEFT JOIN tier t ON t.id = pv.tier LEFT JOIN dealer d ON d.id = pv.dealer "
        "WHERE pv.product = {} ORDER BY t.rank, t.code, d.code",
        product_id,
    )
    tiers = {
        r["tier"]: Listed(r["tier"], r["tier_code"], r["tier_name"]) for r in rows if r["tier"]
    }
    dealers = {
        r["dealer"]: Listed(r["dealer"], r["dealer_code"], r["dealer_name"])
        for r in rows
        if r["dealer"]
    }
    return Visibility(product_id, visibility, tuple(tiers.values()), tuple(dealers.values()))


async def get_visibility(actor: Actor, product_id: int) -> Visibility:
    require_admin(actor)
    row = await Product.select(Product.visibility).where(Product.id == product_id).first()
    if row is None:
        raise NotFound(MISSING_SKU)
    return await _visibility(product_id, row["visibility"])


def unit_price(base_fen: int, price_fen: int | None, bp: int | None) -> int | None:
    """The tier's own price per base unit, as price resolution works it out (pricing.py)."""
    inputs = PriceInputs(
        sku_id=0,
        base_price_fen=base_fen,
        base_unit="",
        pack_name=None,
        pack_factor=None,
        tier_name="",
        tier_price_fen=price_fen,
        tier_percent_bp=bp,
        breaks=(),
        contract_price_fen=None,
    )
    return inputs.tier_unit_price_fen()


async def _tier_prices(
    sku_id: int, base_fen: int, tier_id: int | None = None
) -> list[TierPriceRow]:
    tiers = Tier.select(Tier.id, Tier.code, Tier.name).order_by(Tier.rank).order_by(Tier.code)
    prices = TierPrice.select().where(TierPrice.sku == sku_id)
    breaks = VolumeBreak.select().where(VolumeBreak.sku == sku_id).order_by(VolumeBreak.min_qty)
    if tier_id is not None:
        tiers = tiers.where(Tier.id == tier_id)
        prices = prices.where(TierPrice.tier == tier_id)
        breaks = breaks.where(VolumeBreak.tier == tier_id)
    by_tier = {r["tier"]: r for r in await prices}
    steps: dict[int, list[tuple[int, int]]] = {}
    for r in await breaks:
        steps.setdefault(r["tier"], []).append((int(r["min_qty"]), int(r["price_fen"])))
    rows = []
    for t in await tiers:
        price = by_tier.get(t["id"]) or {}
        fen, bp = price.get("price_fen"), price.get("percent_bp")
        rows.append(
            TierPriceRow(
                tier_id=t["id"],
                tier_code=t["code"],
                tier_name=t["name"],
                price_fen=fen,
                percent_bp=bp,
                breaks=tuple(steps.get(t["id"], [])),
                unit_price_fen=unit_price(base_fen, fen, bp),
            )
        )
    return rows


async def _contract_prices(sku_id: int, dealer_id: int | None = None) -> list[ContractRow]:
    sql = (
        "SELECT d.id, d.code, d.name, cp.price_fen FROM contract_price cp "
        "JOIN dealer d ON d.id = cp.dealer WHERE cp.sku = {}"
    )
    args: list[Any] = [sku_id]
    if dealer_id is not None:
        sql += " AND d.id = {}"
        args.append(dealer_id)
    rows = await ContractPrice.raw(sql + " ORDER BY d.code", *args)
    return [ContractRow(r["id"], r["code"], r["name"], int(r["price_fen"])) for r in rows]


async def _sku(sku_id: int) -> dict[str, Any]:
    row = await Sku.select().where(Sku.id == sku_id).first()
    if row is None:
        raise NotFound(MISSING_SKU)
    for key in ("active", "allow_backorder"):
        row[key] = bool(row[key])
    return row


async def get_sku(actor: Actor, sku_id: int) -> SkuDetail:
    """One SKU with its product, pack units, every tier's price and breaks, the contract prices
    and who may see the product; NotFound for an unknown id."""
    require_admin(actor)
    sku = await _sku(sku_id)
    product = await Product.select().where(Product.id == sku["product"]).first()
    packs = await PackUnit.select(PackUnit.name, PackUnit.factor).where(PackUnit.sku == sku_id)
    return SkuDetail(
        sku=sku,
        product=await _product_fields(product),
        packs=sorted(((p["name"], int(p["factor"])) for p in packs), key=lambda p: (-p[1], p[0])),
        tier_prices=await _tier_prices(sku_id, int(sku["base_price_fen"])),
        contract_prices=await _contract_prices(sku_id),
        visibility=await _visibility(product["id"], product["visibility"]),
    )


# --- changing ---------------------------------------------------------------------------------


async def _lock(table: Any, row_id: int) -> None:
    """On PostgreSQL, hold the row until commit, so that changes to one SKU (or product) run
    one after the other; on SQLite the IMMEDIATE transaction already does."""
    if not is_sqlite(current_engine()):
        await table.select(table.id).where(table.id == row_id).lock_rows().first()


@dataclass(frozen=True)
class SkuChange:
    """A SKU's editable fields as typed (or as the API sent them). Weight, picture, pack
    units and cost may be left out (None): they stay as they are."""

    name: str
    barcode: str
    base_price: str  # yuan per base unit, "12.50"
    moq: str | int
    order_multiple: str | int
    safety_stock: str | int
    allow_backorder: bool
    active: bool
    weight_g: str | int | None = None
    # The product's picture, shared by all its SKUs: an https address or a /static/ path
    # (or the address of its own upload, as it is); "" removes it.
    image: str | None = None
    # Every pack unit, typed one per line ("箱 24") or as (name, factor) pairs; none: "".
    packs: str | Sequence[tuple[str, str | int]] | None = None
    # What one base unit costs the supplier, in yuan as typed ("1.25"); "" when it is not
    # known. Only approvers and administrators ever see it (portal/domain/margins.py).
    cost_price: str | None = None


def _check_sku(data: SkuChange) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    name, barcode = data.name.strip(), data.barcode.strip()
    if not name or len(name) > SKU_TEXT["name"]:
        errors.append(
            FieldError(
                "name", _("Enter a name of at most %(max)s characters."), {"max": SKU_TEXT["name"]}
            )
        )
    if not barcode_ok(barcode):
        errors.append(FieldError("barcode", MSG_BARCODE))
    price = amount_fen(data.base_price)
    if price is None:
        errors.append(FieldError("base_price", MSG_AMOUNT))
    numbers = {}
    for key in ("moq", "order_multiple"):
        numbers[key] = whole(getattr(data, key), 1, ORDER_QTY_MAX)
        if numbers[key] is None:
            errors.append(FieldError(key, MSG_ORDER_QTY, {"max": ORDER_QTY_MAX}))
    errors += moq_problems(numbers["moq"], numbers["order_multiple"])
    safety = whole(data.safety_stock, 0, MAX_SAFETY_STOCK)
    if safety is None:
        errors.append(
            FieldError(
                "safety_stock",
                _("Enter a whole number from 0 to %(max)s."),
                {"max": MAX_SAFETY_STOCK},
            )
        )
    values = {
        "name": name,
        "barcode": barcode,
        "base_price_fen": price,
        **numbers,
        "safety_stock": safety,
        "allow_backorder": bool(data.allow_backorder),
        "active": bool(data.active),
    }
    if data.weight_g is not None:
        values["weight_g"] = whole(data.weight_g, 0, MAX_WEIGHT_G)
        if values["weight_g"] is None:
            errors.append(FieldError("weight_g", MSG_WEIGHT, {"max": MAX_WEIGHT_G}))
    if data.cost_price is not None:
        cost_text = str(data.cost_price).strip()
        values["cost_price_fen"] = amount_fen(cost_text) if cost_text else None
        if cost_text and values["cost_price_fen"] is None:
            errors.append(FieldError("cost_price", MSG_COST))
    return values, errors


def moq_problems(moq: int | None, multiple: int | None) -> list[FieldError]:
    """A minimum order that no quantity in the order multiple meets exactly (5 in 4s: a
    dealer stepping up from 5 never lands on a multiple of 4) is refused."""
    if moq is None or multiple is None or moq % multiple == 0:
        return []
    return [FieldError("moq", MSG_MOQ_MULTIPLE, {"multiple": multiple})]


async def _barcode_owner(barcode: str, sku_id: int | None) -> str | None:
    """The code of another SKU (not sku_id) that has this barcode, if any; "" is nobody's."""
    if not barcode:
        return None
    query = Sku.select(Sku.code).where(Sku.barcode == barcode)
    if sku_id is not None:
        query = query.where(Sku.id != sku_id)
    row = await query.order_by(Sku.id).first()
    return None if row is None else row["code"]


async def _barcode_taken(barcode: str, sku_id: int | None) -> list[FieldError]:
    owner = await _barcode_owner(barcode, sku_id) if barcode_ok(barcode) else None
    return [] if owner is None else [FieldError("barcode", MSG_BARCODE_TAKEN, {"code": owner})]


MSG_BASE_BREAKS = _(
    "At this base price the %(tier)s price would be %(price)s, not above its volume break "
    "from %(qty)s (%(break_price)s): lower the break first."
)


async def breaks_broken_by_base(sku_ids_bases: dict[int, int]) -> dict[int, list[dict[str, Any]]]:
    """For SKUs whose base price is to change (sku id -> new base price in fen): the volume
    breaks that would then be at or above the price they break from (a tier priced as a
    percentage of the base price, or not at all, follows the base price), as message params
    per SKU. A dealer must never pay more for buying more."""
    ids = sorted(sku_ids_bases)
    if not ids:
        return {}
    marks = ", ".join("{}" for _i in ids)
    rows = await fetch(
        "SELECT vb.sku AS sku, vb.tier AS tier, t.name AS tier_name, vb.min_qty AS min_qty, "
        "vb.price_fen AS price_fen, tp.price_fen AS tp_price, tp.percent_bp AS tp_bp "
        'FROM "volume_break" vb JOIN "tier" t ON t.id = vb.tier '
        'LEFT JOIN "tier_price" tp ON tp.tier = vb.tier AND tp.sku = vb.sku '
        f"WHERE vb.sku IN ({marks}) ORDER BY vb.sku, vb.tier, vb.min_qty",
        *ids,
    )
    grouped: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        grouped.setdefault((int(r["sku"]), int(r["tier"])), []).append(r)
    result: dict[int, list[dict[str, Any]]] = {}
    for (sku_id, _tier), brs in grouped.items():
        first = brs[0]
        if first["tp_price"] is not None:
            continue  # a fixed tier price does not follow the base price
        base = sku_ids_bases[sku_id]
        tier_fen = unit_price(base, None, first["tp_bp"])
        before = base if tier_fen is None else tier_fen
        for index, above in breaks_not_lower(
            [(int(b["min_qty"]), int(b["price_fen"])) for b in brs], before
        ):
            b = brs[index]
            result.setdefault(sku_id, []).append(
                {
                    "tier": first["tier_name"],
                    "price": format_yuan(above),
                    "qty": int(b["min_qty"]),
                    "break_price": format_yuan(int(b["price_fen"])),
                }
            )
    return result


async def update_sku(
    actor: Actor, sku_id: int, data: SkuChange, *, now: datetime | None = None
) -> SkuDetail:
    """Change a SKU's name, barcode, base price, order rules, safety stock, backorder and active
    flags, and where given its weight, its cost (blank: not known), its product's picture
    (which every SKU of the product shows) and its pack units (replaced, see write_packs:
    carts and placed orders count in base units and do not change); its code, base unit and
    product stay. A barcode another SKU has is refused (naming that SKU), also when it took it
    at the same moment. Audited; every problem at once, nothing written if there is one."""
    require_admin(actor)
    sku = await _sku(sku_id)
    values, errors = _check_sku(data)
    errors += await _barcode_taken(values["barcode"], sku_id)
    image = None
    if data.image is not None:
        current = await Product.select(Product.image).where(Product.id == sku["product"]).first()
        image, image_error = check_product_image(data.image, current["image"] or "")
        if image_error is not None:
            errors.append(image_error)
    packs = None
    if data.packs is not None:
        packs, pack_errors = check_packs(data.packs, sku["base_unit"])
        errors += pack_errors
    new_base = values.get("base_price_fen")
    if new_base is not None and new_base != sku["base_price_fen"]:
        for params in (await breaks_broken_by_base({sku_id: new_base})).get(sku_id, []):
            errors.append(FieldError("base_price", MSG_BASE_BREAKS, params))
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    async with _refusing_a_taken_barcode(values["barcode"], sku_id), write_transaction():
        await _lock(Sku, sku_id)
        await write_sku_changes(actor, sku_id, values, "sku.saved", now)
        if image is not None:
            await _lock(Product, sku["product"])
            await write_image(actor, sku["product"], image, now)
        if packs is not None:
            await write_packs(actor, sku_id, packs, now)
    return await get_sku(actor, sku_id)


async def set_packs(
    actor: Actor,
    sku_id: int,
    packs: str | Sequence[tuple[str, str | int]],
    *,
    now: datetime | None = None,
) -> list[tuple[str, int]]:
    """Replace a SKU's pack units (1 箱 = 24 瓶) with exactly these, typed one per line
    ("箱 24") or as (name, factor) pairs; nothing typed removes them all. Audited
    ("sku.packs", before and after); every bad line refused at once with its number, and
    nothing changed. Carts and placed orders keep their quantities in base units, so a
    changed pack never alters them: dealers only see and order in the new packs from now on.
    The SKU's packs, largest first."""
    require_admin(actor)
    sku = await _sku(sku_id)
    checked, errors = check_packs(packs, sku["base_unit"])
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock(Sku, sku_id)
        await write_packs(actor, sku_id, checked, now)
    return _by_size(checked)


@dataclass(frozen=True)
class ProductChange:
    """A product's own fields as typed: they apply to every SKU of the product."""

    name: str
    brand: str
    category_id: int | str | None
    active: bool
    description: str | None = None  # None: stays as it is


async def _check_product(
    data: ProductChange | ProductNew,
) -> tuple[dict[str, Any], list[FieldError]]:
    """A product's own fields as they are stored, and what is wrong with them (the name's
    uniqueness within its category is checked under lock_product_names)."""
    errors: list[FieldError] = []
    name, brand = data.name.strip(), data.brand.strip()
    if not name or len(name) > PRODUCT_TEXT["name"]:
        errors.append(
            FieldError(
                "name",
                _("Enter a name of at most %(max)s characters."),
                {"max": PRODUCT_TEXT["name"]},
            )
        )
    if len(brand) > PRODUCT_TEXT["brand"]:
        errors.append(
            FieldError("brand", _("At most %(n)s characters."), {"n": PRODUCT_TEXT["brand"]})
        )
    values: dict[str, Any] = {"name": name, "brand": brand, "active": bool(data.active)}
    if data.description is not None:
        values["description"] = data.description.strip()
        if len(values["description"]) > PRODUCT_TEXT["description"]:
            errors.append(
                FieldError(
                    "description",
                    _("At most %(n)s characters."),
                    {"n": PRODUCT_TEXT["description"]},
                )
            )
    category = whole(data.category_id if data.category_id is not None else "", 1, 2**31 - 1)
    if category is None or not await Category.exists().where(Category.id == category):
        errors.append(FieldError("category", MSG_CATEGORY))
    values["category"] = category
    return values, errors


async def lock_product_names() -> None:
    """On PostgreSQL, the category tree's lock (portal.domain.categories): a product's name is
    unique within its category, so adding a product or renaming or moving one waits for
    another doing so, and for a category being changed or removed, instead of both passing
    the check. On SQLite the IMMEDIATE transaction already runs them one after the other."""
    if not is_sqlite(current_engine()):
        await Category.raw("SELECT pg_advisory_xact_lock({})", TREE_LOCK)


async def update_product(
    actor: Actor, product_id: int, data: ProductChange, *, now: datetime | None = None
) -> dict[str, Any]:
    """Change a product's name, brand, category, description and active flag, for every SKU
    of it: an inactive product hides all its SKUs from dealers. The name is unique within its
    category (the import finds a product by category and name). Audited ("product.saved",
    the fields that changed); every problem at once, nothing written if there is one. The
    SKUs' search text follows the new name and brand (database triggers keep it). The
    product's fields as get_sku gives them."""
    require_admin(actor)
    if not await Product.exists().where(Product.id == product_id):
        raise NotFound(MISSING_SKU)
    values, errors = await _check_product(data)
    name, category = values["name"], values["category"]
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await lock_product_names()
        await _lock(Product, product_id)
        taken = await Product.exists().where(
            (Product.name == name) & (Product.category == category) & (Product.id != product_id)
        )
        if taken:
            raise ValidationFailed(errors=[FieldError("name", PRODUCT_TAKEN)])
        before = await Product.select().where(Product.id == product_id).first()
        if before is None:
            raise NotFound(MISSING_SKU)

        def old(key: str) -> Any:
            return bool(before[key]) if key == "active" else before[key] or ""

        changed = {k: v for k, v in values.items() if old(k) != v}
        if changed:
            await Product.update(
                {getattr(Product, k): v for k, v in pinyin.with_keys(Product, changed).items()}
            ).where(Product.id == product_id)
            await audit.record(
                actor,
                "product.saved",
                "product",
                product_id,
                {k: old(k) for k in changed},
                changed,
                now=now,
            )
    return await get_product(actor, product_id)


async def get_product(actor: Actor, product_id: int) -> dict[str, Any]:
    """A product's own fields: id, name, brand, description, image, active, category_id and
    category_path (names from the top level down)."""
    require_admin(actor)
    row = await Product.select().where(Product.id == product_id).first()
    if row is None:
        raise NotFound(MISSING_SKU)
    return await _product_fields(row)


async def _product_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A product row as get_product and get_sku give it, with its category path."""
    lineage = (await category_lineage()).get(row["category"], [])
    return {
        "id": row["id"],
        "name": row["name"],
        "brand": row["brand"] or "",
        "description": row["description"] or "",
        "image": row["image"] or "",
        "active": bool(row["active"]),
        "category_id": row["category"],
        "category_path": [name for _id, name in lineage],
    }


# --- adding -----------------------------------------------------------------------------------

CODE_MAX = 40  # sku.code
UNIT_MAX = 10  # sku.base_unit
# A SKU's code is printable ASCII without spaces, commas or semicolons: a quick order splits
# "code qty" lines on those, and reads full-width letters as ASCII ones.
CODE_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset(",;")
CODE_TAKEN = _("This code is already used by another SKU.")
MSG_CODE = _(
    "Enter a code of 1 to %(max)s letters, digits or signs such as - _ . /, without spaces, "
    "commas or semicolons."
)
MSG_UNIT = _(
    "Enter the base unit, such as bottle: 1 to %(max)s characters, without spaces, = or ;."
)


def new_code_ok(code: str) -> bool:
    """Whether a new SKU may have this code (as typed, spaces around it taken off): 1 to
    CODE_MAX characters of CODE_CHARS. A SKU keeps its code for good, so this is asked of
    new codes only; the import too (it finds existing SKUs by their code)."""
    return 1 <= len(code) <= CODE_MAX and set(code) <= CODE_CHARS


# Test hooks (STYLE rule 12): tests put an async callable under a point name to run a
# competing action at that exact moment. Empty in production.
_test_hooks: dict[str, Callable[[], Awaitable[None]]] = {}


async def _hook(point: str) -> None:
    fn = _test_hooks.get(point)
    if fn is not None:
        await fn()


@dataclass(frozen=True)
class ProductNew:
    """A new product's own fields as typed (or as the API sent them); its SKUs are added with
    create_sku, or the first one with it by create_product_with_sku."""

    name: str
    category_id: int | str | None
    brand: str = ""
    description: str = ""
    active: bool = True
    # Its picture, shared by all its SKUs: an https address or a /static/ path; "" for none.
    image: str = ""


@dataclass(frozen=True)
class SkuNew:
    """A new SKU's fields as typed (or as the API sent them). The code and the base unit are
    for good: stock and orders count in the unit, and the import finds a SKU by its code."""

    code: str
    name: str
    base_unit: str  # 瓶, 件, kg
    base_price: str  # yuan per base unit, "12.50"
    barcode: str = ""
    spec: str = ""
    colour: str = ""
    moq: str | int = 1
    order_multiple: str | int = 1
    safety_stock: str | int = 0
    allow_backorder: bool = False
    active: bool = True
    weight_g: str | int = 0
    # Its pack units, typed one per line ("箱 24") or as (name, factor) pairs; none: "".
    packs: str | Sequence[tuple[str, str | int]] = ""


def _no_gaps(text: str, forbidden: frozenset[str]) -> bool:
    return not any(c.isspace() or not c.isprintable() or c in forbidden for c in text)


def _check_new_sku(
    data: SkuNew,
) -> tuple[dict[str, Any], list[tuple[str, int]], list[FieldError]]:
    """A new SKU's columns, its pack units and what is wrong with them, all at once (whether
    the code is free is for the database to say: see create_sku)."""
    errors: list[FieldError] = []
    code, unit = data.code.strip(), data.base_unit.strip()
    if not new_code_ok(code):
        errors.append(FieldError("code", MSG_CODE, {"max": CODE_MAX}))
    own, own_errors = _check_sku(
        SkuChange(
            name=data.name,
            barcode=data.barcode,
            base_price=data.base_price,
            moq=data.moq,
            order_multiple=data.order_multiple,
            safety_stock=data.safety_stock,
            allow_backorder=data.allow_backorder,
            active=data.active,
            weight_g=data.weight_g,
        )
    )
    errors += own_errors
    values: dict[str, Any] = {"code": code, **own}
    for key in ("spec", "colour"):
        values[key] = str(getattr(data, key)).strip()
        if len(values[key]) > SKU_TEXT[key]:
            errors.append(FieldError(key, _("At most %(n)s characters."), {"n": SKU_TEXT[key]}))
    if not 1 <= len(unit) <= UNIT_MAX or not _no_gaps(unit, PACK_NAME_FORBIDDEN):
        errors.append(FieldError("base_unit", MSG_UNIT, {"max": UNIT_MAX}))
    values["base_unit"] = unit
    packs, pack_errors = check_packs(data.packs, unit)
    return values, packs, errors + pack_errors


async def _check_new_product(data: ProductNew) -> tuple[dict[str, Any], list[FieldError]]:
    values, errors = await _check_product(data)
    values["image"], image_error = check_product_image(data.image, "")
    if image_error is not None:
        errors.append(image_error)
    if values["name"] and values["category"] is not None and await _name_taken(values):
        errors.append(FieldError("name", PRODUCT_TAKEN))
    return values, errors


async def _name_taken(values: dict[str, Any]) -> bool:
    return await Product.exists().where(
        (Product.name == values["name"]) & (Product.category == values["category"])
    )


async def _code_taken(code: str) -> list[FieldError]:
    """A code another SKU has, in any letter case (bv-0001 is BV-0001)."""
    taken = code and await Sku.exists().where(same_text(Sku.code, code))
    return [FieldError("code", CODE_TAKEN)] if taken else []


async def _insert_product(actor: Actor, values: dict[str, Any], now: datetime) -> int:
    """Inside the use case's transaction: the product, audited, if its name is still free in
    its category (looked at again under the lock) and the category still there."""
    await lock_product_names()
    if not await Category.exists().where(Category.id == values["category"]):
        raise ValidationFailed(errors=[FieldError("category", MSG_CATEGORY)])
    if await _name_taken(values):
        raise ValidationFailed(errors=[FieldError("name", PRODUCT_TAKEN)])
    row = Product(**pinyin.with_keys(Product, values))
    await Product.insert(row)
    await audit.record(actor, "product.created", "product", row.id, {}, values, now=now)
    return row.id


async def _insert_sku(
    actor: Actor,
    product_id: int,
    values: dict[str, Any],
    packs: Sequence[tuple[str, int]],
    now: datetime,
) -> int:
    """Inside the use case's transaction: the SKU and its packs, audited. A code another SKU
    took meanwhile fails on the unique index (see _refusing_a_taken_code)."""
    row = Sku(**pinyin.with_keys(Sku, {"product": product_id, **values}))
    await Sku.insert(row)
    await audit.record(actor, "sku.created", "sku", row.id, {}, values, now=now)
    if packs:
        await write_packs(actor, row.id, packs, now)
    return row.id


@asynccontextmanager
async def _refusing_a_taken_code(values: dict[str, Any]) -> AsyncIterator[None]:
    """Around a SKU's insert: a code or barcode another SKU took between the check and the
    insert (a unique index refused it) becomes the same field error as when the check saw
    it."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, DomainError) or not is_unique_violation(exc):
            raise
        errors = await _code_taken(values["code"]) + await _barcode_taken(values["barcode"], None)
        raise ValidationFailed(errors=errors or [FieldError("code", CODE_TAKEN)]) from None


@asynccontextmanager
async def _refusing_a_taken_barcode(barcode: str, sku_id: int) -> AsyncIterator[None]:
    """Around a SKU's update: a barcode another SKU took since the check (the unique index
    refused it) is the field error the check gives."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, DomainError) or not is_unique_violation(exc):
            raise
        errors = await _barcode_taken(barcode, sku_id)
        if not errors:
            raise Conflict(RACED) from None
        raise ValidationFailed(errors=errors) from None


async def create_product(
    actor: Actor, data: ProductNew, *, now: datetime | None = None
) -> dict[str, Any]:
    """Add a product (no SKU yet: add them with create_sku) in a category that exists. Its
    name is unique within the category (the import finds a product by category and name),
    checked under a lock so two administrators cannot both add it. Audited
    ("product.created"); every problem at once, nothing written if there is one. The
    product's fields as get_product gives them."""
    require_admin(actor)
    values, errors = await _check_new_product(data)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    await _hook("before_write")
    async with write_transaction():
        product_id = await _insert_product(actor, values, now)
    return await get_product(actor, product_id)


async def create_sku(
    actor: Actor, product_id: int, data: SkuNew, *, now: datetime | None = None
) -> SkuDetail:
    """Add a SKU to a product: its code (unique, for good), name, variant (spec, colour),
    base unit (for good: stock and orders count in it), base price, order rules, safety
    stock, flags, weight and pack units. It has no tier prices yet (every tier pays the base
    price) and no stock. Audited ("sku.created", "sku.packs"); NotFound for an unknown
    product, every problem at once, nothing written if there is one."""
    require_admin(actor)
    if not await Product.exists().where(Product.id == product_id):
        raise NotFound(MISSING_SKU)
    values, packs, errors = _check_new_sku(data)
    errors += await _code_taken(values["code"])
    errors += await _barcode_taken(values["barcode"], None)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    await _hook("before_write")
    async with _refusing_a_taken_code(values), write_transaction():
        await _lock(Product, product_id)
        if not await Product.exists().where(Product.id == product_id):
            raise NotFound(MISSING_SKU)
        sku_id = await _insert_sku(actor, product_id, values, packs, now)
    return await get_sku(actor, sku_id)


def _as_product_field(err: FieldError) -> FieldError:
    return FieldError(f"product_{err.field}", err.message, err.params)


async def create_product_with_sku(
    actor: Actor, product: ProductNew, sku: SkuNew, *, now: datetime | None = None
) -> SkuDetail:
    """Add a product with its first SKU in one transaction (a product without a SKU is of no
    use to dealers), by the rules of create_product and create_sku. The product's problems
    name their fields "product_<field>" (product_name, product_category, ...) so that they
    stand apart from the SKU's own (name, ...). Every problem of both at once, nothing
    written if there is one. The new SKU, as get_sku gives it."""
    require_admin(actor)
    product_values, product_errors = await _check_new_product(product)
    sku_values, packs, errors = _check_new_sku(sku)
    errors = [_as_product_field(e) for e in product_errors] + errors
    errors += await _code_taken(sku_values["code"])
    errors += await _barcode_taken(sku_values["barcode"], None)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    await _hook("before_write")
    async with _refusing_a_taken_code(sku_values), write_transaction():
        try:
            product_id = await _insert_product(actor, product_values, now)
        except ValidationFailed as exc:
            raise ValidationFailed(errors=[_as_product_field(e) for e in exc.errors]) from None
        sku_id = await _insert_sku(actor, product_id, sku_values, packs, now)
    return await get_sku(actor, sku_id)


@dataclass(frozen=True)
class TierPriceChange:
    """One tier's price for a SKU as typed: a fixed price or a percentage of the base price
    (both blank: the tier pays the base price), and its volume breaks, either typed one per
    line ("240 1.60": from 240 base units, ¥1.60 each) or as (min qty, price) pairs."""

    price: str = ""
    percent: str = ""
    breaks: str | Sequence[tuple[str | int, str]] = ""


def _break_pairs(
    breaks: str | Sequence[tuple[str | int, str]], units: dict[str, int]
) -> list[tuple[str, str] | None]:
    """(quantity in base units, price) as typed; a line may give the quantity in a unit of
    the SKU ("10 箱 1.60", "10箱 1.60": from 10 箱, ¥1.60 each), as a dealer reads breaks.
    A quantity in a unit the SKU does not have is left as typed (refused as not a number)."""
    if not isinstance(breaks, str):
        return [(str(qty), str(price)) for qty, price in breaks]
    pairs: list[tuple[str, str] | None] = []
    for line in breaks.splitlines():
        parts = normalise(line).split()
        if len(parts) == 3 and _QTY_IN_UNIT.fullmatch(parts[0] + parts[1]):
            parts = [parts[0] + parts[1], parts[2]]  # "10 箱 1.60"
        if not parts:
            continue
        if len(parts) != 2:
            pairs.append(None)
            continue
        qty, price = parts
        counted = _QTY_IN_UNIT.fullmatch(qty)
        if counted and counted.group(2) in units:
            qty = str(int(counted.group(1)) * units[counted.group(2)])
        pairs.append((qty, price))
    return pairs


def check_breaks(
    breaks: str | Sequence[tuple[str | int, str]],
    units: dict[str, int] | None = None,
) -> tuple[list[tuple[int, int]], list[FieldError]]:
    """Volume breaks as (min qty, fen), each from a larger quantity than the one before; a
    break at 1 would be the tier price itself (the import reads min_qty 1 so). `units`: the
    SKU's units as name -> base units (its base unit 1, each pack its factor)."""
    if isinstance(breaks, str) and len(breaks) > MAX_BREAKS_TEXT:
        return [], [
            FieldError("breaks", _("At most %(max)s characters."), {"max": MAX_BREAKS_TEXT})
        ]
    pairs = _break_pairs(breaks, units or {})
    if len(pairs) > MAX_BREAKS:
        return [], [FieldError("breaks", _("At most %(max)s volume breaks."), {"max": MAX_BREAKS})]
    result: list[tuple[int, int]] = []
    errors: list[FieldError] = []
    for n, pair in enumerate(pairs, start=1):
        if pair is None:
            errors.append(FieldError("breaks", MSG_BREAK_FORMAT, {"n": n}))
            continue
        qty, price = whole(pair[0], 2, MAX_QTY), amount_fen(pair[1])
        if qty is None:
            errors.append(FieldError("breaks", MSG_BREAK_QTY, {"n": n, "max": MAX_QTY}))
        if price is None:
            errors.append(FieldError("breaks", MSG_BREAK_PRICE, {"n": n}))
        if qty is None or price is None:
            continue
        if result and qty <= result[-1][0]:
            errors.append(FieldError("breaks", MSG_BREAK_ORDER, {"n": n}))
            continue
        result.append((qty, price))
    return result, errors


def breaks_not_lower(breaks: Sequence[tuple[int, int]], tier_fen: int) -> list[tuple[int, int]]:
    """The breaks (by index, in order of quantity) priced at or above what they break from,
    each with that price: the tier's own price per base unit (its fixed price, its percentage
    of the base price as it resolves now, or the base price when the tier lists neither) for
    the first, the break before for each other. A dealer told "4 more 箱 → ¥X" must pay less."""
    problems = []
    before = tier_fen
    for index, (_qty, fen) in enumerate(breaks):
        if fen >= before:
            problems.append((index, before))
        else:
            before = fen
    return problems


def _check_tier_price(
    data: TierPriceChange, units: dict[str, int]
) -> tuple[int | None, int | None, list[tuple[int, int]], list[FieldError]]:
    errors: list[FieldError] = []
    price = bp = None
    if data.price.strip():
        price = amount_fen(data.price)
        if price is None:
            errors.append(FieldError("price", MSG_AMOUNT))
    if data.percent.strip():
        bp = percent_bp(data.percent)
        if bp is None:
            errors.append(
                FieldError(
                    "percent",
                    _("Enter a percentage of the base price from 0.01 to 100, such as 85."),
                )
            )
    if price is not None and bp is not None:
        errors.append(FieldError("percent", _("Give either a price or a percentage, not both.")))
    breaks, break_errors = check_breaks(data.breaks, units)
    return price, bp, breaks, errors + break_errors


async def set_tier_price(
    actor: Actor,
    sku_id: int,
    tier_id: int,
    data: TierPriceChange,
    *,
    now: datetime | None = None,
) -> TierPriceRow:
    """Set what one tier pays for a SKU: its fixed price or percentage (or none) and exactly
    these volume breaks. Each row written or removed is audited; NotFound for an unknown SKU
    or tier, every problem of the input at once."""
    require_admin(actor)
    sku = await _sku(sku_id)
    if not await Tier.exists().where(Tier.id == tier_id):
        raise NotFound(MISSING_TIER)
    packs = await PackUnit.select(PackUnit.name, PackUnit.factor).where(PackUnit.sku == sku_id)
    units = {sku["base_unit"]: 1, **{p["name"]: int(p["factor"]) for p in packs}}
    price, bp, breaks, errors = _check_tier_price(data, units)
    if not errors:
        base = int(sku["base_price_fen"])
        tier_fen = unit_price(base, price, bp)
        for index, above in breaks_not_lower(breaks, base if tier_fen is None else tier_fen):
            errors.append(
                FieldError(
                    "breaks", MSG_BREAK_NOT_LOWER, {"n": index + 1, "price": format_yuan(above)}
                )
            )
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    keys = {"tier": tier_id, "sku": sku_id}
    own = (TierPrice.tier == tier_id) & (TierPrice.sku == sku_id)
    try:
        async with write_transaction():
            await _lock(Sku, sku_id)
            if price is None and bp is None:
                await delete_audited(
                    actor, now, TierPrice, own, keys, ("price_fen", "percent_bp"), "price.removed"
                )
            else:
                values = {"price_fen": price, "percent_bp": bp}
                await upsert_audited(actor, now, TierPrice, own, values, keys, "price.saved")
            old = await VolumeBreak.select(VolumeBreak.min_qty).where(
                (VolumeBreak.tier == tier_id) & (VolumeBreak.sku == sku_id)
            )
            kept = {qty for qty, _price in breaks}
            for row in old:
                if row["min_qty"] not in kept:
                    await delete_audited(
                        actor,
                        now,
                        VolumeBreak,
                        (VolumeBreak.tier == tier_id)
                        & (VolumeBreak.sku == sku_id)
                        & (VolumeBreak.min_qty == row["min_qty"]),
                        {**keys, "min_qty": row["min_qty"]},
                        ("price_fen",),
                        "price.removed",
                    )
            for qty, fen in breaks:
                await upsert_audited(
                    actor,
                    now,
                    VolumeBreak,
                    (VolumeBreak.tier == tier_id)
                    & (VolumeBreak.sku == sku_id)
                    & (VolumeBreak.min_qty == qty),
                    {"price_fen": fen},
                    {**keys, "min_qty": qty},
                    "price.saved",
                )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(RACED) from None
    return (await _tier_prices(sku_id, int(sku["base_price_fen"]), tier_id))[0]


async def _dealer_by_code(code: str) -> dict | None:
    """The dealer with this code as typed, in any letter case (codes.rows_by_code)."""
    code = code.strip()
    if not code or len(code) > 20:
        return None
    return await row_by_code(Dealer, code)


async def set_contract_price(
    actor: Actor, sku_id: int, dealer_code: str, price: str, *, now: datetime | None = None
) -> ContractRow:
    """Set a dealer's contract price for a SKU (it wins over the dealer's tier); audited. A
    code no dealer has is a field error ("dealer"), like a price that is not an amount."""
    require_admin(actor)
    await _sku(sku_id)
    errors = []
    dealer = await _dealer_by_code(dealer_code)
    if dealer is None:
        errors.append(FieldError("dealer", MSG_NO_DEALER, {"code": dealer_code.strip()[:20]}))
    fen = amount_fen(price)
    if fen is None:
        errors.append(FieldError("price", MSG_AMOUNT))
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    try:
        async with write_transaction():
            await _lock(Sku, sku_id)
            await upsert_audited(
                actor,
                now,
                ContractPrice,
                (ContractPrice.dealer == dealer["id"]) & (ContractPrice.sku == sku_id),
                {"price_fen": fen},
                {"dealer": dealer["id"], "sku": sku_id},
                "price.saved",
            )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(RACED) from None
    return (await _contract_prices(sku_id, dealer["id"]))[0]


async def remove_contract_price(
    actor: Actor, sku_id: int, dealer_code: str, *, now: datetime | None = None
) -> bool:
    """Remove a dealer's contract price for a SKU (the dealer pays its tier's price again);
    audited. False, with nothing written, if there was none; NotFound for an unknown dealer."""
    require_admin(actor)
    await _sku(sku_id)
    dealer = await _dealer_by_code(dealer_code)
    if dealer is None:
        raise NotFound(MISSING_DEALER)
    now = now or datetime.now(UTC)
    async with write_transaction():
        await _lock(Sku, sku_id)
        return await delete_audited(
            actor,
            now,
            ContractPrice,
            (ContractPrice.dealer == dealer["id"]) & (ContractPrice.sku == sku_id),
            {"dealer": dealer["id"], "sku": sku_id},
            ("price_fen",),
            "price.removed",
        )


async def set_visibility(
    actor: Actor,
    product_id: int,
    visibility: str,
    tier_ids: Sequence[int | str] = (),
    dealer_codes: Sequence[str] = (),
    *,
    now: datetime | None = None,
) -> Visibility:
    """Show a product (every SKU of it) to every dealer ("all"), or only to the listed tiers
    and dealers ("restricted", at least one listed); audited. Listing some with "all" is an
    error rather than silently dropped."""
    require_admin(actor)
    product = await Product.select(Product.id).where(Product.id == product_id).first()
    if product is None:
        raise NotFound(MISSING_SKU)
    errors: list[FieldError] = []
    if visibility not in VISIBILITIES:
        errors.append(FieldError("visibility", _("Choose who may see this product.")))
    wanted_tiers = list(dict.fromkeys(whole(t, 1, 2**31 - 1) for t in tier_ids))
    codes = list(dict.fromkeys(c.strip() for c in dealer_codes if c.strip()))
    tiers: dict[int, dict] = {}
    dealers: dict[str, dict] = {}
    if len(wanted_tiers) > MAX_LISTED:
        errors.append(FieldError("tier_ids", _("At most %(max)s items."), {"max": MAX_LISTED}))
    elif wanted_tiers:
        known = [t for t in wanted_tiers if t is not None]
        if known:
            rows = await Tier.select(Tier.id, Tier.code).where(Tier.id.is_in(known))
            tiers = {r["id"]: r for r in rows}
        if any(t not in tiers for t in wanted_tiers):
            errors.append(FieldError("tier_ids", _("Choose tiers from the list.")))
    if len(codes) > MAX_LISTED:
        errors.append(FieldError("dealer_codes", _("At most %(max)s items."), {"max": MAX_LISTED}))
    elif codes:
        short = sorted({c for c in codes if len(c) <= 20})
        if short:
            dealers = await rows_by_code(Dealer, short)
        unknown = [c[:20] for c in codes if c not in dealers]
        if unknown:
            errors.append(
                FieldError("dealer_codes", MSG_NO_DEALER, {"code": ", ".join(unknown[:5])})
            )
    listed = bool(wanted_tiers or codes)
    if visibility == "restricted" and not listed:
        errors.append(
            FieldError(
                "visibility",
                _("Name at least one tier or dealer who may see a restricted product."),
            )
        )
    if visibility == "all" and listed:
        errors.append(
            FieldError(
                "visibility",
                _("Every dealer sees it: clear the tiers and dealers, or restrict it to them."),
            )
        )
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or datetime.now(UTC)
    tier_list = [tiers[t] for t in wanted_tiers if t is not None]
    dealer_list = list({dealers[c]["id"]: dealers[c] for c in codes}.values())
    async with write_transaction():
        await _lock(Product, product_id)
        current = await Product.select(Product.visibility).where(Product.id == product_id).first()
        before = await _visibility(product_id, current["visibility"])
        after = {
            "visibility": visibility,
            "tiers": sorted(t["code"] for t in tier_list),
            "dealers": sorted(d["code"] for d in dealer_list),
        }
        old = {
            "visibility": before.visibility,
            "tiers": sorted(t.code for t in before.tiers),
            "dealers": sorted(d.code for d in before.dealers),
        }
        if old != after:
            await Product.update({Product.visibility: visibility}).where(Product.id == product_id)
            await ProductVisibility.delete().where(ProductVisibility.product == product_id)
            rows = [ProductVisibility(product=product_id, tier=t["id"]) for t in tier_list]
            rows += [ProductVisibility(product=product_id, dealer=d["id"]) for d in dealer_list]
            if rows:
                await ProductVisibility.insert(*rows)
            await audit.record(
                actor, "product.visibility", "product", product_id, old, after, now=now
            )
    return await get_visibility(actor, product_id)


def money_text(fen: int | None) -> str:
    """Fen as the yuan an administrator types back ("12.50"); blank for none."""
    return "" if fen is None else str(from_fen(fen))
