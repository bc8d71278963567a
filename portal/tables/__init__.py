"""Piccolo tables by business area; ALL_TABLES in dependency order for migrations and tests."""

from portal.tables.approvals import ApprovalRule, ApprovalStep, MailOutbox, Notification
from portal.tables.audit import AuditEntry
from portal.tables.catalog import (
    Category,
    Favourite,
    PackUnit,
    Product,
    ProductPicture,
    ProductVisibility,
    Sku,
)
from portal.tables.dealers import Address, Dealer, RepAssignment, Tier
from portal.tables.fulfilment import (
    FulfilmentKey,
    LedgerEntry,
    ReturnLine,
    ReturnPhoto,
    ReturnRequest,
    Shipment,
    ShipmentLine,
)
from portal.tables.orders import (
    Cart,
    CartLine,
    IdempotencyKey,
    Order,
    OrderCounter,
    OrderEvent,
    OrderLine,
)
from portal.tables.pricing import ContractPrice, Promotion, TierPrice, VolumeBreak
from portal.tables.stock import Reservation, StockLevel, Warehouse, WarehouseStaff
from portal.tables.supplier import SupplierSettings
from portal.tables.users import ApiKey, LoginFailure, User
from portal.tables.webhooks import WebhookDelivery, WebhookEndpoint

ALL_TABLES = [
    Tier,
    Warehouse,
    User,
    Dealer,
    Address,
    RepAssignment,
    Category,
    Product,
    ProductPicture,
    ProductVisibility,
    Sku,
    PackUnit,
    Favourite,
    TierPrice,
    VolumeBreak,
    ContractPrice,
    Promotion,
    StockLevel,
    Cart,
    CartLine,
    Order,
    OrderLine,
    Reservation,
    OrderEvent,
    IdempotencyKey,
    OrderCounter,
    AuditEntry,
    LoginFailure,
    ApprovalRule,
    ApprovalStep,
    Notification,
    MailOutbox,
    Shipment,
    ShipmentLine,
    LedgerEntry,
    FulfilmentKey,
    ReturnRequest,
    ReturnLine,
    ReturnPhoto,
    WebhookEndpoint,
    WebhookDelivery,
    SupplierSettings,
    ApiKey,
    WarehouseStaff,
]

__all__ = [t.__name__ for t in ALL_TABLES] + ["ALL_TABLES"]
