"""The deterministic demo supplier: tiers, dealers, staff, warehouses, catalog, prices, stock.

`python -m portal demo` calls load_demo_if_empty(): on an empty database it loads the demo
supplier (润川食品饮料, a fictional brand of drinks, snacks and daily goods), and it always
prints the URL and one login per role. Everything comes from random.Random(seed), so tests
and benchmarks can rely on the same SKU codes, prices and stock; only created_at varies.
"""

from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from portal.auth.passwords import hash_password
from portal.db import bind_tables, engine_from_url, fetch, start, stop, write_transaction
from portal.domain import pinyin, supplier
from portal.domain.errors import DomainError
from portal.domain.money import from_fen, percent_of, to_fen
from portal.domain.promotions import SHANGHAI
from portal.settings import Settings
from portal.tables import (
    Address,
    Category,
    ContractPrice,
    Dealer,
    Favourite,
    LedgerEntry,
    PackUnit,
    Product,
    ProductVisibility,
    RepAssignment,
    Sku,
    StockLevel,
    SupplierSettings,
    Tier,
    TierPrice,
    User,
    VolumeBreak,
    Warehouse,
)

DEFAULT_SEED = 20261125
DEFAULT_SKU_COUNT = 500
SUPPLIER = "润川食品饮料有限公司"
SUPPLIER_ADDRESS = "四川省成都市双流区西航港大道 1888 号"
SUPPLIER_PHONE = "028-8566 1888"
DEMO_PASSWORD = "demo1234"
# One memorable login per role; d01 is a 一级经销商 in 华东 looked after by rep1.
DEMO_LOGINS: dict[str, str] = {
    "dealer_admin": "d01admin",
    "dealer_buyer": "d01buyer",
    "sales_rep": "rep1",
    "sales_manager": "manager",
    "finance": "finance",
    "warehouse": "warehouse",
    "admin": "admin",
}
# Dealer 3 sits just under its credit limit so a refusal is easy to show.
NEAR_LIMIT_DEALER = "D03"
# This dealer may order past its limit (such orders wait for finance), and has little of it
# left, so its sample order waits in finance's queue.
OVER_CREDIT_APPROVAL_DEALER = "D04"

CHUNK = 200  # rows per INSERT: far below SQLite's and asyncpg's parameter limits

# ---------------------------------------------------------------------------------------
# Master data tables (plain data; the plan below draws from them with the seeded RNG)

TIERS = [("T1", "一级经销商", 1, 8500), ("T2", "二级经销商", 2, 9000), ("T3", "终端门店", 3, 9500)]
# Tier of the 1st..8th dealer in each region.
TIER_PATTERN = ["T1", "T1", "T2", "T2", "T3", "T3", "T3", "T3"]

WAREHOUSES = [("SH", "上海仓", "华东", 1), ("GZ", "广州仓", "华南", 2)]

# region -> (default warehouse, rep username, rep name, [(city, province)])
REGIONS: list[tuple[str, str, str, str, list[tuple[str, str]]]] = [
    ("华东", "SH", "rep1", "张伟", [
        ("上海", ""), ("杭州", "浙江省"), ("南京", "江苏省"), ("苏州", "江苏省"),
        ("宁波", "浙江省"), ("合肥", "安徽省"), ("无锡", "江苏省"), ("济南", "山东省"),
    ]),
    ("华南", "GZ", "rep2", "李娜", [
        ("广州", "广东省"), ("深圳", "广东省"), ("东莞", "广东省"), ("佛山", "广东省"),
        ("厦门", "福建省"), ("南宁", "广西壮族自治区"), ("海口", "海南省"), ("珠海", "广东省"),
    ]),
    ("华北", "SH", "rep3", "王强", [
        ("北京", ""), ("天津", ""), ("石家庄", "河北省"), ("太原", "山西省"),
        ("呼和浩特", "内蒙古自治区"), ("唐山", "河北省"), ("保定", "河北省"), ("廊坊", "河北省"),
    ]),
    ("西南", "GZ", "rep4", "刘洋", [
        ("成都", "四川省"), ("重庆", ""), ("昆明", "云南省"), ("贵阳", "贵州省"),
        ("绵阳", "四川省"), ("遵义", "贵州省"), ("南充", "四川省"), ("曲靖", "云南省"),
    ]),
    ("华中", "SH", "rep5", "陈静", [
        ("武汉", "湖北省"), ("长沙", "湖南省"), ("郑州", "河南省"), ("南昌", "江西省"),
        ("宜昌", "湖北省"), ("株洲", "湖南省"), ("洛阳", "河南省"), ("襄阳", "湖北省"),
    ]),
]

