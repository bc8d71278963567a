# ruff: noqa: E501
"""Access matrix: every route of the app × every role × own/foreign/missing ids, as a table.

The table below is the contract. It is checked against the app's own route table, so a
route added without a row here fails `test_every_route_is_in_the_matrix`, and a row whose
route is gone fails too. Each cell is the status a plain request gets:

    "303"            one status (a route without an object id, or the same for all three)
    "200/404/404"    own id / foreign id (another dealer's, or out of the caller's scope) /
                     an id that does not exist

A foreign id must answer exactly like a missing one (404, same problem type) for every
role whose scope does not include it; `test_access_matrix` checks that rule as well as
the table. Staff sign in with the acting-dealer cookie set to their own dealer, as the
dealer picker leaves it. To print the observed table (after a deliberate change):
PORTAL_PRINT_ACCESS_MATRIX=1 pytest tests/http/test_access_matrix.py -s
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from portal.app import create_app
from portal.domain import catalog_admin, orders, photos, shipments, webhooks
from portal.domain.quantities import LineRequest
from portal.settings import Settings
from portal.tables import Address, ApiKey, OrderLine, Product, ProductVisibility, WebhookDelivery
from portal.web.common import ACTING_DEALER_COOKIE
from tests import factories as f
from tests.db.test_return_photos import picture
from tests.http.conftest import csrf_from

ROLES = (
    "anonymous",
    "dealer_admin",
    "dealer_buyer",
    "sales_rep",
    "sales_manager",
    "finance",
    "warehouse",
    "admin",
)
MISSING_ID = 987_654

# fmt: off
# route                                                 anonymous dealer_admin dealer_buyer sales_rep sales_manager finance warehouse admin
MATRIX: dict[str, str] = {
    "GET /":                                            "303 200 200 303 303 303 303 200",
    "GET /account/statement":                           "303 200 200 404 404 404 404 404",
    "GET /account/statement.pdf":                       "303 200 200 404 404 404 404 404",
    "GET /account/statement.xlsx":                      "303 200 200 404 404 404 404 404",
    "GET /api/v1/dealers/{dealer_id:int}/statement":    "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 404/404/404 200/200/404",
    "GET /finance/dealers/{dealer_id:int}/statement.pdf":"303 403 403 403 403 200/200/404 403 200/200/404",
    "GET /finance/dealers/{dealer_id:int}/statement.xlsx":"303 403 403 403 403 200/200/404 403 200/200/404",
    "GET /admin/approval-rules":                        "303 403 403 403 403 403 403 200",
    "GET /admin/approval-rules/{rule_id:int}":          "303 403 403 403 403 403 403 404",
    "GET /api/v1/approval-rules":                       "401 403 403 403 403 403 403 200",
    "GET /api/v1/approval-rules/{rule_id:int}":         "401 403 403 403 403 403 403 404",
    "GET /api/v1/approvals":                            "401 200 200 200 200 200 200 200",
    "GET /api/v1/backorders":                           "401 403 403 403 200 403 200 200",
    "GET /backorders":                                  "303 403 403 403 200 403 200 200",
    "GET /api/v1/catalog/categories":                   "401 200 200 200 200 200 200 200",
    "GET /api/v1/catalog/skus":                         "401 200 200 200 200 200 404 200",
    "GET /api/v1/catalog/skus/{sku_id:int}":            "401 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 404/404/404 200/404/404",
    "GET /api/v1/catalog/products/{product_id:int}":    "401 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 404/404/404 200/404/404",
    "POST /api/v1/dealers/{dealer_id:int}/review-flag": "401 400/400/400 400/400/400 400/400/400 400/400/400 400/400/400 400/400/400 400/400/400",
    "GET /api/v1/dealers/{dealer_id:int}/ledger":       "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 404/404/404 200/200/404",
    "GET /api/v1/orders":                               "401 200 200 200 200 200 200 200",
    "GET /api/v1/returns":                              "401 200 200 200 200 200 200 200",
    "GET /api/v1/orders/{order_id:int}":                "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /api/v1/orders/{order_id:int}/shipments":      "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /api/v1/shipments":                            "401 200 200 200 200 200 200 200",
    "GET /api/v1/shipments/{shipment_id:int}":          "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /api/v1/stock":                                "401 403 403 403 403 403 200 200",
    "GET /api/v1/stock/alerts":                         "401 403 403 200 200 200 200 200",
    "PUT /api/v1/stock/{sku_id:int}/safety-stock":      "401 400 400 400 400 400 400 400",
    "GET /api/v1/warehouses/{warehouse_id:int}/pick-list":"401 403 403 403 403 403 404 404",
    "GET /stock/alerts":                                "303 403 403 200 200 200 200 200",
    "GET /stock/{sku_id:int}/safety-stock":             "303 403 403 403 403 403 200/200/404 200/200/404",
    "POST /stock/{sku_id:int}/safety-stock":            "303 403 403 403 403 403 422/422/404 422/422/404",
    "GET /warehouse/pick-list":                         "303 403 403 403 403 403 200 200",
    "GET /approvals":                                   "303 403 403 200 200 200 200 200",
    "GET /approvals/badge":                             "303 200 200 200 200 200 200 200",
    "GET /approvals/{step_id:int}/{action:str}":        "303 422 422 422 422 422 422 422",
    "GET /cart":                                        "303 200 200 200 200 403 403 200",
    "GET /cart/order-sample.csv":                       "303 200 200 200 200 403 403 200",
    "GET /catalog":                                     "303 200 200 200 200 200 403 200",
    "GET /dealers":                                     "303 303 303 200 200 200 403 200",
    "GET /dealers/{dealer_id:int}":                     "303 303/404/404 303/404/404 200/404/404 200/404/404 200/200/404 404/404/404 200/200/404",
    "GET /finance":                                     "303 403 403 403 403 200 403 200",
    "GET /finance/dealers/{dealer_id:int}":             "303 403 403 403 403 200/200/404 403 200/200/404",
    "GET /health/live":                                 "200 200 200 200 200 200 200 200",
    "GET /health/ready":                                "200 200 200 200 200 200 200 200",
    "GET /login":                                       "200 200 200 200 200 200 200 200",
    "GET /me":                                          "303 200 200 200 200 200 200 200",
    "GET /notifications":                               "303 200 200 200 200 200 200 200",
    "GET /offline":                                     "200 200 200 200 200 200 200 200",
    "GET /problems":                                    "200 200 200 200 200 200 200 200",
    "GET /problems/{problem_type:str}":                 "200 200 200 200 200 200 200 200",
    "GET /manifest.webmanifest":                        "200 200 200 200 200 200 200 200",
    "GET /orders":                                      "303 200 200 200 200 200 200 200",
    "GET /returns":                                     "303 200 200 200 200 200 200 200",
    "GET /orders/{order_id:int}":                       "303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /orders/{order_id:int}/adjust":                "303 403/404/404 403/404/404 409/404/404 409/404/404 409/409/404 403 409/409/404",
    "GET /orders/{order_id:int}/approval":              "303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /orders/{order_id:int}/cancel":                "303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /orders/{order_id:int}/returns/new":           "303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /orders/{order_id:int}/shipments":             "303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /products/{product_id:int}":                   "303 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 403/403/403 200/404/404",
    "GET /returns/{return_id:int}":                     "303 404 404 404 404 404 404 404",
    "GET /returns/{return_id:int}/photos/{photo_id:int}":"303 404 404 404 404 404 404 404",
    "POST /returns/{return_id:int}/photos":             "303 404 404 403 403 403 403 403",
    "GET /api/v1/orders/{order_id:int}/returns":        "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "POST /api/v1/orders/{order_id:int}/returns":       "401 400 400 400 400 400 400 400",
    "GET /api/v1/returns/{return_id:int}":              "401 404 404 404 404 404 404 404",
    "POST /api/v1/returns/{return_id:int}/photos":      "401 404 404 403 403 403 403 403",
    "GET /api/v1/returns/{return_id:int}/photos/{photo_id:int}":"401 404 404 404 404 404 404 404",
    "POST /api/v1/returns/{return_id:int}/decision":   "401 400 400 400 400 400 400 400",
    "POST /api/v1/returns/{return_id:int}/receive":    "401 400 400 400 400 400 400 400",
    "GET /schema":                                      "200 200 200 200 200 200 200 200",
    "GET /schema/openapi.json":                         "200 200 200 200 200 200 200 200",
    "GET /schema/{path:str}":                           "404 404 404 404 404 404 404 404",
    "GET /shipments/{shipment_id:int}":                 "303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /shipments/{shipment_id:int}/delivery-note.pdf":"303 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "GET /static/{file_path:path}":                     "200 200 200 200 200 200 200 200",
    "GET /stock":                                       "303 403 403 403 403 403 200 200",
    "GET /sw.js":                                       "200 200 200 200 200 200 200 200",
    "GET /warehouse":                                   "303 403 403 403 403 403 200 200",
    "GET /warehouse/orders/{order_id:int}":             "303 403 403 403 403 403 200/200/404 200/200/404",
    "HEAD /static/{file_path:path}":                    "200 200 200 200 200 200 200 200",
    "POST /admin/approval-rules":                       "303 403 403 403 403 403 403 422",
    "POST /admin/approval-rules/{rule_id:int}":         "303 403 403 403 403 403 403 404",
    "POST /api/v1/approval-rules":                      "401 400 400 400 400 400 400 400",
    "POST /api/v1/auth/token":                          "200 200 200 200 200 200 200 200",
    "POST /api/v1/orders":                              "401 201 201 201 201 403 403 201",
    "POST /api/v1/orders/{order_id:int}/approve":       "401 409/404/404 409/404/404 409/404/404 409/404/404 409/409/404 409/409/404 409/409/404",
    "POST /api/v1/orders/{order_id:int}/close-remainder": "401 403/404/404 403/404/404 422/404/404 422/404/404 422/422/404 403/403/404 422/422/404",
    "POST /api/v1/orders/{order_id:int}/cancel":        "401 409/404/404 409/404/404 200/404/404 200/404/404 200/200/404 403/403/404 200/200/404",
    "POST /api/v1/orders/{order_id:int}/reject":        "401 400 400 400 400 400 400 400",
    "POST /api/v1/orders/{order_id:int}/return-to-dealer":"401 400 400 400 400 400 400 400",
    "POST /api/v1/orders/{order_id:int}/shipments":     "401 400 400 400 400 400 400 400",
    "POST /api/v1/payments":                            "401 400 400 400 400 400 400 400",
    "POST /api/v1/credit-notes":                        "401 400 400 400 400 400 400 400",
    "POST /api/v1/dealers/{dealer_id:int}/ledger/{entry_id:int}/reverse": "401 400 400 400 400 400 400 400",
    "POST /api/v1/shipments/{shipment_id:int}/receipt": "401 409/404/404 409/404/404 403/404/404 403/404/404 403/403/404 403/403/404 403/403/404",
    "GET /api/v1/shipments/{shipment_id:int}/delivery-note": "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404",
    "POST /api/v1/shipments/{shipment_id:int}/cancel":  "401 403 403 403 403 403 409/409/404 409/409/404",
    "POST /api/v1/orders/{order_id:int}/resubmit":      "401 409/404/404 409/404/404 409/404/404 409/404/404 409/409/404 403/403/404 409/409/404",
    "POST /api/v1/orders/{order_id:int}/adjust":        "401 403/404/404 403/404/404 409/404/404 409/404/404 409/409/404 403 409/409/404",
    "POST /api/v1/shipments/{shipment_id:int}/deliver": "401 403 403 403 403 403 409/409/404 409/409/404",
    "POST /api/v1/shipments/{shipment_id:int}/ship":    "401 403 403 403 403 403 200/200/404 200/200/404",
    "PATCH /api/v1/shipments/{shipment_id:int}":        "401 400 400 400 400 400 400 400",
    "POST /api/v1/stock/adjust":                        "401 400 400 400 400 400 400 400",
    "POST /api/v1/stock/transfer":                      "401 400 400 400 400 400 400 400",
    "POST /approvals/bulk":                             "303 303 303 303 303 303 303 303",
    "POST /approvals/{step_id:int}/{action:str}":       "303 404 404 404 404 404 404 404",
    "POST /cart/details":                               "303 303 303 303 303 403 403 303",
    "POST /cart/lines/{sku_id:int}":                    "303 303/404/404 303/404/404 303/404/404 303/404/404 403 403 303/404/404",
    "POST /cart/lines/{sku_id:int}/price":              "303 403 403 303/404/404 303/404/404 403 403 303/404/404",
    "POST /cart/quick":                                 "303 303 303 303 303 403 403 303",
    "POST /cart/submit":                                "303 303 303 303 303 403 403 303",
    "POST /catalog/favourite/{sku_id:int}":             "303 303/404/404 303/404/404 303/404/404 303/404/404 403/403/403 403/403/403 303/404/404",
    "POST /catalog/qty/{sku_id:int}":                   "303 303/404/404 303/404/404 303/404/404 303/404/404 403/404/404 403/403/403 303/404/404",
    "POST /dealers/{dealer_id:int}/review-flag":        "303 403/403/403 403/403/403 403/403/403 303/404/404 303/303/404 403/403/403 303/303/404",
    "POST /dealers/{dealer_id:int}/act":                "303 303/404/404 303/404/404 303/404/404 303/404/404 303/303/404 404/404/404 303/303/404",
    "POST /finance/dealers/{dealer_id:int}/credit-notes":"303 403 403 403 403 422/422/404 403 422/422/404",
    "POST /finance/dealers/{dealer_id:int}/payments":   "303 403 403 403 403 422/422/404 403 422/422/404",
    "POST /finance/dealers/{dealer_id:int}/reversals":  "303 403 403 403 403 422/422/404 403 422/422/404",
    "POST /finance/dealers/{dealer_id:int}/terms":      "303 403 403 403 403 422/422/404 403 422/422/404",
    "POST /lang":                                       "303 303 303 303 303 303 303 303",
    "POST /login":                                      "401 303 303 303 303 303 303 303",
    "POST /logout":                                     "303 303 303 303 303 303 303 303",
    "POST /notifications/read":                         "303 303 303 303 303 303 303 303",
    "POST /orders/{order_id:int}/adjust":               "303 403/404/404 403/404/404 409/404/404 409/404/404 409/409/404 403 409/409/404",
    "POST /orders/{order_id:int}/close-rest":           "303 403/404/404 403/404/404 422/404/404 422/404/404 422/422/404 403/403/404 422/422/404",
    "POST /orders/{order_id:int}/cancel":               "303 409/404/404 409/404/404 303/404/404 303/404/404 303/303/404 403/403/404 303/303/404",
    "POST /orders/{order_id:int}/reorder":              "303 303/404/404 303/404/404 303/404/404 303/404/404 403/403/404 403/403/404 303/303/404",
    "POST /orders/{order_id:int}/resubmit":             "303 303/404/404 303/404/404 303/404/404 303/404/404 303/303/404 303/303/404 303/303/404",
    "POST /orders/{order_id:int}/returns":              "303 422/404/404 422/404/404 403 403 403 403 403",
    "POST /products/{product_id:int}/grid":             "303 303/404/404 303/404/404 303/404/404 303/404/404 403/404/404 403/403/403 303/404/404",
    "POST /returns/{return_id:int}/decision":           "303 403 403 403 404 404 403 404",
    "POST /returns/{return_id:int}/receive":            "303 403 403 403 403 403 404 404",
    "POST /shipments/{shipment_id:int}/cancel":         "303 403 403 403 403 403 409/409/404 409/409/404",
    "POST /shipments/{shipment_id:int}/receipt":        "303 409/404/404 409/404/404 403/404/404 403/404/404 403/403/404 403/403/404 403/403/404",
    "POST /shipments/{shipment_id:int}/deliver":        "303 403 403 403 403 403 303/303/404 303/303/404",
    "POST /shipments/{shipment_id:int}/ship":           "303 403 403 403 403 403 409/409/404 409/409/404",
    "POST /shipments/{shipment_id:int}/tracking":       "303 403 403 403 403 403 303/303/404 303/303/404",
    "POST /stock/adjust":                               "303 403 403 403 403 403 422 422",
    "POST /stock/transfer":                             "303 403 403 403 403 403 422 422",
    "POST /warehouse/orders/{order_id:int}":            "303 403 403 403 403 403 422/422/404 422/422/404",
    "PUT /api/v1/approval-rules/{rule_id:int}":         "401 400 400 400 400 400 400 400",
    "GET /me/password":                                 "303 200 200 200 200 200 200 200",
    "POST /me/password":                                "303 422 422 422 422 422 422 422",
    "GET /dealers/{dealer_id:int}/users":               "303 200/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 200/200/404",
    "POST /dealers/{dealer_id:int}/users":              "303 422/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 422/422/404",
    "GET /dealers/{dealer_id:int}/users/{user_id:int}": "303 200/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 200/200/404",
    "POST /dealers/{dealer_id:int}/users/{user_id:int}": "303 422/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 422/422/404",
    "POST /dealers/{dealer_id:int}/users/{user_id:int}/password": "303 422/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 422/422/404",
    "GET /dealers/{dealer_id:int}/addresses":           "303 200/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 200/200/404",
    "POST /dealers/{dealer_id:int}/addresses":          "303 422/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 422/422/404",
    "GET /dealers/{dealer_id:int}/addresses/{address_id:int}": "303 200/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 200/200/404",
    "POST /dealers/{dealer_id:int}/addresses/{address_id:int}": "303 422/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 422/422/404",
    "POST /dealers/{dealer_id:int}/addresses/{address_id:int}/delete": "303 303/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 303/303/404",
    "POST /api/v1/me/password":                         "401 400 400 400 400 400 400 400",
    "GET /api/v1/dealers/{dealer_id:int}/users":        "401 200/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 200/200/404",
    "POST /api/v1/dealers/{dealer_id:int}/users":       "401 201/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 201/201/404",
    "PUT /api/v1/dealers/{dealer_id:int}/users/{user_id:int}": "401 400 400 400 400 400 400 400",
    "POST /api/v1/dealers/{dealer_id:int}/users/{user_id:int}/password": "401 400 400 400 400 400 400 400",
    "GET /api/v1/dealers/{dealer_id:int}/addresses":    "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 404/404/404 200/200/404",
    "POST /api/v1/dealers/{dealer_id:int}/addresses":   "401 201/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 201/201/404",
    "PUT /api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}": "401 200/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 200/200/404",
    "DELETE /api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}": "401 204/404/404 403/404/404 403/404/404 403/404/404 403/403/404 404/404/404 204/204/404",
    "GET /admin/webhooks":                              "303 403 403 403 403 403 403 200",
    "POST /admin/webhooks":                             "303 403 403 403 403 403 403 422",
    "GET /admin/webhooks/{endpoint_id:int}":            "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/webhooks/{endpoint_id:int}":           "303 403 403 403 403 403 403 422/422/404",
    "POST /admin/webhooks/{endpoint_id:int}/secret":    "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/webhooks/{endpoint_id:int}/test":      "303 403 403 403 403 403 403 303/303/404",
    "POST /admin/webhooks/deliveries/{delivery_id:int}/retry": "303 403 403 403 403 403 403 303/303/404",
    "GET /api/v1/webhooks":                             "401 403 403 403 403 403 403 200",
    "GET /api/v1/webhooks/events":                      "401 403 403 403 403 403 403 200",
    "POST /api/v1/webhooks":                            "401 400 400 400 400 400 400 400",
    "GET /api/v1/webhooks/{endpoint_id:int}":           "401 403 403 403 403 403 403 200/200/404",
    "PUT /api/v1/webhooks/{endpoint_id:int}":           "401 400 400 400 400 400 400 400",
    "POST /api/v1/webhooks/{endpoint_id:int}/secret":   "401 403 403 403 403 403 403 200/200/404",
    "POST /api/v1/webhooks/{endpoint_id:int}/test":     "401 403 403 403 403 403 403 200/200/404",
    "GET /api/v1/webhooks/{endpoint_id:int}/deliveries":"401 403 403 403 403 403 403 200/200/404",
    "POST /api/v1/webhooks/deliveries/{delivery_id:int}/retry": "401 403 403 403 403 403 403 204/204/404",
    "GET /reports":                                     "303 403 403 200 200 200 403 200",
    "GET /reports/export/{by:str}":                     "303 403 403 200 200 200 403 200",
    "GET /api/v1/reports/sales":                        "401 403 403 200 200 200 403 200",
    "GET /api/v1/reports/overview":                     "401 403 403 200 200 200 403 200",
    "POST /cart/upload":                                "303 422 422 422 422 403 403 422",
    "POST /dealers/{dealer_id:int}/rep":                "303 403 403 403 422/404/404 403 403 303/303/404",
    "PUT /api/v1/favourites/{sku_id:int}":              "401 200/404/404 200/404/404 200/404/404 200/404/404 403 404/404/404 200/404/404",
    "DELETE /api/v1/favourites/{sku_id:int}":           "401 200/404/404 200/404/404 200/404/404 200/404/404 403 404/404/404 200/404/404",
    "GET /api/v1/notifications":                        "401 200 200 200 200 200 200 200",
    "POST /api/v1/notifications/read":                  "401 200 200 200 200 200 200 200",
    "GET /admin/dealers/new":                           "303 403 403 403 403 403 403 200",
    "POST /admin/dealers":                              "303 403 403 403 403 403 403 422",
    "GET /admin/dealers/{dealer_id:int}":               "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/dealers/{dealer_id:int}":              "303 403 403 403 403 403 403 422/422/404",
    "POST /api/v1/dealers":                             "401 403 403 403 403 403 403 201",
    "PUT /api/v1/dealers/{dealer_id:int}":              "401 403 403 403 403 403 403 200/200/404",
    "GET /finance/export":                              "303 403 403 403 403 200 403 200",
    "GET /orders/export":                               "303 200 200 200 200 200 200 200",
    "GET /admin/audit":                                 "303 403 403 403 403 200 403 200",
    "GET /api/v1/audit":                                "401 403 403 403 403 200 403 200",
    "GET /api/v1/dealers":                              "401 200 200 200 200 200 403 200",
    "GET /api/v1/dealers/{dealer_id:int}":              "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 404/404/404 200/200/404",
    "PUT /api/v1/dealers/{dealer_id:int}/credit":       "401 403 403 403 403 200/200/404 403 200/200/404",
    "GET /api/v1/dealers/{dealer_id:int}/rep":          "401 200/404/404 200/404/404 200/404/404 200/404/404 200/200/404 404/404/404 200/200/404",
    "PUT /api/v1/dealers/{dealer_id:int}/rep":          "401 400 400 400 400 400 400 400",
    "GET /admin/data":                                  "303 403 403 403 403 403 200 200",
    "GET /admin/data/{kind:str}/export":                "303 403 403 403 403 403 200 200",
    "POST /admin/data/{kind:str}":                      "303 403 403 403 403 403 422 422",
    "GET /api/v1/data/{kind:str}":                      "401 403 403 403 403 403 200 200",
    "POST /api/v1/data/{kind:str}":                     "401 403 403 403 403 403 422 422",
    "POST /admin/webhooks/{endpoint_id:int}/delete":    "303 403 403 403 403 403 403 303/303/404",
    "DELETE /api/v1/webhooks/{endpoint_id:int}":        "401 403 403 403 403 403 403 204/204/404",
    "GET /admin/users":                                 "303 403 403 403 403 403 403 200",
    "POST /admin/users":                                "303 403 403 403 403 403 403 422",
    "GET /admin/users/{user_id:int}":                   "303 403 403 403 403 403 403 404",
    "POST /admin/users/{user_id:int}":                  "303 403 403 403 403 403 403 404",
    "POST /admin/users/{user_id:int}/password":         "303 403 403 403 403 403 403 404",
    "GET /api/v1/staff":                                "401 403 403 403 403 403 403 200",
    "POST /api/v1/staff":                               "401 400 400 400 400 400 400 400",
    "GET /api/v1/staff/{user_id:int}":                  "401 403 403 403 403 403 403 404",
    "PUT /api/v1/staff/{user_id:int}":                  "401 400 400 400 400 400 400 400",
    "POST /api/v1/staff/{user_id:int}/password":        "401 400 400 400 400 400 400 400",
    "GET /me/api-keys":                                 "303 200 403 403 403 403 403 200",
    "POST /me/api-keys":                                "303 422 403 403 403 403 403 422",
    "POST /me/api-keys/{key_id:int}/revoke":            "303 303/404/404 403 403 403 403 403 303/303/404",
    "GET /admin/settings":                              "303 403 403 403 403 403 403 200",
    "POST /admin/settings":                             "303 403 403 403 403 403 403 422",
    "GET /admin/warehouses":                            "303 403 403 403 403 403 403 200",
    "POST /admin/warehouses":                           "303 403 403 403 403 403 403 422",
    "GET /admin/warehouses/{warehouse_id:int}":         "303 403 403 403 403 403 403 404",
    "POST /admin/warehouses/{warehouse_id:int}":        "303 403 403 403 403 403 403 404",
    "GET /admin/skus":                                  "303 403 403 403 403 403 403 200",
    "GET /admin/skus/{sku_id:int}":                     "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/skus/{sku_id:int}":                    "303 403 403 403 403 403 403 422/422/404",
    "POST /admin/skus/{sku_id:int}/packs":              "303 403 403 403 403 403 403 303/303/404",
    "POST /admin/skus/{sku_id:int}/tier-prices/{tier_id:int}":"303 403 403 403 403 403 403 303/303/404",
    "POST /admin/skus/{sku_id:int}/contract-prices":    "303 403 403 403 403 403 403 422/422/404",
    "POST /admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}/remove":"303 403 403 403 403 403 403 404",
    "POST /admin/skus/{sku_id:int}/visibility":         "303 403 403 403 403 403 403 422/422/404",
    "GET /api/v1/admin/skus":                           "401 403 403 403 403 403 403 200",
    "GET /api/v1/admin/skus/{sku_id:int}":              "401 403 403 403 403 403 403 200/200/404",
    "PUT /api/v1/admin/skus/{sku_id:int}":              "401 400 400 400 400 400 400 400",
    "PUT /api/v1/admin/skus/{sku_id:int}/tier-prices/{tier_id:int}":"401 400 400 400 400 400 400 400",
    "PUT /api/v1/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}":"401 400 400 400 400 400 400 400",
    "DELETE /api/v1/admin/skus/{sku_id:int}/contract-prices/{dealer_code:str}":"401 403 403 403 403 403 403 404",
    "POST /admin/skus/{sku_id:int}/product":            "303 403 403 403 403 403 403 422/422/404",
    "PUT /api/v1/admin/products/{product_id:int}":      "401 400 400 400 400 400 400 400",
    "PUT /api/v1/admin/products/{product_id:int}/visibility":"401 400 400 400 400 400 400 400",
    "GET /admin/products/new":                          "303 403 403 403 403 403 403 200",
    "POST /admin/products":                             "303 403 403 403 403 403 403 422",
    "GET /admin/products/{product_id:int}/skus/new":    "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/products/{product_id:int}/skus":       "303 403 403 403 403 403 403 422/422/404",
    "POST /api/v1/admin/products":                      "401 400 400 400 400 400 400 400",
    "POST /api/v1/admin/products/{product_id:int}/skus":"401 400 400 400 400 400 400 400",
    "POST /admin/products/{product_id:int}/picture":    "303 403 403 403 403 403 403 422/422/404",
    "PUT /api/v1/admin/products/{product_id:int}/picture":"401 403 403 403 403 403 403 422/422/404",
    "POST /admin/products/{product_id:int}/pictures":   "303 403 403 403 403 403 403 422/422/404",
    "POST /admin/products/{product_id:int}/pictures/{picture_id:int}/cover":"303 403 403 403 403 403 403 303/303/404",
    "POST /admin/products/{product_id:int}/pictures/{picture_id:int}/remove":"303 403 403 403 403 403 403 303/303/404",
    "GET /api/v1/admin/products/{product_id:int}/pictures":"401 403 403 403 403 403 403 200/200/404",
    "POST /api/v1/admin/products/{product_id:int}/pictures":"401 403 403 403 403 403 403 422/422/404",
    "POST /api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}/cover":"401 403 403 403 403 403 403 200/200/404",
    "DELETE /api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}":"401 403 403 403 403 403 403 204/204/404",
    "GET /pictures/products/{picture_id:int}":          "303 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404 200/200/404 200/200/404",
    "GET /pictures/products/{picture_id:int}/thumb":    "303 200/404/404 200/404/404 200/200/404 200/200/404 200/200/404 200/200/404 200/200/404",
    "GET /admin/promotions":                            "303 403 403 403 403 403 403 200",
    "POST /admin/promotions":                           "303 403 403 403 403 403 403 422",
    "GET /admin/promotions/{promo_id:int}":             "303 403 403 403 403 403 403 404",
    "POST /admin/promotions/{promo_id:int}":            "303 403 403 403 403 403 403 404",
    "POST /admin/promotions/{promo_id:int}/active":     "303 403 403 403 403 403 403 404",
    "GET /promotions":                                  "303 200 200 200 200 200 200 200",
    "GET /api/v1/promotions":                           "401 403 403 403 403 403 403 200",
    "GET /api/v1/promotions/current":                   "401 200 200 422 422 422 422 422",
    "POST /api/v1/promotions":                          "401 400 400 400 400 400 400 400",
    "GET /api/v1/promotions/{promo_id:int}":            "401 403 403 403 403 403 403 404",
    "PUT /api/v1/promotions/{promo_id:int}":            "401 400 400 400 400 400 400 400",
    "GET /api/v1/api-keys":                             "401 200 403 403 403 403 403 200",
    "POST /api/v1/api-keys":                            "401 400 400 400 400 400 400 400",
    "POST /api/v1/api-keys/{key_id:int}/revoke":        "401 200/404/404 403 403 403 403 403 200/200/404",
    "GET /api/v1/settings":                             "401 403 403 403 403 403 403 200",
    "PUT /api/v1/settings":                             "401 400 400 400 400 400 400 400",
    "GET /api/v1/warehouses":                           "401 403 403 200 200 200 200 200",
    "POST /api/v1/warehouses":                          "401 400 400 400 400 400 400 400",
    "GET /api/v1/warehouses/{warehouse_id:int}":        "401 403 403 404 404 404 404 404",
    "PUT /api/v1/warehouses/{warehouse_id:int}":        "401 400 400 400 400 400 400 400",
    "GET /admin/tiers":                                 "303 403 403 403 403 403 403 200",
    "POST /admin/tiers":                                "303 403 403 403 403 403 403 422",
    "GET /admin/tiers/{tier_id:int}":                   "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/tiers/{tier_id:int}":                  "303 403 403 403 403 403 403 422/422/404",
    "POST /admin/tiers/{tier_id:int}/delete":           "303 403 403 403 403 403 403 303/303/404",
    "GET /api/v1/admin/tiers":                          "401 403 403 403 403 403 403 200",
    "POST /api/v1/admin/tiers":                         "401 400 400 400 400 400 400 400",
    "GET /api/v1/admin/tiers/{tier_id:int}":            "401 403 403 403 403 403 403 200/200/404",
    "PUT /api/v1/admin/tiers/{tier_id:int}":            "401 400 400 400 400 400 400 400",
    "DELETE /api/v1/admin/tiers/{tier_id:int}":         "401 403 403 403 403 403 403 204/204/404",
    "GET /admin/categories":                            "303 403 403 403 403 403 403 200",
    "POST /admin/categories":                           "303 403 403 403 403 403 403 422",
    "GET /admin/categories/{category_id:int}":          "303 403 403 403 403 403 403 200/200/404",
    "POST /admin/categories/{category_id:int}":         "303 403 403 403 403 403 403 422/422/404",
    "POST /admin/categories/{category_id:int}/delete":  "303 403 403 403 403 403 403 303/303/404",
    "GET /api/v1/admin/categories":                     "401 403 403 403 403 403 403 200",
    "POST /api/v1/admin/categories":                    "401 400 400 400 400 400 400 400",
    "GET /api/v1/admin/categories/{category_id:int}":   "401 403 403 403 403 403 403 200/200/404",
    "PUT /api/v1/admin/categories/{category_id:int}":   "401 400 400 400 400 400 400 400",
    "DELETE /api/v1/admin/categories/{category_id:int}":"401 403 403 403 403 403 403 204/204/404",
}
# fmt: on

# Requests that change state go last, in this order (logout ends the session).
LAST = (
    "POST /api/v1/shipments/{shipment_id:int}/cancel",
    "POST /admin/webhooks/{endpoint_id:int}/delete",
    "DELETE /api/v1/webhooks/{endpoint_id:int}",
    "POST /admin/tiers/{tier_id:int}/delete",
    "DELETE /api/v1/admin/tiers/{tier_id:int}",
    "POST /admin/categories/{category_id:int}/delete",
    "DELETE /api/v1/admin/categories/{category_id:int}",
    "POST /dealers/{dealer_id:int}/addresses/{address_id:int}/delete",
    "DELETE /api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}",
    "POST /orders/{order_id:int}/cancel",
    "POST /api/v1/orders/{order_id:int}/cancel",
    "POST /admin/products/{product_id:int}/pictures/{picture_id:int}/remove",
    "DELETE /api/v1/admin/products/{product_id:int}/pictures/{picture_id:int}",
    "POST /logout",
)
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_NEW_USERS = itertools.count(1)


def route_keys(app) -> set[str]:
    """ "METHOD path" for every handler in the app's route table (OPTIONS is Litestar's own)."""
    keys = set()
    for route in app.routes:
        for method in getattr(route, "route_handler_map", {}):
            if method != "OPTIONS":
                keys.add(f"{method} {route.path}")
    return keys


def parse_cell(cell: str) -> tuple[int, int, int] | int:
    parts = [int(p) for p in cell.split("/")]
    return tuple(parts) if len(parts) == 3 else parts[0]  # type: ignore[return-value]


def matches(expected: tuple[int, int, int] | int, observed: tuple[int, int, int] | int) -> bool:
    """One status for a route with ids means the same status for own, foreign and missing."""
    if isinstance(expected, int) and isinstance(observed, tuple):
        return observed == (expected,) * 3
    return expected == observed


def expected_table() -> dict[tuple[str, str], Any]:
    table = {}
    for key, row in MATRIX.items():
        cells = row.split()
        assert len(cells) == len(ROLES), f"{key}: {len(cells)} cells for {len(ROLES)} roles"
        for role, cell in zip(ROLES, cells, strict=True):
            table[(key, role)] = parse_cell(cell)
    return table


def app_without_database(tmp_path):
    """The app, for its route table and OpenAPI document (no request reaches a database)."""
    settings = Settings.from_env(
        {
            "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'routes.sqlite3'}",
            "PORTAL_VAR_DIR": str(tmp_path),
        }
    )
    return create_app(settings)


def test_every_route_is_in_the_matrix(tmp_path):
    routes = route_keys(app_without_database(tmp_path))
    assert routes - set(MATRIX) == set(), "routes missing from the access matrix"
    assert set(MATRIX) - routes == set(), "matrix rows for routes that no longer exist"
    expected_table()  # every row has one cell per role


def documented_statuses(app) -> dict[str, set[int]]:
    """ "METHOD path" of each API route -> the statuses its OpenAPI operation lists."""
    paths = app.openapi_schema.to_schema()["paths"]
    documented = {}
    for key in route_keys(app):
        method, path = key.split(" ", 1)
        operation = paths.get(PARAM.sub(r"{\1}", path), {}).get(method.lower())
        if path.startswith("/api/") and operation is not None:
            documented[key] = {int(status) for status in operation["responses"]}
    return documented


def test_every_status_in_the_matrix_is_documented(tmp_path):
    """What an API route answers a role (403 to warehouse staff, 404 for a foreign id) is
    among the responses its OpenAPI operation lists: a client generated from the document
    knows every answer it can get."""
    documented = documented_statuses(app_without_database(tmp_path))
    assert {k for k in MATRIX if k.split(" ", 1)[1].startswith("/api/")} <= set(documented)
    undocumented = []
    for (key, role), cell in expected_table().items():
        if key in documented:
            missing = set(cell if isinstance(cell, tuple) else (cell,)) - documented[key]
            if missing:
                undocumented.append(f"{key} as {role}: {sorted(missing)} not documented")
    assert not undocumented, "\n".join(undocumented)


@dataclass
class World:
    own_dealer: dict
    foreign_dealer: dict
    own_sku: dict
    foreign_sku: dict
    own_product: int
    foreign_product: int
    users: dict[str, dict]
    buyer_b: dict
    warehouse: dict
    own_picture: int
    foreign_picture: int
    # Another picture of each product, for the API's routes (the pages' remove takes the first).
    own_api_picture: int = 0
    foreign_api_picture: int = 0


async def build_world() -> World:
    """Dealer A (ours) and dealer B (foreign); a product only dealer B may see; staff in scope."""
    tier = await f.tier()
    wh = await f.warehouse()
    a = await f.dealer(tier, name="甲经销商", default_warehouse=wh)
    b = await f.dealer(tier, name="乙经销商", default_warehouse=wh)
    public = await f.sku(code="PUB1", name="公开商品")
    secret = await f.sku(code="SEC1", name="乙专供商品")
    await Product.update({Product.visibility: "restricted"}).where(Product.id == secret["product"])
    await ProductVisibility.insert(ProductVisibility(product=secret["product"], dealer=b["id"]))
    for s in (public, secret):
        await f.stock(s, wh, on_hand=100_000)
    manager = await f.user("sales_manager", username="mgr")
    rep = await f.user("sales_rep", username="rep", manager=manager)
    await f.assign(rep, a)
    users = {
        "dealer_admin": await f.user("dealer_admin", a, username="dadmin"),
        "dealer_buyer": await f.user("dealer_buyer", a, username="dbuyer"),
        "sales_rep": rep,
        "sales_manager": manager,
        "finance": await f.user("finance", username="fin"),
        "warehouse": await f.user("warehouse", username="wh"),
        "admin": await f.user("admin", username="adm"),
    }
    buyer_b = await f.user("dealer_buyer", b, username="bbuyer")
    # Uploaded pictures: the public product's (everyone's), the secret one's (dealer B's).
    pictures = [
        catalog_admin.own_picture_id(
            (
                await catalog_admin.upload_product_picture(
                    f.actor(users["admin"]), s["product"], photos.Upload("p.jpg", picture())
                )
            )["image"]
        )
        for s in (public, secret)
    ]
    more = [
        (
            await catalog_admin.add_product_picture(
                f.actor(users["admin"]), s["product"], photos.Upload("q.jpg", picture())
            )
        )[1]["id"]
        for s in (public, secret)
    ]
    return World(
        a,
        b,
        public,
        secret,
        public["product"],
        secret["product"],
        users,
        buyer_b,
        wh,
        *pictures,
        *more,
    )


async def fresh_shipments(world: World, tag: str) -> tuple[int, int]:
    """A packed shipment of a new order of dealer A, and one of dealer B."""
    own_order, foreign_order = await fresh_orders(world, f"{tag}-ship")
    staff = f.actor(world.users["admin"])
    ids = []
    for order_id in (own_order, foreign_order):
        line = await OrderLine.select(OrderLine.id).where(OrderLine.order == order_id).first()
        result = await shipments.create_shipment(
            staff, order_id, warehouse_id=world.warehouse["id"], quantities={line["id"]: 1}
        )
        ids.append(result.shipment.id)
    return ids[0], ids[1]


async def webhook_ids(world: World) -> dict[str, dict[str, int]]:
    """Webhook endpoints (for pages and for the API: both delete) and one of their deliveries.

    Webhooks are the administrator's, not a dealer's: "own" and "foreign" are two endpoints.
    """
    admin = f.actor(world.users["admin"])

    async def new() -> int:
        url = f"https://erp.example.com/h{secrets.token_hex(4)}"  # one endpoint per address
        saved = await webhooks.save_endpoint(admin, None, webhooks.EndpointInput(url=url))
        return saved.endpoint["id"]

    ids = {
        name: {"own": await new(), "foreign": await new(), "missing": MISSING_ID}
        for name in ("endpoint_id", "api_endpoint_id")
    }
    first = ids["endpoint_id"]["own"]
    await fresh_orders(world, f"hook-{first}")
    delivery = (
        await WebhookDelivery.select(WebhookDelivery.id)
        .where(WebhookDelivery.endpoint == first)
        .first()
    )
    ids["delivery_id"] = {"own": delivery["id"], "foreign": delivery["id"], "missing": MISSING_ID}
    return ids


async def fresh_tiers(tag: str) -> dict[str, dict[str, int]]:
    """Tiers nothing uses (for pages and for the API: both delete).

    Tiers are the administrator's, not a dealer's: "own" and "foreign" are two tiers.
    """
    ids: dict[str, dict[str, int]] = {}
    for name in ("tier_id", "api_tier_id"):
        ids[name] = {"missing": MISSING_ID}
        for variant in ("own", "foreign"):
            ids[name][variant] = (await f.tier(code=f"{tag[:8]}-{name[:3]}-{variant}"))["id"]
    return ids


async def fresh_categories(tag: str) -> dict[str, dict[str, int]]:
    """Categories nothing uses (for pages and for the API: both delete).

    Categories are the administrator's, not a dealer's: "own" and "foreign" are two of them.
    """
    ids: dict[str, dict[str, int]] = {}
    for name in ("category_id", "api_category_id"):
        ids[name] = {"missing": MISSING_ID}
        for variant in ("own", "foreign"):
            ids[name][variant] = (await f.category(name=f"{tag}-{name[:3]}-{variant}"))["id"]
    return ids


async def fresh_addresses(world: World) -> dict[str, int]:
    """A new address of dealer A and one of dealer B (not the default of either)."""
    ids = {"missing": MISSING_ID}
    for variant, dealer in (("own", world.own_dealer), ("foreign", world.foreign_dealer)):
        row = Address(dealer=dealer["id"], contact="赵六", phone="13800000009", line="某路 9 号")
        await Address.insert(row)
        ids[variant] = row.id
    return ids


async def fresh_keys(world: World) -> dict[str, int]:
    """An integration key of dealer A's buyer and one of dealer B's (revoking changes them)."""
    ids = {"missing": MISSING_ID}
    for variant, user in (("own", world.users["dealer_buyer"]), ("foreign", world.buyer_b)):
        row = ApiKey(
            user=user["id"],
            name="matrix",
            prefix="dpk_matrix",
            key_hash=secrets.token_hex(32),
            created_at=datetime.now(UTC),
        )
        await ApiKey.insert(row)
        ids[variant] = row.id
    return ids


async def fresh_orders(world: World, tag: str) -> tuple[int, int]:
    """A new open order for dealer A and one for dealer B (cancels change them)."""
    ids = []
    for n, (dealer, buyer, sku) in enumerate(
        (
            (world.own_dealer, world.users["dealer_buyer"], world.own_sku),
            (world.foreign_dealer, world.buyer_b, world.foreign_sku),
        )
    ):
        result = await orders.submit_order(
            f.actor(buyer),
            dealer["id"],
            [LineRequest(qty=1, sku_id=sku["id"])],
            idempotency_key=f"matrix-{tag}-{n}",
        )
        ids.append(result.order.id)
    return ids[0], ids[1]


def concrete_path(path: str, variant: str, ids: dict[str, dict[str, int]], api: bool) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if api and f"api_{name}" in ids:  # the API's own objects (see test_access_matrix)
            name = f"api_{name}"
        if name == "file_path":
            return "css/app.css"
        if name == "path":
            return "no-such-plugin"
        if name == "action":
            return "approve"
        if name == "by":
            return "dealer"
        if name == "kind":
            return "stock"
        if name == "problem_type":
            return "credit-exceeded"
        if name not in ids:  # an object this world has no fixture for yet: a missing id
            return str(MISSING_ID)
        return str(ids[name][variant])

    return PARAM.sub(fill, path)


def request_kwargs(key: str, role: str, world: World, csrf: str) -> dict[str, Any]:
    """A plausible, valid request for the route (what a real page or client would send)."""
    method, path = key.split(" ", 1)
    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if method == "POST" and not path.startswith("/api/"):
        headers["x-csrftoken"] = csrf
        data = {"_csrf_token": csrf}
        data.update(
            {
                # Anonymous: a wrong password (a right one would sign the client in).
                "/login": {
                    "login": world.users.get(role, world.buyer_b)["username"],
                    "password": f.PASSWORD if role in world.users else "wrong",
                },
                "/lang": {"locale": "en"},
                "/catalog/qty/{sku_id:int}": {"qty": "2"},
                "/cart/lines/{sku_id:int}": {"qty": "3"},
                "/cart/details": {"note": "matrix"},
                "/cart/quick": {"text": "PUB1 1"},
                "/cart/submit": {"idempotency_key": f"cart-key-{role}".replace("_", "-")},
                "/products/{product_id:int}/grid": {
                    "unit": "base",
                    f"qty_{world.own_sku['id']}": "2",
                },
            }.get(path, {})
        )
        kwargs["data"] = data
    if key == "POST /api/v1/auth/token":
        user = world.users.get(role, world.buyer_b)
        kwargs["json"] = {"username": user["username"], "password": f.PASSWORD}
    elif key == "POST /api/v1/orders":
        headers["Idempotency-Key"] = f"api-{role}"
        kwargs["json"] = {
            "dealer_id": world.own_dealer["id"],
            "lines": [{"sku_id": world.own_sku["id"], "qty": 1}],
        }
    elif key == "POST /api/v1/orders/{order_id:int}/cancel":
        kwargs["json"] = {"reason": "matrix"}
    elif key == "POST /api/v1/dealers/{dealer_id:int}/users":
        kwargs["json"] = {
            "username": f"matrix.{next(_NEW_USERS)}",
            "password": "long-enough-1",
            "display_name": "矩阵",
            "role": "dealer_buyer",
        }
    elif key in (
        "POST /api/v1/dealers/{dealer_id:int}/addresses",
        "PUT /api/v1/dealers/{dealer_id:int}/addresses/{address_id:int}",
    ):
        kwargs["json"] = {"contact": "赵六", "phone": "13800000009", "line": "某路 10 号"}
    elif key == "POST /api/v1/orders/{order_id:int}/adjust":
        kwargs["json"] = {"reason": "matrix", "lines": [{"order_line_id": 1, "qty": 1}]}
    elif key == "POST /api/v1/dealers":
        kwargs["json"] = {"code": "MATRIX1", "name": "矩阵", "tier_id": world.own_dealer["tier"]}
    elif key == "PUT /api/v1/dealers/{dealer_id:int}":
        kwargs["json"] = {"name": "改名", "tier_id": world.own_dealer["tier"]}
    elif key == "PUT /api/v1/dealers/{dealer_id:int}/credit":
        kwargs["json"] = {"credit_limit": "1000000", "payment_terms_days": 30}
    elif key in (
        "GET /api/v1/catalog/skus",
        "GET /api/v1/catalog/skus/{sku_id:int}",
        "GET /api/v1/catalog/products/{product_id:int}",
        "GET /api/v1/orders",
        "PUT /api/v1/favourites/{sku_id:int}",
        "DELETE /api/v1/favourites/{sku_id:int}",
    ):
        kwargs["params"] = {"dealer_id": world.own_dealer["id"]}
    kwargs["headers"] = headers
    return kwargs


async def clients_for(app, role: str, world: World):
    """(page client with the session cookie, API client with a bearer token, CSRF token)."""
    transport = httpx.ASGITransport(app=app)
    base = "http://testserver.local"
    pages = httpx.AsyncClient(transport=transport, base_url=base)
    api = httpx.AsyncClient(transport=transport, base_url=base)
    login = await pages.get("/login")
    csrf = csrf_from(login.text)
    if role != "anonymous":
        user = world.users[role]
        signed = await pages.post(
            "/login",
            data={"login": user["username"], "password": f.PASSWORD, "_csrf_token": csrf},
        )
        assert signed.status_code == 303, signed.text
        if role not in ("dealer_admin", "dealer_buyer"):
            pages.cookies.set(ACTING_DEALER_COOKIE, str(world.own_dealer["id"]))
        token = await api.post(
            "/api/v1/auth/token", json={"username": user["username"], "password": f.PASSWORD}
        )
        assert token.status_code == 200, token.text
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return pages, api, csrf


def ordered_keys() -> list[str]:
    return sorted(MATRIX, key=lambda k: (k in LAST, LAST.index(k) if k in LAST else 0, k))


async def test_access_matrix(db, settings):
    app = create_app(settings, engine=db)
    world = await build_world()
    observed: dict[tuple[str, str], Any] = {}
    bodies: dict[tuple[str, str, str], httpx.Response] = {}
    for role in ROLES:
        own_order, foreign_order = await fresh_orders(world, role)
        # The API's cancel gets orders of its own: the page's cancel has ended the first two.
        api_own, api_foreign = await fresh_orders(world, f"{role}-api")
        ship_own, ship_foreign = await fresh_shipments(world, role)
        ids = {
            "shipment_id": {"own": ship_own, "foreign": ship_foreign, "missing": MISSING_ID},
            "order_id": {"own": own_order, "foreign": foreign_order, "missing": MISSING_ID},
            "api_order_id": {"own": api_own, "foreign": api_foreign, "missing": MISSING_ID},
            "sku_id": {
                "own": world.own_sku["id"],
                "foreign": world.foreign_sku["id"],
                "missing": MISSING_ID,
            },
            "product_id": {
                "own": world.own_product,
                "foreign": world.foreign_product,
                "missing": MISSING_ID,
            },
            "dealer_id": {
                "own": world.own_dealer["id"],
                "foreign": world.foreign_dealer["id"],
                "missing": MISSING_ID,
            },
            "picture_id": {
                "own": world.own_picture,
                "foreign": world.foreign_picture,
                "missing": MISSING_ID,
            },
            "api_picture_id": {
                "own": world.own_api_picture,
                "foreign": world.foreign_api_picture,
                "missing": MISSING_ID,
            },
            "user_id": {
                "own": world.users["dealer_buyer"]["id"],
                "foreign": world.buyer_b["id"],
                "missing": MISSING_ID,
            },
            # Addresses of their own per role, for pages and for the API: both delete.
            "address_id": await fresh_addresses(world),
            "api_address_id": await fresh_addresses(world),
            "key_id": await fresh_keys(world),
            "api_key_id": await fresh_keys(world),
            # Webhooks are the administrator's, not any dealer's: no foreign one exists.
            **await webhook_ids(world),
            **await fresh_tiers(role),
            **await fresh_categories(role),
        }
        pages, api, csrf = await clients_for(app, role, world)
        try:
            for key in ordered_keys():
                method, path = key.split(" ", 1)
                client = api if path.startswith("/api/") else pages
                has_id = any(p in path for p in ("_id:int}",))
                variants = ("own", "foreign", "missing") if has_id else ("own",)
                statuses = []
                # A state change on the own object last, so foreign/missing see it untouched.
                for variant in sorted(variants, key=lambda v: v == "own"):
                    url = concrete_path(path, variant, ids, api=path.startswith("/api/"))
                    kwargs = request_kwargs(key, role, world, csrf)
                    response = await client.request(method, url, **kwargs)
                    bodies[(key, role, variant)] = response
                    statuses.append((variant, response.status_code))
                by_variant = dict(statuses)
                observed[(key, role)] = (
                    (by_variant["own"], by_variant["foreign"], by_variant["missing"])
                    if has_id
                    else by_variant["own"]
                )
        finally:
            await pages.aclose()
            await api.aclose()
    if os.environ.get("PORTAL_PRINT_ACCESS_MATRIX"):
        print_table(observed)
    expected = expected_table()
    wrong = [
        f"{key} as {role}: expected {expected[(key, role)]}, got {observed[(key, role)]}"
        for key in MATRIX
        for role in ROLES
        if not matches(expected[(key, role)], observed[(key, role)])
    ]
    assert not wrong, "\n".join(wrong)
    # Foreign reads exactly like missing wherever the foreign object is out of scope.
    for (key, role), cell in observed.items():
        if isinstance(cell, tuple) and cell[1] == 404:
            foreign, missing = bodies[(key, role, "foreign")], bodies[(key, role, "missing")]
            assert foreign.status_code == missing.status_code == 404
            assert foreign.headers.get("content-type") == missing.headers.get("content-type")
            if key.split(" ", 1)[1].startswith("/api/"):
                assert foreign.json()["type"] == missing.json()["type"] == "/problems/not-found"


async def test_ids_in_the_query_answer_as_documented(db, settings):
    """A list or a read narrowed by an id in its query (dealer_id, sku_id, …) that names
    another dealer's object, or one that does not exist, answers every role with a status
    its OpenAPI operation lists (a dealer out of scope is 404, as the matrix's path ids)."""
    app = create_app(settings, engine=db)
    world = await build_world()
    documented = documented_statuses(app)
    paths = app.openapi_schema.to_schema()["paths"]
    foreign = {"dealer_id": world.foreign_dealer["id"], "sku_id": world.foreign_sku["id"]}
    ids = {
        "dealer_id": {"own": world.own_dealer["id"]},
        "sku_id": {"own": world.own_sku["id"]},
        "product_id": {"own": world.own_product},
    }
    probes = []
    for key in sorted(documented):
        method, path = key.split(" ", 1)
        if method != "GET":
            continue
        operation = paths[PARAM.sub(r"{\1}", path)]["get"]
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            if parameter["in"] == "query" and name.endswith("_id"):
                for value in (foreign.get(name), MISSING_ID):
                    if value is not None:
                        probes.append((key, concrete_path(path, "own", ids, api=True), name, value))
    assert any(name == "dealer_id" for _key, _url, name, _value in probes)
    wrong = []
    for role in ROLES[1:]:
        pages, api, _csrf = await clients_for(app, role, world)
        try:
            for key, url, name, value in probes:
                response = await api.get(url, params={name: value})
                if response.status_code not in documented[key]:
                    wrong.append(f"{key}?{name}={value} as {role}: {response.status_code}")
        finally:
            await pages.aclose()
            await api.aclose()
    assert not wrong, "\n".join(wrong)


def print_table(observed: dict[tuple[str, str], Any]) -> None:
    for key in MATRIX:
        cells = []
        for role in ROLES:
            cell = observed[(key, role)]
            cells.append("/".join(map(str, cell)) if isinstance(cell, tuple) else str(cell))
        print(f'    "{key}":'.ljust(48) + f'"{" ".join(cells)}",')
