"""Codes and usernames as people type them: one name whatever its letter case, and barcodes.

A username, a dealer's, tier's, warehouse's or SKU's code is unique ignoring letter case (d01
and D01 are one dealer; unique indexes on LOWER(...) hold it in the database): each is stored
as first typed, and what someone types finds it in any case. A barcode is unique as it is.
Codes are ASCII (each form's rule), so LOWER() folds them alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw

from portal.domain.errors import _

# Empty, or 4 to 40 ASCII letters, digits and dashes, beginning and ending with a letter or a
# digit (EAN-13, UPC-A, Code 39 and Code 128 labels as printed; a leading dash would also read
# as a formula in a spreadsheet).
BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]$")
MSG_BARCODE = _(
    "Enter a barcode of 4 to 40 letters, digits or dashes (not starting or ending with a "
    "dash), or leave it empty."
)
MSG_BARCODE_TAKEN = _("This barcode belongs to %(code)s.")
_BATCH = 400  # values per IN (...): well under either engine's limit of parameters
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def folded(text: str) -> str:
    """`text` with its ASCII letters in lower case, as SQLite's LOWER() gives it (and
    PostgreSQL's, for the ASCII codes are made of): the key two spellings share."""
    return text.translate(_ASCII_LOWER)


def barcode_ok(barcode: str) -> bool:
    return barcode == "" or bool(BARCODE.match(barcode))


def _column_sql(column: Column) -> str:
    return f'"{column._meta.table._meta.tablename}"."{column._meta.db_column_name}"'


def same_text(column: Column, text: str) -> WhereRaw:
    """A where-clause: the column equals `text` ignoring letter case (a username, a code)."""
    return WhereRaw(f"LOWER({_column_sql(column)}) = {{}}", folded(text))


def _in_folded(column: Column, texts: list[str]) -> WhereRaw:
    marks = ", ".join("{}" for _t in texts)
    return WhereRaw(f"LOWER({_column_sql(column)}) IN ({marks})", *texts)


async def rows_by_code(
    table: Any, codes: Iterable[str], *columns: Column, code_column: Column | None = None
) -> dict[str, dict]:
    """Rows (id, code and `columns`) by code as typed: the row with exactly this code, else
    the one row whose code differs from it only in letter case (none if several do, as
    before the unique index on LOWER(code)). Keyed by the codes as given; a code no row
    matches is left out."""
    column = code_column if code_column is not None else table.code
    wanted = sorted({c for c in codes if c})
    rows: list[dict] = []
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        keys = sorted({folded(c) for c in chunk})
        rows += await table.select(table.id, column, *columns).where(
            column.is_in(chunk) | _in_folded(column, keys)
        )
    name = column._meta.name
    exact = {r[name]: r for r in rows}
    by_key: dict[str, list[dict]] = {}
    for r in rows:
        by_key.setdefault(folded(r[name]), []).append(r)
    found: dict[str, dict] = {}
    for code in wanted:
        alike = by_key.get(folded(code), [])
        row = exact.get(code) or (alike[0] if len(alike) == 1 else None)
        if row is not None:
            found[code] = row
    return found


async def ids_by_code(table: Any, codes: Iterable[str]) -> dict[str, int]:
    """Ids by code as typed, by the rule of rows_by_code."""
    return {code: row["id"] for code, row in (await rows_by_code(table, codes)).items()}


async def row_by_code(
    table: Any, code: str, *columns: Column, code_column: Column | None = None
) -> dict | None:
    """One row by a code as typed (rows_by_code), or None."""
    return (await rows_by_code(table, [code], *columns, code_column=code_column)).get(code)
