"""Validation problems in the body's own terms: the domain names what it refuses as the pages'
forms do (qty[<order line id>], lines[<order line id>], warehouse); the API answers with the
path of the JSON body that was sent, by index (lines[0].qty, lines[0].unit_price, lines[0]
for a whole line), so a client can put each message next to its input."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace

from portal.domain.errors import DomainError, FieldError

# Which part of a line a problem is about, by its message (the domain's msgids). A message
# not named here is about the line as a whole: lines[0].
QUANTITY_MESSAGES = frozenset(
    {
        "Enter a whole number.",
        "The quantity cannot be negative.",
        "%(sku)s: the quantity must be a positive whole number.",
        "%(sku)s: the quantity must be a whole number, 0 to take the line off.",
        "%(sku)s: at most %(max)s per line.",
        "%(sku)s: the minimum order quantity is %(moq)s.",
        "%(sku)s: order in multiples of %(multiple)s.",
        "%(sku)s: %(requested)s %(unit)s requested, %(available)s available.",
        "%(sku)s: %(requested)s %(unit)s requested, not enough in stock.",
        "%(sku)s: %(qty)s %(unit)s entered, only %(left)s left to ship.",
        "%(sku)s: %(qty)s %(unit)s entered, this warehouse has %(have)s.",
        "%(sku)s: %(qty)s entered, at most %(left)s can be returned.",
        "At most %(max)s came back on this line.",
    }
)
PRICE_MESSAGES = frozenset(
    {
        "%(sku)s: only the quantity can be changed.",
        "%(sku)s: the price must be zero or more.",
        "%(sku)s: a price above the dealer's price (%(price)s) cannot be set.",
        "%(sku)s: two prices for one SKU.",
    }
)
UNIT_MESSAGES = frozenset({"%(sku)s: unknown unit %(unit)s."})
LINE_ID_MESSAGES = frozenset({"Unknown order line.", "Line not found.", "%(sku)s is given twice."})
# Said of the second mention of a line (the first is taken as meant).
GIVEN_TWICE = "%(sku)s is given twice."

_LINE = re.compile(r"^(?:qty|lines)\[(\d+)\]$")
_INDEXED = re.compile(r"^lines\[(\d+)\]$")


def line_part(message: str) -> str:
    """The member of a body line a problem with this message names ("" for the line)."""
    if message in QUANTITY_MESSAGES:
        return ".qty"
    if message in PRICE_MESSAGES:
        return ".unit_price"
    if message in UNIT_MESSAGES:
        return ".unit"
    if message in LINE_ID_MESSAGES:
        return ".order_line_id"
    return ""


def body_path(
    error: FieldError,
    line_ids: Sequence[int] | None,
    renames: Mapping[str, str],
    twice_seen: dict[int, int],
) -> str:
    """The body path of one field error (see body_paths)."""
    if error.field in renames:
        return renames[error.field]
    if line_ids is None:
        indexed = _INDEXED.match(error.field)
        if indexed is None:
            return error.field
        return f"lines[{indexed[1]}]{line_part(error.message)}"
    keyed = _LINE.match(error.field)
    if keyed is None:
        return error.field
    line_id = int(keyed[1])
    at = [n for n, sent in enumerate(line_ids) if sent == line_id]
    if not at:
        # A line of the order the body leaves out (a receipt must say something of each).
        return "lines"
    index = at[0]
    if error.message == GIVEN_TWICE:
        twice_seen[line_id] += 1
        index = at[min(twice_seen[line_id], len(at) - 1)]
    return f"lines[{index}]{line_part(error.message)}"


@contextmanager
def body_paths(
    *, line_ids: Sequence[int] | None = None, renames: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Around a domain call: the field errors of a refusal it raises name the body's paths.

    line_ids: the order_line_id of each line of the body, in order, for a domain that names a
    line by its id (qty[75], lines[75] become lines[0].qty, lines[0]); None for one that
    names lines by their place in the body already (lines[0]: the member is added).
    renames: domain names that are another body member (warehouse: warehouse_id).
    Messages are kept as they are."""
    try:
        yield
    except DomainError as exc:
        seen: dict[int, int] = defaultdict(int)
        exc.errors = [
            replace(e, field=body_path(e, line_ids, renames or {}, seen)) for e in exc.errors
        ]
        raise
