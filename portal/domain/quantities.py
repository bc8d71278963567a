"""Quantity rules: whole numbers in a known unit, minimum order, order multiple, quick order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from portal.domain.errors import FieldError, ValidationFailed, _

# A sane upper bound for one line, in base units: beyond this a typo is far likelier than a need.
MAX_LINE_QTY = 1_000_000
# A pasted quick order longer than this is refused rather than half-processed.
MAX_QUICK_ORDER_LINES = 500

_DIGITS = re.compile(r"[0-9]+")
# "12", "12箱", "12 箱" are a quantity with an optional unit glued on.
_QTY_WITH_UNIT = re.compile(r"^([0-9]+)\s*([^\W\d_]+)?$")
_SEPARATORS = re.compile(r"[\s,;]+")
_NEGATIVE = re.compile(r"^-[0-9]+(\s*[^\W\d_]+)?$")


@dataclass(frozen=True)
class LineRequest:
    """One requested line: a SKU by id or code, a quantity and its unit (None = base unit)."""

    qty: int
    sku_id: int | None = None
    sku_code: str | None = None
    unit: str | None = None
    # Staff only: the unit price (per base unit, fen) instead of the dealer's, e.g. a rep's
    # discount; the line's rule is then "manual".
    unit_price_fen: int | None = None


def normalise(text: str) -> str:
    """Full-width digits, spaces and commas (as typed on Chinese keyboards) to ASCII."""
    return unicodedata.normalize("NFKC", text or "").replace("、", ",")


class QtyTooLarge(ValueError):
    """A whole number, but more than one line may hold (a typo, as a rule)."""


def parse_qty(text: str) -> int:
    """A typed quantity as a non-negative whole number; ValueError for anything else
    (QtyTooLarge for a whole number above MAX_LINE_QTY)."""
    cleaned = normalise(str(text)).strip()
    if not _DIGITS.fullmatch(cleaned):
        raise ValueError(text)
    value = int(cleaned)
    if value > MAX_LINE_QTY:
        raise QtyTooLarge(text)
    return value


def parse_qty_unit(text: str) -> tuple[int, str | None]:
    """A quantity box's text as (count, unit): "48" is (48, None), "5箱", "5 箱" and "５箱"
    are (5, "箱"). Which units the SKU has is for to_base_units to say; ValueError for
    anything that is not a whole number with at most one unit (QtyTooLarge as parse_qty)."""
    cleaned = normalise(str(text)).strip()
    match = _QTY_WITH_UNIT.match(cleaned)
    if not match:
        raise ValueError(text)
    unit = match.group(2)
    return parse_qty(match.group(1)), (unit.strip() if unit else None)


def _units_text(base_unit: str, packs: dict[str, int]) -> str:
    """The units a SKU is sold in, as a refusal lists them: "瓶, 箱 (= 24 瓶)"."""
    by_size = sorted(packs.items(), key=lambda pack: pack[1])
    return ", ".join([base_unit] + [f"{name} (= {factor} {base_unit})" for name, factor in by_size])


def to_base_units(qty: int, unit: str | None, *, base_unit: str, packs: dict[str, int]) -> int:
    """qty in `unit` (the base unit or a pack name such as 箱) converted to base units.

    Names compare as typed on a phone: full-width or half-width, any letter case ("Box").
    An unknown unit is refused with the units the SKU has, so the reader can type one.
    """
    name = normalise(unit).strip() if unit else ""
    key = name.casefold()
    if not name or key == normalise(base_unit).strip().casefold():
        return qty
    factor = next((f for n, f in packs.items() if normalise(n).strip().casefold() == key), None)
    if factor is None:
        name = name[:20]
        units = _units_text(base_unit, packs)
        raise ValidationFailed(
            _("Unknown unit %(unit)s."),
            {"unit": name},
            errors=[
                FieldError(
                    "unit",
                    _("There is no unit %(unit)s for this product. Its units: %(units)s."),
                    {"unit": name, "units": units},
                )
            ],
        )
    return qty * factor


def offers_pack_step(pack: int | None, order_multiple: int) -> bool:
    """Whether "+1 箱" earns its place beside − and +: only for a pack larger than the +
    step (a SKU sold in 6s with a pack of 6 already steps a pack at a time), and one the
    order multiple divides (a case of 12 sold in 5s is no case a step can add, as "1箱"
    typed is refused)."""
    multiple = max(order_multiple, 1)
    return bool(pack) and int(pack or 0) > multiple and int(pack or 0) % multiple == 0


def pack_step(qty: int, pack: int, *, first: int, order_multiple: int) -> int:
    """What "+1 箱" proposes: one pack more, kept to the rules as the − and + steps keep
    them: never below the first allowed quantity (the MOQ as a multiple), and rounded up to
    the order multiple when a pack does not fill it. Only a proposal: the cart decides."""
    multiple = max(order_multiple, 1)
    target = qty + max(pack, 1)
    target = -(-target // multiple) * multiple
    return max(target, first)


def check_line(
    sku_code: str,
    qty_base: int,
    *,
    moq: int,
    order_multiple: int,
    field: str = "qty",
) -> list[FieldError]:
    """Every way a line's quantity breaks the rules, each naming the SKU and the rule."""
    params = {"sku": sku_code, "moq": moq, "multiple": order_multiple, "max": MAX_LINE_QTY}
    if qty_base <= 0:
        return [
            FieldError(field, _("%(sku)s: the quantity must be a positive whole number."), params)
        ]
    errors = []
    if qty_base > MAX_LINE_QTY:
        errors.append(FieldError(field, _("%(sku)s: at most %(max)s per line."), params))
    if moq > 1 and qty_base < moq:
        errors.append(
            FieldError(field, _("%(sku)s: the minimum order quantity is %(moq)s."), params)
        )
    if order_multiple > 1 and qty_base % order_multiple:
        errors.append(FieldError(field, _("%(sku)s: order in multiples of %(multiple)s."), params))
    return errors


