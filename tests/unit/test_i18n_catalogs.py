"""Every user-facing string goes through gettext, and every catalog translates every message.

(a) templates hold no raw text outside {{ _() }} / {% trans %}; (b) every msgid in
messages.pot (`make messages`) has a translation in zh_Hans and zh_Hant; (c) the %(name)s
placeholders of a translation are those of its msgid. (b) fails after `make messages` finds
new strings, until they are translated: that is the point.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from portal.settings import ROOT

TEMPLATES = ROOT / "templates"
LOCALE_DIR = ROOT / "portal" / "locale"
TRANSLATED = ("zh_Hans", "zh_Hant")

# Templates left out of (a) while someone finishes them (path, or folder ending in "/"); keep
# this empty: every template is held to the rule.
PENDING: tuple[str, ...] = ()

# Attributes a person reads or hears.
READ_ATTRIBUTES = {
    "aria-label",
    "placeholder",
    "title",
    "alt",
    "aria-placeholder",
    "aria-roledescription",
    "aria-valuetext",
    "label",
}
# Technical tokens that are the same in every language.
ALLOWED_TOKENS = re.compile(
    r"\b(SKU|CSV|API|PDF|QR|SO|ID)\b|¥|×|·|→|…"
    r"|\b[A-Z]{1,4}-?\d[\w-]*\b"  # example codes: A100, SO-20261125-0042
)
WORDS = re.compile(r"[A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
TRANS_BLOCK = re.compile(r"{%-?\s*(trans|pluralize)\b.*?{%-?\s*endtrans\s*-?%}", re.S)
JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
MARK = "\x00"  # stands where a template expression was: never user-facing text itself
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


class TextScan(HTMLParser):
    """Collects text nodes and read-aloud attribute values, outside <script>/<style>/<svg>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = set(READ_ATTRIBUTES)
        if tag == "input" and dict(attrs).get("type") in ("submit", "button", "reset"):
            shown.add("value")
        for name, value in attrs:
            if name in shown and value and _has_words(value):
                self.found.append((self.getpos()[0], f'{name}="{value}"'))
        if tag in ("script", "style", "svg"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and _has_words(data):
            self.found.append((self.getpos()[0], data.strip()))


def _has_words(text: str) -> bool:
    return bool(WORDS.search(ALLOWED_TOKENS.sub("", text.replace(MARK, " "))))


def raw_text(source: str) -> list[tuple[int, str]]:
    """Text in a template that a reader would see and that gettext never touches."""

    def blank(match: re.Match) -> str:
        # Spaced, so a tag with an expression inside (<tr{% if x %} class="y"{% endif %}>) is
        # still a tag; the newlines are kept, so reports point at the right line.
        return f" {MARK} " + "\n" * match.group(0).count("\n")

    stripped = JINJA.sub(blank, TRANS_BLOCK.sub(blank, source))
    scan = TextScan()
    scan.feed(stripped)
    scan.close()
    return scan.found


def is_pending(name: str) -> bool:
    return any(name == p or (p.endswith("/") and name.startswith(p)) for p in PENDING)


def template_names() -> list[str]:
    return sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))


def test_the_scan_finds_raw_text():
    # The scan must be able to fail: raw text, in a node or an attribute, is found; gettext'd
    # text, expressions and technical tokens are not.
    found = raw_text(
        '<p>{{ _("Hello") }} ¥{{ x }} · SKU</p><h1>订单</h1>'
        '<input placeholder="Name">{% trans %}Cart{% endtrans %}'
        '<button aria-label="{{ _("Close") }}">×</button><script>var a = "b";</script>'
        '<input type="submit" value="Go"><input name="q" value="x">'
    )
    assert [text for _, text in found] == ["订单", 'placeholder="Name"', 'value="Go"']


@pytest.mark.parametrize("name", [n for n in template_names() if not is_pending(n)])
def test_template_has_no_text_outside_gettext(name: str):
    found = raw_text((TEMPLATES / name).read_text(encoding="utf-8"))
    assert not found, f"templates/{name}: text outside gettext: " + "; ".join(
        f"line {line}: {text!r}" for line, text in found
    )


def _catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _forms(value: str | tuple | list | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated(locale: str):
    template = _catalog(LOCALE_DIR / "messages.pot")
    catalog = _catalog(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
    assert len(template) > 0
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, message.context)
        forms = _forms(translated.string if translated else None)
        if not forms or not all(f.strip() for f in forms) or (translated and translated.fuzzy):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    listed = "".join(f"\n  {m!r}" for m in missing[:50])
    assert not missing, f"{locale}: {len(missing)} untranslated (translate them):{listed}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_match(locale: str):
    catalog = _catalog(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = _forms(message.id)
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for form in _forms(message.string):
            if form and set(PLACEHOLDER.findall(form)) != expected:
                # A plural's singular form may leave out %(num)s ("one box"), nothing else.
                if set(PLACEHOLDER.findall(form)) | {"num"} != expected | {"num"}:
                    wrong.append(f"{ids[0]!r} -> {form!r}")
    assert not wrong, f"{locale}: placeholders differ:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_translation_compiles(locale: str):
    """What `pybabel compile` checks (`make setup` runs it, and stops on an error): each
    translation's placeholders are its message's. A one-form language (Chinese) translates a
    plural message with one msgstr, which must not name a placeholder the singular lacks."""
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    problems = [
        f"{message.id!r}: {error}"
        for message, errors in catalog.check()
        for error in errors
        if not message.fuzzy
    ]
    assert not problems, "\n".join(problems)
