"""Files over HTTP, for the pages and the API alike: a file sent in a multipart form, the
route options that refuse an oversized one in words, and a document sent back."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile

from portal.domain import supplier
from portal.domain.errors import FieldError, ValidationFailed, _
from portal.export import Document


async def supplier_now(request: Request) -> supplier.SupplierSettings:
    """The supplier's settings in force (its name for the top bar, the letterhead of
    delivery notes, packing lists and statements), for the pages and the API alike."""
    return await supplier.current(request.app.state.supplier_defaults)


def page_address(request: Request, path: str) -> str:
    """The full address of a page of the portal for someone elsewhere (a QR code on paper, a
    dealer's phone): PORTAL_PUBLIC_URL's when set, else the address this request came by (a
    warehouse printing through an internal address would print a link only it can open)."""
    settings = request.app.state.get("settings")
    base = getattr(settings, "public_url", "") or str(request.base_url).rstrip("/")
    return base + path


def document_response(doc: Document) -> Response:
    """A generated file (PDF, Excel, CSV): never cached, shown inline or downloaded."""
    return Response(
        content=doc.body,
        media_type=doc.media_type,
        headers={"Content-Disposition": doc.disposition, "Cache-Control": "private, no-store"},
    )


async def uploaded_file(request: Request, max_bytes: int) -> tuple[str, bytes]:
    """The file sent as `file` in a multipart form, read up to one byte past `max_bytes`
    (so the domain can say it is too large); ("", b"") when there is none."""
    form = await request.form()
    name, data = "", b""
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "file" and not data:
                name = value.filename or ""
                data = await value.read(max_bytes + 1)
            await value.close()
    return name, data


def upload_limits(max_bytes: int) -> dict[str, Any]:
    """Route options for a file upload: a body a little over `max_bytes` (the form around
    the file) is refused unread with 413, saying in words how large a file may be."""

    def too_large(request: Request, exc: Exception) -> Response:
        from portal.app import render_domain_error

        message = _("The file is larger than %(max)s KB.")
        params = {"max": max_bytes // 1000}
        refused = ValidationFailed(message, params, errors=[FieldError("file", message, params)])
        refused.status = 413
        return render_domain_error(request, refused)

    return {"request_max_body_size": max_bytes + 64_000, "exception_handlers": {413: too_large}}