def parse_quick_order(
    text: str,
) -> tuple[list[tuple[int, str, int, str | None]], list[FieldError]]:
    """Pasted lines "SKU qty [unit]" to (line_no, code, qty, unit), with an error per bad line.

    Separators may be spaces (also full-width), tabs, commas or semicolons, so lines copied
    from a spreadsheet or a chat message work. Blank lines are skipped.
    """
    lines: list[tuple[int, str, int, str | None]] = []
    errors: list[FieldError] = []
    raw_lines = normalise(text).splitlines()
    if len([r for r in raw_lines if r.strip()]) > MAX_QUICK_ORDER_LINES:
        errors.append(
            FieldError(
                "text",
                _("Paste at most %(max)s lines at a time."),
                {"max": MAX_QUICK_ORDER_LINES},
            )
        )
        return [], errors
    for line_no, raw in enumerate(raw_lines, start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        tokens = [t for t in _SEPARATORS.split(stripped) if t]
        field = f"line {line_no}"
        params = {"line": line_no, "text": stripped[:60]}
        if len(tokens) < 2:
            errors.append(
                FieldError(
                    field,
                    _('Line %(line)s: write a SKU code and a quantity, e.g. "A100 12".'),
                    params,
                )
            )
            continue
        code, qty_token, rest = tokens[0], tokens[1], tokens[2:]
        if _NEGATIVE.match(qty_token):
            # -5 is a whole number: say what is wrong with it.
            errors.append(
                FieldError(field, _("Line %(line)s: the quantity must be at least 1."), params)
            )
            continue
        match = _QTY_WITH_UNIT.match(qty_token)
        unit = None
        if match and match.group(2) and not rest:
            qty_text, unit = match.group(1), match.group(2).strip()
        elif match and not match.group(2) and len(rest) <= 1:
            qty_text, unit = match.group(1), (rest[0] if rest else None)
        else:
            errors.append(
                FieldError(
                    field,
                    _("Line %(line)s: %(qty)s is not a whole-number quantity."),
                    {**params, "qty": " ".join(tokens[1:])[:30]},
                )
            )
            continue
        try:
            qty = parse_qty(qty_text)
        except ValueError:
            if qty_text.isdigit():  # a whole number, only too large
                errors.append(
                    FieldError(
                        field,
                        _("Line %(line)s: at most %(max)s per line."),
                        {**params, "max": f"{MAX_LINE_QTY:,}"},
                    )
                )
                continue
            errors.append(
                FieldError(
                    field,
                    _("Line %(line)s: %(qty)s is not a whole-number quantity."),
                    {**params, "qty": qty_text[:30]},
                )
            )
            continue
        if qty == 0:
            errors.append(
                FieldError(
                    field,
                    _("Line %(line)s: the quantity must be at least 1."),
                    params,
                )
            )
            continue
        lines.append((line_no, code, qty, unit))
    return lines, errors


def in_packs(qty: int, unit: str, pack_name: str | None, pack_factor: int | None) -> str:
    """A base quantity as whole packs and loose units ("1 箱 + 4 罐", "2 箱"), for packing;
    "" when it makes no full pack (or the SKU has none)."""
    if not pack_name or not pack_factor or pack_factor <= 1:
        return ""
    full, loose = divmod(qty, pack_factor)
    if not full:
        return ""
    return f"{full} {pack_name} + {loose} {unit}" if loose else f"{full} {pack_name}"


def parse_form_qty(raw: object) -> int | None:
    """A quantity as a form or JSON sends it: blank is 0, a whole number is itself, else None.

    Unlike parse_qty, a blank field means "none of this line" (shipment and return forms
    list every line and most stay empty); negative numbers come back for the caller to refuse.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw if raw is not None else "").strip()
    if text == "":
        return 0
    # A long number is still a number: the caller says how much is left (a quantity far over
    # it used to read "enter a whole number"). Past 18 digits it is not a quantity at all.
    if not text.lstrip("-").isdigit() or len(text) > 18:
        return None
    return int(text)


def parse_line_quantities(
    quantities: Mapping[object, object], errors: list[FieldError]
) -> dict[int, int]:
    """{order line id: quantity} from a shipment or return form; problems go to `errors`."""
    parsed: dict[int, int] = {}
    for raw_id, raw in quantities.items():
        try:
            line_id = int(str(raw_id))
        except ValueError:
            errors.append(FieldError("lines", _("Unknown order line.")))
            continue
        qty = parse_form_qty(raw)
        if qty is None:
            errors.append(FieldError(f"qty[{line_id}]", _("Enter a whole number.")))
        elif qty < 0:
            errors.append(FieldError(f"qty[{line_id}]", _("The quantity cannot be negative.")))
        else:
            parsed[line_id] = qty
    return parsed
