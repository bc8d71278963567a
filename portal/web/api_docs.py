"""The API reference at /schema: a plain page rendered from the OpenAPI document.

Litestar's own documentation sites (Redoc, Swagger UI, ...) load their scripts and fonts from
CDNs and run inline scripts, which the portal's Content-Security-Policy (scripts from self
only) blocks: they showed a blank page. This one needs no script, works offline like every
other page, and reads well on a phone. The machine-readable document stays at
/schema/openapi.json; the YAML copy is not served (it cost ~0.15 s of CPU per request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # path, query or header
    required: bool
    type: str
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Parameter]
    body: str  # type of the JSON body ("OrderIn"), or ""
    responses: list[tuple[str, str, str]]  # (status, description, type of the JSON body)
    anchor: str


@dataclass
class Group:
    tag: str
    operations: list[Operation] = field(default_factory=list)


@dataclass(frozen=True)
class Schema:
    name: str
    properties: list[tuple[str, str, bool, str]]  # (name, type, required, description)


def type_name(schema: dict[str, Any] | None) -> str:
    """A short type for a JSON schema: "integer", "string | null", "OrderOut[]"."""
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for combined in ("oneOf", "anyOf"):
        if combined in schema:
            return " | ".join(t for t in (type_name(s) for s in schema[combined]) if t)
    kind = schema.get("type", "")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        return f"{type_name(schema.get('items')) or 'any'}[]"
    if "enum" in schema and not kind:
        return " | ".join(str(v) for v in schema["enum"])
    return str(kind)


def schema_link(type_label: str) -> str:
    """The named schema a type refers to ("OrderOut[]" -> "OrderOut"), or ""."""
    name = type_label.removesuffix("[]")
    return name if name[:1].isupper() and name.isidentifier() else ""


def _json_schema(content: dict[str, Any] | None) -> str:
    for media, body in (content or {}).items():
        if "json" in media:
            return type_name(body.get("schema"))
    return ""


def reference(document: dict[str, Any]) -> tuple[list[Group], list[Schema]]:
    """Operations grouped by their first tag (in first-seen order), and the named schemas."""
    groups: dict[str, Group] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            tag = (op.get("tags") or ["api"])[0]
            parameters = [
                Parameter(
                    name=p.get("name", ""),
                    where=p.get("in", ""),
                    required=bool(p.get("required")),
                    type=type_name(p.get("schema")),
                    description=p.get("description")
                    or (p.get("schema") or {}).get("description", ""),
                )
                for p in op.get("parameters", [])
            ]
            responses = [
                (str(code), r.get("description", ""), _json_schema(r.get("content")))
                for code, r in op.get("responses", {}).items()
            ]
            groups.setdefault(tag, Group(tag)).operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    parameters=parameters,
                    body=_json_schema((op.get("requestBody") or {}).get("content")),
                    responses=responses,
                    anchor=op.get("operationId") or f"{method}-{path}",
                )
            )
    schemas = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        schemas.append(
            Schema(
                name=name,
                properties=[
                    (prop, type_name(spec), prop in required, spec.get("description", ""))
                    for prop, spec in schema.get("properties", {}).items()
                ],
            )
        )
    return list(groups.values()), schemas


class ApiReferencePlugin(OpenAPIRenderPlugin):
    """Serves templates/api/reference.html at the schema root (/schema)."""

    def __init__(self) -> None:
        super().__init__(path="/")
        self._reference: tuple[list[Group], list[Schema]] | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._reference is None:  # the document never changes while the app runs
            self._reference = reference(openapi_schema)
        groups, schemas = self._reference
        template = request.app.template_engine.get_template("api/reference.html")
        html = template.render(
            request=request,
            schema_link=schema_link,
            tabs=[],
            info=openapi_schema.get("info", {}),
            groups=groups,
            schemas=schemas,
        )
        return html.encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [ApiReferencePlugin(), JsonRenderPlugin()]
