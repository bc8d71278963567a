"""axe-core in the browser tests: inject the vendored axe.min.js into a page and list violations.

axe-core (MPL-2.0, tests/browser/vendor/) is test-only: it never ships with the portal. It is
injected through Playwright's evaluate, so the portal's strict CSP (script-src 'self') does
not get in its way.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# WCAG 2.x A and AA plus axe's best practices (landmarks, heading order, region).
RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


@cache
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


# What a change of colours alone (dark mode) can break: contrast, and links told from the text
# around them by colour.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


async def axe_violations(page, *, colours_only: bool = False) -> list[dict]:
    """Run axe on the page as it is now; the violations (every impact), as axe reports them.
    With colours_only, only the rules that colours decide (for the same page in dark mode)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    options = RUN_OPTIONS
    if colours_only:
        options = {**RUN_OPTIONS, "runOnly": {"type": "rule", "values": COLOUR_RULES}}
    result = await page.evaluate("options => window.axe.run(document, options)", options)
    return result["violations"]


def describe(violations: list[dict], where: str) -> str:
    """A readable list: rule, impact, help and the first few offending elements."""
    lines = []
    for v in violations:
        lines.append(f"{where}: [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary'][:300]}")
    return "\n".join(lines)
