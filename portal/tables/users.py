"""People who sign in, and the failed sign-ins that rate-limit them."""

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    LazyTableReference,
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
    username = Varchar(length=64, unique=True, index=True)
    phone = Varchar(length=32, null=True, default=None, unique=True)
    display_name = Varchar(length=100)
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
