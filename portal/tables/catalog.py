"""The catalog: category tree, products (SPU) and their pictures, SKUs with pack units,
visibility, favourites."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    LazyTableReference,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Category(Table, tablename="category"):
    name = Varchar(length=50)
    parent = ForeignKey("self", null=True, default=None)
    sort = Integer(default=0)


class Product(Table, tablename="product"):
    name = Varchar(length=120, index=True)
    category = ForeignKey(Category, index=True)
    brand = Varchar(length=50, default="")
    description = Text(default="")
    image = Varchar(length=255, default="")
    # "all" or "restricted" (then only the tiers / dealers in product_visibility see it).
    visibility = Varchar(length=10, default="all")
    active = Boolean(default=True)
    # The name's pinyin sort key (portal/domain/pinyin.py), written with the name.
    name_key = Text(default="")


class ProductPicture(Table, tablename="product_picture"):
    """A product's picture as an administrator uploaded it, re-encoded by the portal (no
    metadata kept) and served at /pictures/products/{id}, which product.image then holds.

    A product keeps one: a new upload is a new row (a new id, so a new address that browsers
    may cache for good) and the old row goes. `thumb` is the small copy the catalog rows show;
    both have the same content type. Ids are never reused (AUTOINCREMENT on SQLite), for the
    same reason.
    """

    product = ForeignKey(Product, index=True, null=False, on_delete=OnDelete.cascade)
    content_type = Varchar(length=20)
    data = Bytea()
    thumb = Bytea()
    created_at = Timestamptz()


class ProductVisibility(Table, tablename="product_visibility"):
    product = ForeignKey(Product, index=True)
    tier = ForeignKey(
        LazyTableReference("Tier", module_path="portal.tables.dealers"), null=True, default=None
    )
    dealer = ForeignKey(
        LazyTableReference("Dealer", module_path="portal.tables.dealers"), null=True, default=None
    )


class Sku(Table, tablename="sku"):
    product = ForeignKey(Product, index=True)
    code = Varchar(length=40, unique=True)
    barcode = Varchar(length=40, default="", index=True)
    name = Varchar(length=160, index=True)
    spec = Varchar(length=50, default="")
    colour = Varchar(length=30, default="")
    base_unit = Varchar(length=10)
    base_price_fen = BigInt()
    # What one base unit costs the supplier, for approvers' gross margins (portal/domain/
    # margins.py); None: not known. Never shown to dealers, reps or warehouse staff.
    cost_price_fen = BigInt(null=True, default=None)
    moq = Integer(default=1)
    order_multiple = Integer(default=1)
    weight_g = Integer(default=0)
    safety_stock = Integer(default=0)
    # Short of stock, a submission accepts the rest as a backorder instead of refusing.
    allow_backorder = Boolean(default=False)
    active = Boolean(default=True)
    # Lower-cased name, product name and brand, what a catalog search matches; database
    # triggers keep it (migration 2026-11-25T14:00:07), so no code writes it.
    search_text = Text(default="")
    # The product's name lower-cased, and whether the product is active and visible to all,
    # kept by the same triggers (migration 2026-11-25T14:00:13): a search reads the SKU table
    # alone.
    product_key = Text(default="")
    listed = Boolean(default=False)
    # The name's pinyin sort key (portal/domain/pinyin.py), written with the name; indexed
    # bytewise (migration 2026-11-27T13:40:00) for the catalog's order by name.
    name_key = Text(default="")
    # The name's pinyin run together and its initials (pinyin.search_key), written with the
    # name: a search in Latin letters finds 冰红茶 by binghong or bhc (migration 13:40:00).
    pinyin = Text(default="")


class PackUnit(Table, tablename="pack_unit"):
    """1 箱 = 24 瓶: `factor` base units in one pack."""

    sku = ForeignKey(Sku, index=True)
    name = Varchar(length=10)
    factor = Integer()


class Favourite(Table, tablename="favourite"):
    dealer = ForeignKey(
        LazyTableReference("Dealer", module_path="portal.tables.dealers"), index=True
    )
    sku = ForeignKey(Sku)
    created_at = Timestamptz()
