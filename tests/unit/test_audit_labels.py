"""Every kind of audit entry the code records has a label on the audit log's page (an entry
without one showed its code, ledger.reversed, to finance)."""

from __future__ import annotations

import re
from pathlib import Path

from portal.domain import ledger, stock
from portal.web.audit import ACTION_LABELS

ROOT = Path(__file__).resolve().parents[2] / "portal"
# audit.record(actor, "kind.action", ...) and the audited helpers' action argument.
LITERAL = re.compile(
    r'(?:audit\.record|_audited)\(\s*[\w.]+,\s*(?:[\w.]+,\s*)*"([a-z_]+\.[a-z_]+)"'
)
DYNAMIC = re.compile(r'audit\.record\(\s*[\w.]+,\s*f"([a-z_{}.]+)"')


def recorded_actions() -> set[str]:
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(LITERAL.findall(text))
        for pattern in DYNAMIC.findall(text):
            found.add(pattern)
    return found


EXPANSIONS = {
    "stock.{reason}": [
        f"stock.{r}" for r in (*stock.ADJUST_REASONS, "transfer_in", "transfer_out")
    ],
    "order.{outcome}": [
        "order.approved",
        "order.step_approved",
        "order.rejected",
        "order.returned",
    ],
    "return.{status}": ["return.approved", "return.rejected", "return.received"],
    "ledger.{kind}": [f"ledger.{k}" for k in ("payment", "prepayment")],
    "{name}.deleted": ["category.deleted", "tier.deleted"],
}


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert "ledger.reversed" in actions and "stock.{reason}" in actions  # the scan works
    unknown = sorted(a for a in actions if "{" in a and a not in EXPANSIONS)
    assert unknown == [], "a new dynamic action: list what it expands to"
    wanted = {a for a in actions if "{" not in a} | {
        e for a in actions if a in EXPANSIONS for e in EXPANSIONS[a]
    }
    assert ledger.KINDS  # the module is the one the code records from
    assert sorted(a for a in wanted if a not in ACTION_LABELS) == []
