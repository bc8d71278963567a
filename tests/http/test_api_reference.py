"""The API reference at /schema: every operation and schema of the OpenAPI document, on a
page that needs no script and loads nothing from elsewhere (the CSP allows only self)."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from portal.api import fields
from portal.app import BODY_LIMIT
from portal.domain.errors import FieldError
from portal.settings import ROOT
from portal.web.api_docs import reference, schema_link, type_name
from tests.http.conftest import shared_app


async def test_reference_lists_every_operation_and_schema(client):
    doc = (await client.get("/schema/openapi.json")).json()
    page = await client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                assert f'id="{op["operationId"]}"' in html, (method, path)
                assert f'<code class="api-path">{path}</code>' in html, path
    for name in doc["components"]["schemas"]:
        assert f'id="schema-{name}"' in html, name
    # Every link to a schema lands on a schema on the page.
    for target in set(re.findall(r'href="#(schema-[^"]+)"', html)):
        assert f'id="{target}"' in html, target
    assert 'href="/schema/openapi.json"' in html


async def test_reference_needs_no_script_or_resource_from_elsewhere(client):
    page = await client.get("/schema")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    assert "<script>" not in page.text and "Redoc.init" not in page.text


async def test_reference_speaks_the_users_language(client):
    zh = await client.get("/schema", headers={"Accept-Language": "zh-CN"})
    en = await client.get("/schema", headers={"Accept-Language": "en"})
    assert "<h1>API 文档</h1>" in zh.text
    assert "<h1>API reference</h1>" in en.text


async def test_only_the_json_document_and_the_reference_are_served(client):
    for gone in ("/schema/openapi.yaml", "/schema/swagger", "/schema/redoc", "/schema/rapidoc"):
        assert (await client.get(gone)).status_code == 404, gone


def test_type_names_and_links():
    assert type_name({"type": "integer"}) == "integer"
    assert type_name({"oneOf": [{"type": "string"}, {"type": "null"}]}) == "string | null"
    assert type_name({"type": "array", "items": {"$ref": "#/components/schemas/OrderOut"}}) == (
        "OrderOut[]"
    )
    assert type_name(None) == ""
    assert schema_link("OrderOut[]") == "OrderOut"
    assert schema_link("string | null") == ""
    assert schema_link("integer") == ""


def test_reference_groups_by_first_tag_and_keeps_required_fields():
    groups, schemas = reference(
        {
            "paths": {
                "/a": {
                    "get": {
                        "tags": ["x", "y"],
                        "summary": "A",
                        "operationId": "GetA",
                        "parameters": [
                            {
                                "name": "q",
                                "in": "query",
                                "required": True,
                                "schema": {"type": "string", "description": "words"},
                            }
                        ],
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/Out"}
                                    }
                                },
                            }
                        },
                    }
                },
                "/b": {
                    "post": {
                        "operationId": "PostB",
                        "requestBody": {
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                            }
                        },
                    }
                },
            },
            "components": {
                "schemas": {"Out": {"properties": {"id": {"type": "integer"}}, "required": ["id"]}}
            },
        }
    )
    assert [g.tag for g in groups] == ["x", "api"]
    (op,) = groups[0].operations
    assert (op.method, op.path, op.anchor) == ("GET", "/a", "GetA")
    assert op.parameters[0].required and op.parameters[0].description == "words"
    assert op.responses == [("200", "ok", "Out")]
    assert groups[1].operations[0].body == "In"
    assert schemas[0].name == "Out" and schemas[0].properties == [("id", "integer", True, "")]


async def test_the_document_says_how_to_authenticate_fail_and_retry(client):
    """What an integrator needs before the first call: a bearer scheme (no cookie), the stable
    problem types, strict input and the idempotency key; and that any body may be too large."""
    doc = (await client.get("/schema/openapi.json")).json()
    [scheme] = doc["components"]["securitySchemes"].values()
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    assert "in" not in scheme and "name" not in scheme
    about = doc["info"]["description"]
    for promise in (
        "Authorization: Bearer",
        "credit-exceeded",
        "insufficient-stock",
        "Idempotency-Key",
        "not 24.0",
    ):
        assert promise in about, promise
    submit = doc["paths"]["/api/v1/orders"]["post"]["responses"]
    assert {"201", "413", "415", "422"} <= set(submit)
    assert "short_lines" in doc["components"]["schemas"]["Problem"]["properties"]


async def test_uploads_declare_their_multipart_body(client, db, settings):
    """A handler that reads its file from the form itself declares no body to Litestar: the
    document says what to send (a multipart form with the file as its part)."""
    doc = (await client.get("/schema/openapi.json")).json()
    uploads = (
        ("/api/v1/data/{kind}", "post", "file", False),
        ("/api/v1/returns/{return_id}/photos", "post", "photos", True),
        ("/api/v1/admin/products/{product_id}/picture", "put", "file", False),
        ("/api/v1/admin/products/{product_id}/pictures", "post", "file", False),
    )
    for path, method, part, many in uploads:
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["multipart/form-data"]["schema"]
        assert schema["required"] == [part], path
        declared = schema["properties"][part]
        assert (declared["items"] if many else declared) == {"type": "string", "format": "binary"}
    # Every API operation taking a body larger than JSON's (an upload) declares one.
    checked = 0
    for route in shared_app(settings, db).routes:  # the app under test
        for handler in getattr(route, "route_handlers", []):
            limit = handler.request_max_body_size
            if route.path.startswith("/api/") and isinstance(limit, int) and limit > BODY_LIMIT:
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                for method in handler.http_methods:
                    assert "requestBody" in doc["paths"][path][method.lower()], path
                    checked += 1
    assert checked >= len(uploads)


async def test_the_document_says_how_fields_are_named_and_where_types_are_explained(client):
    about = (await client.get("/schema/openapi.json")).json()["info"]["description"]
    for promise in ("lines[0].qty", "lines[0].unit_price", "/problems"):
        assert promise in about, promise


def test_the_messages_that_choose_a_line_s_member_are_the_domain_s():
    """portal.api.fields names lines[0].qty (or .unit_price, …) by the domain's message: each
    message it knows is one the code still says (a reworded one would name the whole line)."""
    with (ROOT / "portal" / "locale" / "messages.pot").open("rb") as pot:
        said = {message.id for message in read_po(pot) if message.id}
    known = fields.QUANTITY_MESSAGES | fields.PRICE_MESSAGES | fields.UNIT_MESSAGES
    assert known | fields.LINE_ID_MESSAGES <= said
    assert fields.body_path(FieldError("qty[7]", "Enter a whole number."), [3, 7], {}, {}) == (
        "lines[1].qty"
    )
    assert fields.body_path(FieldError("lines[2]", "Who knows."), None, {}, {}) == "lines[2]"
    assert fields.body_path(FieldError("qty[9]", "Say."), [3, 7], {}, {}) == "lines"
    assert fields.body_path(
        FieldError("warehouse", "x"), [], {"warehouse": "warehouse_id"}, {}
    ) == ("warehouse_id")