TRADE_NAMES = [
    "恒通", "鑫源", "宏达", "佳和", "瑞丰", "华联", "永盛", "金穗", "福满", "顺发", "惠民",
    "盛世", "天润", "万家", "嘉禾", "康泰", "兴隆", "利民", "百汇", "聚丰", "和顺", "汇通",
    "广源", "益丰", "德隆", "美佳", "新世纪", "好邻居", "乐购", "优选", "四季", "满天星",
]
DEALER_SUFFIX = {
    "T1": ["商贸有限公司", "食品饮料有限公司", "贸易有限公司", "供应链管理有限公司"],
    "T2": ["副食批发部", "食品经营部", "商行", "日用百货批发部"],
    "T3": ["便利店", "超市", "购物中心", "连锁便利店"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋"
GIVEN = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "海燕", "志强", "晓东", "文博", "思远",
    "雨萱", "子涵", "浩然", "欣怡", "俊杰", "丹丹", "国庆", "建国", "春梅", "玉兰", "红霞", "宇航",
]
DISTRICTS = ["经济技术开发区", "高新区", "新城区", "物流园区", "工业园区", "商贸城"]
ROADS = [
    "建设路", "人民路", "解放路", "中山路", "长江路", "工业大道", "发展大道", "友谊路", "新华路",
]

# Staff: (username, role, display name, discount authority in basis points)
STAFF = [
    ("manager", "sales_manager", "赵敏", 800),
    ("finance", "finance", "孙丽", 0),
    ("warehouse", "warehouse", "周涛", 0),
    ("admin", "admin", "系统管理员", 0),
]
REP_DISCOUNT_BP = 300


@dataclass(frozen=True)
class Spec:
    label: str  # 规格, shown to dealers
    code: str  # part of the SKU code
    unit: str  # base unit
    price_fen: int  # base (list) price per base unit
    pack: int  # base units in one 箱
    weight_g: int


@dataclass(frozen=True)
class Leaf:
    top: str
    name: str
    prefix: str
    specs: list[Spec]
    flavours: list[tuple[str, str]]  # (口味/香型, code)
    stems: list[str]  # product names without the brand
    brands: list[str]


def _s(label: str, code: str, unit: str, price: int, pack: int, weight: int) -> Spec:
    return Spec(label, code, unit, price, pack, weight)


CATALOG: list[Leaf] = [
    Leaf("饮料", "矿泉水", "BV",
         [_s("350ml", "350", "瓶", 120, 24, 370), _s("550ml", "550", "瓶", 150, 24, 570),
          _s("1.5L", "1500", "瓶", 350, 12, 1540), _s("5L", "5000", "桶", 900, 4, 5100)],
         [],
         ["天然矿泉水", "山泉水", "饮用纯净水", "苏打水", "长白山矿泉水", "冰川水", "含气矿泉水",
          "淡矿泉水", "高端矿泉水", "母婴水"],
         ["润川", "清泉源"]),
    Leaf("饮料", "果汁", "BV",
         [_s("300ml", "300", "瓶", 350, 24, 330), _s("450ml", "450", "瓶", 450, 15, 480),
          _s("1L", "1000", "瓶", 980, 12, 1050), _s("2L", "2000", "瓶", 1580, 6, 2080)],
         [("鲜橙", "CZ"), ("苹果", "PG"), ("葡萄", "PT"), ("芒果", "MG"), ("水蜜桃", "SM"),
          ("番石榴", "FS")],
         ["100%果汁", "果粒饮料", "NFC鲜榨果汁", "轻果汁", "复合果蔬汁", "果味饮料", "果汁汽水"],
         ["果语", "润川"]),
    Leaf("饮料", "茶饮料", "BV",
         [_s("500ml", "500", "瓶", 300, 15, 530), _s("1L", "1000", "瓶", 500, 12, 1040),
          _s("250ml 利乐包", "250T", "盒", 200, 24, 260)],
         [("原味", "YW"), ("柠檬味", "NM"), ("蜜桃味", "MT"), ("低糖", "DT"), ("无糖", "WT")],
         ["冰红茶", "绿茶", "乌龙茶", "茉莉花茶", "大麦茶", "柠檬茶", "凉茶", "奶茶", "普洱茶饮"],
         ["茶韵", "润川"]),
    Leaf("饮料", "碳酸饮料", "BV",
         [_s("330ml 罐装", "330C", "罐", 250, 24, 350), _s("500ml", "500", "瓶", 300, 24, 520),
          _s("2L", "2000", "瓶", 650, 6, 2060)],
         [("可乐味", "KL"), ("柠檬味", "NM"), ("橙味", "CW"), ("荔枝味", "LZ"), ("白桃味", "BT")],
         ["汽水", "苏打汽水", "无糖气泡水", "可乐", "盐汽水", "姜汁汽水", "老北京汽水"],
         ["润川", "跳跳"]),
    Leaf("饮料", "功能饮料", "BV",
         [_s("250ml 罐装", "250C", "罐", 500, 24, 270), _s("600ml", "600", "瓶", 550, 15, 630)],
         [("原味", "YW"), ("西柚味", "XY"), ("青柠味", "QN"), ("荔枝味", "LZ")],
         ["能量饮料", "电解质水", "维生素水", "运动饮料", "咖啡饮料", "牛磺酸饮料"],
         ["劲动", "润川"]),
    Leaf("饮料", "植物蛋白饮料", "BV",
         [_s("250ml", "250", "盒", 280, 24, 265), _s("1L", "1000", "盒", 990, 12, 1040)],
         [("原味", "YW"), ("低糖", "DT"), ("高钙", "GG")],
         ["核桃乳", "椰汁", "杏仁露", "花生牛奶", "豆奶", "燕麦奶"],
         ["润川", "椰乡"]),
    Leaf("休闲食品", "饼干", "SN",
         [_s("100g", "100G", "袋", 450, 24, 110), _s("200g", "200G", "袋", 850, 20, 215),
          _s("400g 家庭装", "400G", "袋", 1580, 12, 420)],
         [("原味", "YW"), ("奶油味", "NY"), ("巧克力味", "QK"), ("海苔味", "HT"), ("芝麻味", "ZM"),
          ("葱香味", "CX")],
         ["苏打饼干", "夹心饼干", "曲奇", "威化饼干", "消化饼干", "薄脆饼干", "蛋卷", "粗粮饼干"],
         ["麦香坊", "润川"]),
    Leaf("休闲食品", "坚果炒货", "SN",
         [_s("100g", "100G", "袋", 1280, 20, 110), _s("250g", "250G", "袋", 2680, 10, 265),
          _s("500g", "500G", "袋", 4900, 6, 520)],
         [("原味", "YW"), ("盐焗", "YJ"), ("奶香", "NX"), ("炭烧", "TS")],
         ["每日坚果", "夏威夷果", "碧根果", "开心果", "腰果", "巴旦木", "瓜子", "花生"],
         ["果仁记", "润川"]),
    Leaf("休闲食品", "膨化食品", "SN",
         [_s("60g", "60G", "袋", 350, 30, 65), _s("135g", "135G", "袋", 750, 20, 140)],
         [("原味", "YW"), ("番茄味", "FQ"), ("烧烤味", "SK"), ("黄瓜味", "HG"), ("麻辣味", "ML")],
         ["薯片", "虾条", "玉米棒", "锅巴", "米饼", "薯条"],
         ["脆乐", "润川"]),
    Leaf("方便食品", "方便面", "FD",
         [_s("袋装 105g", "105B", "包", 300, 24, 115), _s("桶装 120g", "120T", "桶", 450, 12, 150)],
         [("红烧牛肉", "HS"), ("老坛酸菜", "LT"), ("香辣牛肉", "XL"), ("鲜虾鱼板", "XX"),
          ("番茄鸡蛋", "FQ")],
         ["方便面", "拉面", "干拌面", "酸辣粉", "米线"],
         ["面面香", "润川"]),
    Leaf("方便食品", "粥品罐头", "FD",
         [_s("360g", "360", "罐", 400, 12, 400)],
         [("原味", "YW"), ("桂圆", "GY"), ("无糖", "WT")],
         ["八宝粥", "黑米粥", "绿豆沙", "红豆薏米粥"],
         ["润川"]),
    Leaf("调味品", "酱油醋", "CD",
         [_s("500ml", "500", "瓶", 850, 12, 620), _s("1.9L", "1900", "瓶", 2580, 6, 2150)],
         [],
         ["生抽", "老抽", "香醋", "陈醋", "料酒", "蚝油", "味极鲜", "米醋"],
         ["厨神", "润川"]),
    Leaf("日化", "洗发护发", "DC",
         [_s("200ml", "200", "瓶", 1990, 24, 240), _s("400ml", "400", "瓶", 3290, 12, 450),
          _s("750ml", "750", "瓶", 4990, 12, 820)],
         [("去屑", "QX"), ("柔顺", "RS"), ("控油", "KY"), ("滋养", "ZY")],
         ["洗发露", "护发素", "沐浴露", "氨基酸洗发水", "生姜洗发水"],
         ["净丝", "润川"]),
    Leaf("日化", "洗衣液", "DC",
         [_s("1kg", "1KG", "瓶", 1990, 12, 1080), _s("2kg", "2KG", "瓶", 3490, 6, 2120),
          _s("3kg 桶装", "3KG", "桶", 4590, 4, 3150)],
         [("薰衣草", "XY"), ("柠檬清香", "NM"), ("茉莉", "ML"), ("无香", "WX")],
         ["洗衣液", "除菌洗衣液", "内衣洗衣液", "柔顺剂", "婴儿洗衣液"],
         ["洁白", "润川"]),
    Leaf("日化", "口腔护理", "DC",
         [_s("120g", "120G", "支", 990, 48, 150), _s("180g", "180G", "支", 1490, 36, 215)],
         [("薄荷", "BH"), ("茶爽", "CS"), ("草本", "CB"), ("美白", "MB")],
         ["牙膏", "儿童牙膏", "护龈牙膏", "抗敏感牙膏"],
         ["齿洁", "润川"]),
    Leaf("日化", "纸品", "DC",
         [_s("3层100抽", "100S", "包", 350, 30, 180), _s("4层10卷", "10R", "提", 2290, 6, 1400)],
         [],
         ["抽纸", "卷纸", "手帕纸", "湿巾", "厨房纸"],
         ["柔点", "润川"]),
]
TOP_ORDER = ["饮料", "休闲食品", "方便食品", "调味品", "日化"]


# ---------------------------------------------------------------------------------------
# The plan: every row as plain data, references by code/name; inserted by _insert_plan.


@dataclass
class DemoPlan:
    tiers: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    categories: list[tuple[str, str | None, int]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    visibility: list[tuple[str, str]] = field(default_factory=list)  # (product, tier)
    skus: list[dict[str, Any]] = field(default_factory=list)
    packs: list[tuple[str, str, int]] = field(default_factory=list)  # (sku, name, factor)
    tier_prices: list[tuple[str, str, int | None, int | None]] = field(default_factory=list)
    volume_breaks: list[tuple[str, str, int, int]] = field(default_factory=list)
    contract_prices: list[tuple[str, str, int]] = field(default_factory=list)
    stock: list[tuple[str, str, int]] = field(default_factory=list)  # (warehouse, sku, on_hand)
    dealers: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[tuple[str, str]] = field(default_factory=list)  # (dealer, rep)
    favourites: list[tuple[str, str]] = field(default_factory=list)  # (dealer, sku)
    # Past orders, placed through the ordering use case: dealer, username, days ago, lines
    # as (sku code, 箱), note, cancelled afterwards or not.
    orders: list[dict[str, Any]] = field(default_factory=list)
    low_stock: list[str] = field(default_factory=list)
    out_of_stock: list[str] = field(default_factory=list)
    # SKUs that accept backorders: one out of stock, one low (so a short order is backordered).
    backorder: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DemoSummary:
    tiers: int
    dealers: int
    users: int
    reps: int
    warehouses: int
    categories: int
    products: int
    skus: int
    low_stock: int
    out_of_stock: int
    contract_prices: int
    volume_breaks: int
    orders: int
    shipments: int
    orders_skipped: tuple[str, ...]
    seconds: float


def ean13(first12: str) -> str:
    """An EAN-13 barcode: twelve digits plus the GS1 check digit."""
    assert len(first12) == 12 and first12.isdigit()
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


EDITIONS = ["经典款", "升级款", "新品", "家庭装", "礼盒装", "限定款"]


def _edition(round_no: int) -> str:
    if round_no == 0:
        return ""
    if round_no <= len(EDITIONS):
        return f"（{EDITIONS[round_no - 1]}）"
    return f"（第{round_no}代）"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _fen_at(fen: int, basis_points: int) -> int:
    return to_fen(percent_of(fen, basis_points))


def _cost_fen(code: str, base_fen: int) -> int | None:
    """What a demo SKU costs the supplier: 70 to 78 % of its base price (so the 一级 price,
    85 %, and its volume breaks still leave a margin), picked by the code's checksum rather
    than the random stream, which would change every later pick; one SKU in 25 has no cost
    yet, so the approvers' pages show "cost unknown" too."""
    roll = zlib.crc32(code.encode())
    if roll % 25 == 0:
        return None
    return _fen_at(base_fen, 7000 + (roll // 25) % 9 * 100)


def build_plan(seed: int = DEFAULT_SEED, sku_count: int = DEFAULT_SKU_COUNT) -> DemoPlan:
    """Every demo row as plain data, the same for the same seed and size."""
    rng = random.Random(seed)
    plan = DemoPlan()
    plan.tiers = [{"code": c, "name": n, "rank": r} for c, n, r, _bp in TIERS]
    plan.warehouses = [
        {"code": c, "name": n, "region": reg, "priority": p} for c, n, reg, p in WAREHOUSES
    ]
    _plan_catalog(plan, rng, sku_count)
    _plan_prices(plan, rng)
    _plan_stock(plan, rng)
    _plan_dealers(plan, rng)
    _plan_orders(plan, rng)
    return plan


def _plan_catalog(plan: DemoPlan, rng: random.Random, sku_count: int) -> None:
    for sort, top in enumerate(TOP_ORDER):
        plan.categories.append((top, None, sort))
        for sub_sort, leaf in enumerate(x for x in CATALOG if x.top == top):
            plan.categories.append((leaf.name, top, sub_sort))

    # Products round-robin over the leaves, so any size has every category; each product
    # takes its stem with the leaf's brands in turn, so product names never repeat.
    # A bigger catalog than the stems allow gets further editions (经典款, 升级款, ...).
    queues: dict[str, list[tuple[str, str]]] = {leaf.name: [] for leaf in CATALOG}
    rounds = {leaf.name: 0 for leaf in CATALOG}
    seq_by_prefix: dict[str, int] = {}
    sku_no = 0
    while sku_no < sku_count:
        for leaf in CATALOG:
            if sku_no >= sku_count:
                break
            if not queues[leaf.name]:
                edition = _edition(rounds[leaf.name])
                rounds[leaf.name] += 1
                queue = [(b, f"{s}{edition}") for b in leaf.brands for s in leaf.stems]
                rng.shuffle(queue)
                queues[leaf.name] = queue
            brand, stem = queues[leaf.name].pop()
            seq_by_prefix[leaf.prefix] = seq_by_prefix.get(leaf.prefix, 0) + 1
            product_code = f"{leaf.prefix}-{seq_by_prefix[leaf.prefix]:04d}"
            name = f"{brand} {stem}"
            plan.products.append(
                {"name": name, "category": leaf.name, "brand": brand,
                 "description": f"{SUPPLIER}出品。{stem}，{leaf.name}类。"}
            )
            specs = sorted(
                rng.sample(leaf.specs, rng.randint(1, min(3, len(leaf.specs)))),
                key=leaf.specs.index,
            )
            flavours: list[tuple[str, str]] = [("", "")]
            if leaf.flavours:
                most = max(1, 6 // len(specs))
                flavours = sorted(
                    rng.sample(leaf.flavours, rng.randint(1, min(most, len(leaf.flavours)))),
                    key=leaf.flavours.index,
                )
            for spec in specs:
                for flavour, fcode in flavours:
                    if sku_no >= sku_count:
                        break
                    sku_no += 1
                    _plan_sku(plan, rng, name, product_code, sku_no, spec, flavour, fcode)
    # Two products only 一级经销商 see (ProductVisibility).
    for product in rng.sample(plan.products, min(2, len(plan.products))):
        product["visibility"] = "restricted"
        plan.visibility.append((product["name"], "T1"))


def _plan_sku(
    plan: DemoPlan,
    rng: random.Random,
    product: str,
    product_code: str,
    sku_no: int,
    spec: Spec,
    flavour: str,
    fcode: str,
) -> None:
    code = f"{product_code}-{spec.code}" + (f"-{fcode}" if fcode else "")
    moq, multiple = 1, 1
    roll = rng.random()
    if roll < 0.15 and spec.pack % 6 == 0:
        moq, multiple = 6 * rng.choice([1, 2]), 6  # buy in 6s
    elif roll < 0.25:
        moq = spec.pack  # at least a whole 箱
    base_fen = spec.price_fen + rng.choice([0, 0, 0, 10, 20, 50, -10])
    plan.skus.append(
        {
            "product": product,
            "code": code,
            "barcode": ean13(f"6923817{sku_no:05d}"),
            "name": " ".join(x for x in (product, flavour, spec.label) if x),
            "spec": spec.label,
            "colour": flavour,
            "base_unit": spec.unit,
            "base_price_fen": base_fen,
            "cost_price_fen": _cost_fen(code, base_fen),
            "moq": moq,
            "order_multiple": multiple,
            "weight_g": spec.weight_g,
            "safety_stock": spec.pack * rng.choice([5, 10, 20]),
        }
    )
    plan.packs.append((code, "箱", spec.pack))


def _plan_prices(plan: DemoPlan, rng: random.Random) -> None:
    pack_of = {code: factor for code, _n, factor in plan.packs}
    for sku in plan.skus:
        code, base = sku["code"], sku["base_price_fen"]
        fixed = rng.random() < 0.08
        tier_fen = {}
        for tier_code, _name, _rank, bp in TIERS:
            if fixed and tier_code != "T3":
                # A fixed price a little under the percentage (a negotiated list price).
                price = _fen_at(base, bp - 300)
                plan.tier_prices.append((tier_code, code, price, None))
                tier_fen[tier_code] = price
            else:
                plan.tier_prices.append((tier_code, code, None, bp))
                tier_fen[tier_code] = _fen_at(base, bp)
        if rng.random() < 0.25:
            pack = pack_of[code]
            for tier_code in ("T1", "T2"):
                for cases, bp in ((10, 9700), (50, 9400)):
                    plan.volume_breaks.append(
                        (tier_code, code, cases * pack, _fen_at(tier_fen[tier_code], bp))
                    )


def _plan_stock(plan: DemoPlan, rng: random.Random) -> None:
    codes = [s["code"] for s in plan.skus]
    picked = rng.sample(codes, min(len(codes), max(2, len(codes) * 6 // 100)))
    cut = max(1, len(picked) * 3 // 5)
    plan.low_stock, plan.out_of_stock = sorted(picked[:cut]), sorted(picked[cut:])
    low, out = set(plan.low_stock), set(plan.out_of_stock)
    pack_of = {code: factor for code, _n, factor in plan.packs}
    for sku in plan.skus:
        code, pack, safety = sku["code"], pack_of[sku["code"]], sku["safety_stock"]
        if code in out:
            sh, gz = 0, 0
        elif code in low:
            # Under the safety stock in total (and so in each warehouse).
            sh, gz = rng.randint(1, safety // 2), rng.randint(0, safety // 3)
        else:
            sh = safety + pack * rng.randint(20, 300)
            gz = safety + pack * rng.randint(10, 200)
        plan.stock.append(("SH", code, sh))
        plan.stock.append(("GZ", code, gz))
    _plan_backorders(plan)


def _plan_backorders(plan: DemoPlan) -> None:
    """The first plainly orderable (every dealer sees it, no MOQ or multiple) out-of-stock and
    low-stock SKU accept backorders. No randomness, so the rest of the plan is unchanged."""
    restricted = {name for name, _tier in plan.visibility}
    plain = [
        s
        for s in plan.skus
        if s["product"] not in restricted and s["moq"] == 1 and s["order_multiple"] == 1
    ]
    for pool in (set(plan.out_of_stock), set(plan.low_stock)):
        chosen = next((s for s in plain if s["code"] in pool), None)
        if chosen is not None:
            chosen["allow_backorder"] = True
            plan.backorder.append(chosen["code"])


def _plan_dealers(plan: DemoPlan, rng: random.Random) -> None:
    used_phones: set[str] = set()

    def phone(prefix: str) -> str:
        while True:
            number = prefix + "".join(rng.choice("0123456789") for _ in range(11 - len(prefix)))
            if number not in used_phones:
                used_phones.add(number)
                return number

    staff_phone_prefix = "139"
    n = 0
    names_used: set[str] = set()
    for region, warehouse, rep, rep_name, cities in REGIONS:
        plan.users.append(
            {"username": rep, "role": "sales_rep", "display_name": rep_name,
             "phone": phone(staff_phone_prefix), "manager": "manager",
             "discount_authority_bp": REP_DISCOUNT_BP}
        )
        for i, (city, province) in enumerate(cities):
            n += 1
            code, tier = f"D{n:02d}", TIER_PATTERN[i]
            while True:
                name = f"{city}{rng.choice(TRADE_NAMES)}{rng.choice(DEALER_SUFFIX[tier])}"
                if name not in names_used:
                    names_used.add(name)
                    break
            limit = {
                "T1": rng.randrange(300_000, 800_001, 50_000),
                "T2": rng.randrange(50_000, 200_001, 10_000),
                "T3": rng.randrange(10_000, 50_001, 5_000),
            }[tier] * 100
            balance = _fen_at(limit, rng.randrange(0, 4001, 100))  # 0-40 % of the limit owed
            if code == NEAR_LIMIT_DEALER:
                limit, balance = 2_000_000, 1_880_000  # ¥20,000 limit, ¥1,200 left
            elif code == OVER_CREDIT_APPROVAL_DEALER:
                limit, balance = 3_000_000, 2_700_000  # ¥30,000 limit, ¥3,000 left
            admin_name, buyer_name = _person(rng), _person(rng)
            admin_phone, buyer_phone = phone("138"), phone("138")
            plan.dealers.append(
                {"code": code, "name": name, "tier": tier, "region": region,
                 "contact_phone": admin_phone, "credit_limit_fen": limit, "balance_fen": balance,
                 "payment_terms_days": {"T1": 60, "T2": 45, "T3": 30}[tier],
                 "default_warehouse": warehouse}
            )
            city_part = f"{province}{city}市" if province else f"{city}市"
            labels = ["总仓", "二号仓库"] if tier != "T3" else ["门店", "分店"]
            for a in range(1 if rng.random() < 0.5 else 2):
                plan.addresses.append(
                    {"dealer": code, "label": labels[a],
                     "contact": admin_name if a == 0 else buyer_name,
                     "phone": admin_phone if a == 0 else buyer_phone,
                     "line": f"{city_part}{rng.choice(DISTRICTS)}{rng.choice(ROADS)}"
                             f"{rng.randint(1, 999)}号",
                     "is_default": a == 0}
                )
            lower = code.lower()
            plan.users.append(
                {"username": f"{lower}admin", "role": "dealer_admin", "display_name": admin_name,
                 "phone": admin_phone, "dealer": code}
            )
            plan.users.append(
                {"username": f"{lower}buyer", "role": "dealer_buyer", "display_name": buyer_name,
                 "phone": buyer_phone, "dealer": code}
            )
            plan.assignments.append((code, rep))
    for username, role, display_name, authority in STAFF:
        plan.users.append(
            {"username": username, "role": role, "display_name": display_name,
             "phone": phone(staff_phone_prefix), "discount_authority_bp": authority}
        )

    # Contract prices for a few dealers (the demo dealer among them), under their tier price.
    sku_codes = [s["code"] for s in plan.skus]
    base_of = {s["code"]: s["base_price_fen"] for s in plan.skus}
    for dealer_code in ("D01", "D02", "D09", "D17", "D25"):
        if dealer_code not in {d["code"] for d in plan.dealers}:
            continue
        for code in sorted(rng.sample(sku_codes, min(len(sku_codes), rng.randint(4, 8)))):
            plan.contract_prices.append(
                (dealer_code, code, _fen_at(base_of[code], rng.choice([7600, 7800, 8000])))
            )
    in_stock = [c for c in sku_codes if c not in plan.low_stock and c not in plan.out_of_stock]
    for code in sorted(rng.sample(in_stock, min(len(in_stock), 6))):
        plan.favourites.append(("D01", code))


# Dealers were set up this many days ago: before the oldest past order, and before the
# month a statement shows by default.
DEALERS_SINCE_DAYS = 90
# (dealer, who places it, days ago, note, cancelled later)
PAST_ORDERS = [
    ("D01", "d01buyer", 26, "", False),
    ("D01", "d01admin", 19, "请周三前送到总仓", False),
    ("D01", "rep1", 12, "拜访时代客下单", False),
    ("D01", "d01buyer", 3, "", False),
    ("D02", "rep1", 9, "", False),
    ("D04", "d04buyer", 15, "", True),
    ("D04", "d04buyer", 6, "", False),
    ("D09", "d09buyer", 8, "中秋备货", False),
    ("D10", "rep2", 5, "", False),
    ("D17", "d17admin", 11, "", False),
    ("D25", "d25buyer", 4, "", False),
    ("D33", "d33buyer", 2, "卸货请走后门", False),
]

# What happened to some past orders after they were placed, so that every role finds its
# work and its history in the demo: (dealer, days ago the order was placed, days ago it was
# shipped, days ago the dealer confirmed receipt (None: on its way, for the dealer to
# confirm), the whole order or only its first line (then partially shipped)). Shipped from
# where its stock was held, by the warehouse user, with a carrier and tracking number.
# The rest of the past orders wait in the warehouse's to-ship queue.
FULFILMENT = [
    ("D01", 26, 24, 22, True),
    ("D01", 19, 17, 16, True),
    ("D17", 11, 9, 8, True),
    ("D09", 8, 6, 5, True),
    ("D02", 9, 7, 6, False),
    ("D01", 12, 1, None, True),
]
# D01 paid its first invoice (days ago); D09 asks to return some of what it received
# (days ago, the reason): the return waits for staff.
PAYMENT = ("D01", 10)
RETURN = ("D09", 8, 3, "外箱破损，部分漏液")
CARRIERS = ("顺丰速运", "德邦物流", "中通快递")
READ_AFTER_DAYS = 3
Placed = dict[tuple[str, int], int]  # past orders' ids by (dealer code, days ago)


def _plan_orders(plan: DemoPlan, rng: random.Random) -> None:
    restricted = {name for name, _tier in plan.visibility}
    orderable = [
        s["code"]
        for s in plan.skus
        if s["product"] not in restricted
        and s["code"] not in plan.low_stock
        and s["code"] not in plan.out_of_stock
    ]
    dealers = {d["code"] for d in plan.dealers}
    for dealer, username, days_ago, note, cancelled in PAST_ORDERS:
        if dealer not in dealers or len(orderable) < 6:
            continue
        codes = sorted(rng.sample(orderable, rng.randint(2, 6)))
        plan.orders.append(
            {"dealer": dealer, "username": username, "days_ago": days_ago, "note": note,
             "cancelled": cancelled, "lines": [(c, rng.randint(2, 5)) for c in codes]}
        )
    # Two orders wait for a decision, so the manager's and finance's queues have something
    # to show: a large one (over ¥5,000: the regional manager) and one past the credit of
    # the dealer that may order so (finance). Quantities in 箱, at most 15 of a SKU.
    factor = {code: f for code, _n, f in plan.packs}
    box = {s["code"]: s["base_price_fen"] * factor[s["code"]] for s in plan.skus}
    by_price = sorted(orderable, key=lambda c: (-box[c], c))
    if "D01" in dealers and len(by_price) >= 20:
        plan.orders.append(
            {"dealer": "D01", "username": "d01buyer", "days_ago": 1,
             "note": "年底备货，量大请优先安排", "cancelled": False,
             "lines": _sized(sorted(rng.sample(by_price[:20], 3)), box, 800_000)}
        )
    mid = [c for c in by_price if 10_000 <= box[c] <= 40_000]
    if OVER_CREDIT_APPROVAL_DEALER in dealers and len(mid) >= 3:
        plan.orders.append(
            {"dealer": OVER_CREDIT_APPROVAL_DEALER, "username": "d04buyer", "days_ago": 2,
             "note": "", "cancelled": False,
             "lines": _sized(sorted(rng.sample(mid, 3)), box, 400_000)}
        )
    # One order waits for an out-of-stock SKU that accepts backorders, so the backorder
    # list and the "backordered" line have something to show (no randomness used).
    if plan.backorder and "D02" in dealers:
        plan.orders.append(
            {"dealer": "D02", "username": "d02buyer", "days_ago": 1,
             "note": "缺货商品先下单，到货即发", "cancelled": False,
             "lines": [(plan.backorder[0], 1)]}
        )


def _sized(codes: list[str], box: dict[str, int], base_fen: int) -> list[tuple[str, int]]:
    """The same number of 箱 of each SKU, enough for base_fen at list prices (at most 15)."""
    qty = min(15, -(-base_fen // sum(box[c] for c in codes)))
    return [(c, qty) for c in codes]


# ---------------------------------------------------------------------------------------
# Loading


async def _bulk(table: Any, rows: list[Any]) -> None:
    for i in range(0, len(rows), CHUNK):
        await table.insert(*rows[i : i + CHUNK])


async def _ids(column_key: Any, table: Any) -> dict[str, int]:
    rows = await table.select(table.id, column_key)
    return {r[column_key._meta.name]: r["id"] for r in rows}


async def _insert_plan(plan: DemoPlan, password_hash: str) -> None:
    now = datetime.now(UTC)
    await _bulk(Tier, [Tier(**t) for t in plan.tiers])
    await _bulk(Warehouse, [Warehouse(**w) for w in plan.warehouses])
    tier_id = await _ids(Tier.code, Tier)
    wh_id = await _ids(Warehouse.code, Warehouse)

    category_id: dict[str, int] = {}
    for name, parent, sort in plan.categories:  # a few rows; parents first
        row = Category(name=name, parent=category_id.get(parent) if parent else None, sort=sort)
        await row.save()
        category_id[name] = row.id

    await _bulk(
        Product,
        [
            Product(**pinyin.with_keys(Product, {**p, "category": category_id[p["category"]]}))
            for p in plan.products
        ],
    )
    product_id = await _ids(Product.name, Product)
    await _bulk(
        ProductVisibility,
        [ProductVisibility(product=product_id[p], tier=tier_id[t]) for p, t in plan.visibility],
    )
    await _bulk(
        Sku,
        [
            Sku(**pinyin.with_keys(Sku, {**s, "product": product_id[s["product"]]}))
            for s in plan.skus
        ],
    )
    sku_id = await _ids(Sku.code, Sku)
    await _bulk(PackUnit, [PackUnit(sku=sku_id[c], name=n, factor=f) for c, n, f in plan.packs])
    await _bulk(
        TierPrice,
        [
            TierPrice(tier=tier_id[t], sku=sku_id[c], price_fen=p, percent_bp=bp)
            for t, c, p, bp in plan.tier_prices
        ],
    )
    await _bulk(
        VolumeBreak,
        [
            VolumeBreak(tier=tier_id[t], sku=sku_id[c], min_qty=q, price_fen=p)
            for t, c, q, p in plan.volume_breaks
        ],
    )
    await _bulk(
        StockLevel,
        [StockLevel(warehouse=wh_id[w], sku=sku_id[c], on_hand=q) for w, c, q in plan.stock],
    )

    await _bulk(
        Dealer,
        [
            # Dealers of long standing: set up before the history below, so the balance
            # they brought (the ledger's opening entry, dated when the dealer was set up)
            # comes before their invoices and a statement opens with it.
            Dealer(**pinyin.with_keys(Dealer, {
                **d, "tier": tier_id[d["tier"]],
                "default_warehouse": wh_id[d["default_warehouse"]],
                "created_at": now - timedelta(days=DEALERS_SINCE_DAYS)}))
            for d in plan.dealers
        ],
    )
    dealer_id = await _ids(Dealer.code, Dealer)
    await _bulk(
        Address, [Address(**{**a, "dealer": dealer_id[a["dealer"]]}) for a in plan.addresses]
    )
    await _bulk(
        ContractPrice,
        [ContractPrice(dealer=dealer_id[d], sku=sku_id[c], price_fen=p)
         for d, c, p in plan.contract_prices],
    )
    await _bulk(
        Favourite,
        [Favourite(dealer=dealer_id[d], sku=sku_id[c], created_at=now) for d, c in plan.favourites],
    )

    # Staff without a manager first, so reps can point at the sales manager.
    user_id: dict[str, int] = {}
    first = [u for u in plan.users if "manager" not in u]
    second = [u for u in plan.users if "manager" in u]
    for batch in (first, second):
        await _bulk(
            User,
            [
                User(**pinyin.with_keys(User, {
                    **u, "dealer": dealer_id.get(u.get("dealer")),
                    "manager": user_id.get(u.get("manager")),
                    "password_hash": password_hash, "created_at": now}))
                for u in batch
            ],
        )
        user_id = await _ids(User.username, User)
    await _bulk(
        RepAssignment,
        [RepAssignment(dealer=dealer_id[d], rep=user_id[r], assigned_at=now)
         for d, r in plan.assignments],
    )


async def _rep_of(dealer_id: int) -> Any:
    """The actor of the rep a dealer is assigned to."""
    from portal.domain.scope import actor_from_user

    assigned = await RepAssignment.select(RepAssignment.rep).where(
        RepAssignment.dealer == dealer_id
    )
    return actor_from_user(await User.select().where(User.id == assigned[0]["rep"]).first())


async def _place_orders(plan: DemoPlan, skipped: list[str]) -> Placed:
    """Past orders through the real use case (one transaction each), so their prices, stock
    reservations, credit exposure and timelines are exactly what the portal would write.
    Returns the placed orders' ids by (dealer code, days ago)."""
    from portal.domain.orders import cancel_order, submit_order
    from portal.domain.quantities import LineRequest
    from portal.domain.scope import actor_from_user

    placed: Placed = {}
    if not plan.orders:
        return placed
    users = {
        u["username"]: u
        for u in await User.select().where(
            User.username.is_in(sorted({o["username"] for o in plan.orders}))
        )
    }
    dealer_id = await _ids(Dealer.code, Dealer)
    sku_id = await _ids(Sku.code, Sku)
    now = _demo_now()
    for n, order in enumerate(plan.orders, start=1):
        actor = actor_from_user(users[order["username"]])
        at = now - timedelta(days=order["days_ago"], hours=(n * 5) % 9)
        try:
            result = await submit_order(
                actor,
                dealer_id[order["dealer"]],
                [LineRequest(qty=q, sku_id=sku_id[c], unit="箱") for c, q in order["lines"]],
                idempotency_key=f"demo-order-{n}",
                note=order["note"],
                now=at,
            )
            if order["cancelled"]:
                # Before approval the dealer cancels; an approved order its rep cancels at the
                # dealer's call.
                by, reason = actor, "订错规格，重新下单"
                if not result.order.can_cancel:
                    by, reason = await _rep_of(dealer_id[order["dealer"]]), "客户来电：订错规格"
                await cancel_order(by, result.order.id, reason, now=at + timedelta(hours=2))
        except DomainError as exc:
            # The master data is committed already; a refused sample order is reported in the
            # summary (and fails the demo tests) rather than leaving a half-loaded portal.
            skipped.append(f"{order['dealer']}: {exc.type} {exc.message} {exc.params}")
            continue
        placed.setdefault((order["dealer"], order["days_ago"]), result.order.id)
    return placed


def _demo_now() -> datetime:
    """The hour the demo's past is counted back from: the latest 16:00 in Shanghai that has
    passed, so that its orders fall in working hours (08:00-16:00 there), whenever the demo
    is loaded (loaded at 02:40 in Shanghai, they were placed between 18:00 and 02:00)."""
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    anchor = local.replace(hour=16, minute=0, second=0, microsecond=0)
    if anchor > local:
        anchor -= timedelta(days=1)
    return anchor.astimezone(UTC)


async def _demo_actor(username: str) -> Any:
    from portal.domain.scope import actor_from_user

    return actor_from_user(await User.select().where(User.username == username).first())


async def _fulfil_orders(placed: Placed, skipped: list[str]) -> int:
    """FULFILMENT, PAYMENT and RETURN through the real use cases (shipments, receipts, the
    ledger, returns), each at its own time in the past; news older than READ_AFTER_DAYS read.
    Returns the shipments made; what could not be done is reported in `skipped`, as a
    refused sample order is."""
    now = _demo_now()
    made = await _ship_orders(placed, skipped, now)
    await _pay_first_invoice(now)
    await _ask_return(placed, skipped, now)
    await fetch(
        "UPDATE notification SET read_at = created_at WHERE read_at IS NULL AND created_at < {}",
        now - timedelta(days=READ_AFTER_DAYS),
    )
    return made


async def _ship_orders(placed: Placed, skipped: list[str], now: datetime) -> int:
    from portal.domain import shipments

    warehouse = await _demo_actor(DEMO_LOGINS["warehouse"])
    made = 0
    for n, (dealer, ordered, shipped, received, whole) in enumerate(FULFILMENT):
        order_id = placed.get((dealer, ordered))
        if order_id is None:
            continue
        try:
            plan = await shipments.shipment_plan(warehouse, order_id)
            lines = [ln for ln in plan.lines if ln.suggested] if whole else plan.lines[:1]
            at = now - timedelta(days=shipped)
            packed = await shipments.create_shipment(
                warehouse,
                order_id,
                warehouse_id=int(plan.warehouse_id or 0),
                quantities={ln.order_line_id: ln.suggested for ln in lines},
                carrier=CARRIERS[n % len(CARRIERS)],
                tracking_no=f"{7_700_000_000 + 7_919 * (n + 1) * (ordered + 13):d}",
                now=at - timedelta(hours=3),
            )
            await shipments.ship(warehouse, packed.shipment.id, now=at)
            made += 1
            if received is not None:
                at = now - timedelta(days=received, hours=5)
                await shipments.mark_delivered(warehouse, packed.shipment.id, now=at)
                buyer = await _demo_actor(f"{dealer.lower()}buyer")
                at += timedelta(hours=2)
                await shipments.confirm_receipt(buyer, packed.shipment.id, now=at)
        except DomainError as exc:
            skipped.append(f"{dealer} shipment: {exc.type} {exc.message} {exc.params}")
    return made


async def _pay_first_invoice(now: datetime) -> None:
    from portal.domain import ledger

    dealer_code, paid = PAYMENT
    dealer = await Dealer.select(Dealer.id).where(Dealer.code == dealer_code).first()
    if dealer is None:
        return
    invoice = (
        await LedgerEntry.select(LedgerEntry.amount_fen)
        .where((LedgerEntry.dealer == dealer["id"]) & (LedgerEntry.kind == "invoice"))
        .order_by(LedgerEntry.id)
        .first()
    )
    if invoice is None:
        return
    at = now - timedelta(days=paid)
    await ledger.record_payment(
        await _demo_actor(DEMO_LOGINS["finance"]),
        dealer["id"],
        amount=from_fen(int(invoice["amount_fen"])),
        method="bank",
        reference=f"网银转账 {at.astimezone(SHANGHAI):%Y%m%d}",
        value_date=at.astimezone(SHANGHAI).date(),
        now=at,
    )


async def _ask_return(placed: Placed, skipped: list[str], now: datetime) -> None:
    from portal.domain import returns

    dealer, ordered, asked, reason = RETURN
    order_id = placed.get((dealer, ordered))
    if order_id is None:
        return
    buyer = await _demo_actor(f"{dealer.lower()}buyer")
    try:
        left = await returns.returnable_lines(buyer, order_id)
        first = next(ln for ln in left if ln.returnable)
        await returns.request_return(
            buyer,
            order_id,
            quantities={first.order_line_id: min(first.returnable, 6)},
            reason=reason,
            now=now - timedelta(days=asked),
        )
    except (DomainError, StopIteration) as exc:
        skipped.append(f"{dealer} return: {exc!r}")


# Orders from ¥5,000 go to the regional manager; discounts past a rep's authority too;
# over-credit orders (dealers whose policy allows them) go to finance.
DEMO_APPROVAL_RULES = (
    {"kind": "total_at_least", "amount_fen": 500_000, "approver_role": "sales_manager",
     "step_order": 10},
    {"kind": "discount_beyond_authority", "approver_role": "sales_manager", "step_order": 10},
    {"kind": "over_credit", "approver_role": "finance", "step_order": 20},
)

async def _insert_approval_rules() -> None:
    from portal.tables import ApprovalRule

    created = datetime.now(UTC)
    await ApprovalRule.insert(
        *[ApprovalRule(**rule, active=True, created_at=created) for rule in DEMO_APPROVAL_RULES]
    )
    await Dealer.update({Dealer.over_credit_policy: "approval"}).where(
        Dealer.code == OVER_CREDIT_APPROVAL_DEALER
    )


async def _insert_supplier(defaults: supplier.Defaults) -> None:
    await SupplierSettings.insert(
        SupplierSettings(
            id=1,
            name=SUPPLIER,
            address=SUPPLIER_ADDRESS,
            phone=SUPPLIER_PHONE,
            show_stock_numbers=defaults.show_stock_numbers,
            auto_receive_days=defaults.auto_receive_days,
            updated_at=datetime.now(UTC),
        )
    )


async def _insert_promotions(plan: DemoPlan) -> None:
    """One promotion of each kind for the next weeks, paused: a percentage off the last
    top-level category, a 满减 on large orders, and a 买赠 on one SKU (buy 5 packs, get 1).
    Paused, so the demo's prices and totals are those of its price lists until an
    administrator resumes one (我的 › 促销, one tap)."""
    from portal.tables import Category, Promotion

    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    period = {
        "starts_on": today - timedelta(days=1),
        "ends_on": today + timedelta(days=30),
        "active": False,
    }
    top = await Category.select(Category.id).where(Category.name == TOP_ORDER[-1]).first()
    pack_of = {code: factor for code, _n, factor in plan.packs}
    gift = next(s for s in plan.skus if s["moq"] == 1 and s["order_multiple"] == 1)
    gift_id = (await Sku.select(Sku.id).where(Sku.code == gift["code"]).first())["id"]
    factor = int(pack_of.get(gift["code"], 1))
    await Promotion.insert(
        Promotion(
            name="年末特惠 92折",
            kind="percent_off",
            category=top["id"],
            percent_bp=800,
            created_at=now,
            updated_at=now,
            **period,
        ),
        Promotion(
            name="满8000减200",
            kind="spend_save",
            threshold_fen=800_000,
            save_fen=20_000,
            created_at=now,
            updated_at=now,
            **period,
        ),
        Promotion(
            name="买五赠一",
            kind="buy_get",
            sku=gift_id,
            buy_qty=5 * factor,
            gift_sku=gift_id,
            gift_qty=factor,
            created_at=now,
            updated_at=now,
            **period,
        ),
    )


async def load_demo(
    settings_or_none: Settings | None,
    *,
    seed: int = DEFAULT_SEED,
    sku_count: int = DEFAULT_SKU_COUNT,
    defaults: supplier.Defaults | None = None,
) -> DemoSummary:
    """Load the demo supplier into an empty database: the master data in one write
    transaction, then the sample orders through submit_order (a transaction each).

    With settings, an engine is built from settings.database_url, bound and closed again;
    with None, the tables' current binding is used (tests, load_demo_if_empty). The
    supplier's settings get its name, address and phone, and the environment's defaults
    (`defaults`) for the rest.
    """
    if settings_or_none is not None:
        engine = engine_from_url(settings_or_none.database_url)
        bind_tables(engine)
        await start(engine)
        try:
            defaults = supplier.Defaults.of(settings_or_none)
            return await load_demo(None, seed=seed, sku_count=sku_count, defaults=defaults)
        finally:
            await stop(engine)

    started = time.perf_counter()
    plan = build_plan(seed, sku_count)
    password_hash = hash_password(DEMO_PASSWORD)  # once: argon2 is slow on purpose
    async with write_transaction():
        await _insert_plan(plan, password_hash)
        await _insert_approval_rules()
        await _insert_supplier(defaults or supplier.Defaults())
    skipped: list[str] = []
    placed = await _place_orders(plan, skipped)
    shipped = await _fulfil_orders(placed, skipped)
    # After the sample orders, so those stay as they were placed.
    async with write_transaction():
        await _insert_promotions(plan)
    return DemoSummary(
        tiers=len(plan.tiers),
        dealers=len(plan.dealers),
        users=len(plan.users),
        reps=sum(1 for u in plan.users if u["role"] == "sales_rep"),
        warehouses=len(plan.warehouses),
        categories=len(plan.categories),
        products=len(plan.products),
        skus=len(plan.skus),
        low_stock=len(plan.low_stock),
        out_of_stock=len(plan.out_of_stock),
        contract_prices=len(plan.contract_prices),
        volume_breaks=len(plan.volume_breaks),
        orders=len(placed),
        shipments=shipped,
        orders_skipped=tuple(skipped),
        seconds=round(time.perf_counter() - started, 2),
    )


async def demo_login_table(settings: Settings) -> str:
    """The URL and one login per role, as printed by `python -m portal demo`."""
    users = await User.select(
        User.username, User.role, User.display_name, User.dealer.name
    ).where(User.username.is_in(list(DEMO_LOGINS.values())))
    by_name = {u["username"]: u for u in users}
    lines = [
        f"Dealer portal: http://{settings.host}:{settings.port}/",
        f"Demo logins (password for every demo user: {DEMO_PASSWORD})",
        "",
        f"  {'role':<15} {'username':<11} who",
    ]
    for role, username in DEMO_LOGINS.items():
        user = by_name.get(username)
        if user is None:
            who = "(not in this database)"
        else:
            who = user["display_name"]
            if user.get("dealer.name"):
                who += f", {user['dealer.name']}"
        lines.append(f"  {role:<15} {username:<11} {who}")
    lines.append("")
    lines.append("Every dealer has dNNadmin / dNNbuyer (d01..d40); reps are rep1..rep5.")
    return "\n".join(lines)


async def load_demo_if_empty(settings: Settings) -> None:
    """Load the demo supplier unless there are users already; always print the logins."""
    engine = engine_from_url(settings.database_url)
    bind_tables(engine)
    await start(engine)
    try:
        try:
            users = await User.count()
        except Exception as exc:
            raise RuntimeError(
                f"cannot read the users table ({exc}); run `python -m portal migrate` first"
            ) from exc
        if users == 0:
            summary = await load_demo(None, defaults=supplier.Defaults.of(settings))
            print(
                f"Loaded the demo supplier {SUPPLIER}: {summary.dealers} dealers, "
                f"{summary.users} users, {summary.skus} SKUs in {summary.products} products, "
                f"{summary.warehouses} warehouses, {summary.orders} past orders, "
                f"{summary.shipments} shipments ({summary.seconds:.1f} s)."
            )
            for problem in summary.orders_skipped:
                print(f"  sample order not placed: {problem}")
        else:
            print("The database already has users: demo data not loaded again.")
        print(await demo_login_table(settings))
    finally:
        await stop(engine)
