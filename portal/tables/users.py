"""People who sign in, and the failed sign-ins that rate-limit them."""

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    LazyTableReference,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

ROLES = (
    "dealer_admin",
    "dealer_buyer",
    "sales_rep",
    "sales_manager",
    "finance",
    "warehouse",
    "admin",
)


class User(Table, tablename="portal_user"):
    username = Varchar(length=64, unique=True)
    phone = Varchar(length=32, null=True, default=None, unique=True)
    display_name = Varchar(length=100)
    # The display name's pinyin sort key (portal/domain/pinyin.py), written with the name.
    name_key = Text(default="")
    password_hash = Varchar(length=255)
    role = Varchar(length=20)
    # Dealer users belong to one dealer; staff have none.
    dealer = ForeignKey(
        LazyTableReference("Dealer", module_path="portal.tables.dealers"),
        null=True,
        default=None,
    )
    # A rep's manager: a sales_manager sees the dealers of their team's reps.
    manager = ForeignKey("self", null=True, default=None)
    # A rep's discount authority below the tier price, in basis points (500 = 5 %).
    discount_authority_bp = Integer(default=0)
    active = Boolean(default=True)
    # Bumped on logout-everywhere, password, role or scope change: older tokens stop working.
    token_version = Integer(default=1)
    locale = Varchar(length=10, default="zh_Hans")
    created_at = Timestamptz()
    # Where approval notices are mailed (when SMTP is configured); empty: no mail.
    email = Varchar(length=255, default="")


class LoginFailure(Table, tablename="login_failure"):
    """One failed sign-in; counted per account and per address within a window."""

    key = Varchar(length=200, index=True)
    at = Timestamptz()


class ApiKey(Table, tablename="api_key"):
    """A key an integration sends as its bearer token; it acts as its user (that user's role
    and scope). Only a SHA-256 of the key is kept: the key itself is shown once."""

    user = ForeignKey(User, on_delete=OnDelete.cascade)  # indexed (migration 2026-11-25T14:00:18)
    name = Varchar(length=60)  # what the key is for: "金蝶 ERP"
    prefix = Varchar(length=16)  # the key's first characters, to recognise it in lists
    key_hash = Varchar(length=64, unique=True)
    created_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
