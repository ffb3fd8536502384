"""Helpers of the translation tests: a small reader of GNU gettext .po files, and the scanners
that find the strings an app marks for translation (Python by `ast`, templates by regex).
Standard library only: the tests need neither GNU gettext nor a .po library."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

# (msgctxt or None, msgid)
Key = tuple[str | None, str]


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> Key:
        return (self.msgctxt, self.msgid)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: not a quoted string: {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 1
            if i >= len(body) or body[i] not in _ESCAPES:
                raise ValueError(f"{where}: unknown escape in {text!r}")
            out.append(_ESCAPES[body[i]])
        elif ch == '"':
            raise ValueError(f"{where}: unescaped quote in {text!r}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(.*)$")


def parse_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """The header's fields and the entries (the header entry left out)."""
    entries: list[Entry] = []
    header: dict[str, str] = {}
    current: Entry | None = None
    target: tuple[str, int] | None = None
    values: dict[tuple[str, int], str] = {}
    flags: set[str] = set()
    obsolete = False

    def finish() -> None:
        nonlocal current, values, flags, obsolete, target
        if values:
            msgid = values.get(("msgid", 0))
            if msgid is None:
                raise ValueError(f"{path}: an entry without msgid")
            entry = Entry(
                msgid=msgid,
                msgctxt=values.get(("msgctxt", 0)),
                msgid_plural=values.get(("msgid_plural", 0)),
                msgstr=[values[k] for k in sorted(k for k in values if k[0] == "msgstr")],
                flags=flags,
                obsolete=obsolete,
            )
            if msgid == "" and entry.msgctxt is None:
                for line in (entry.msgstr[0] if entry.msgstr else "").splitlines():
                    name, _, value = line.partition(":")
                    header[name.strip()] = value.strip()
            else:
                entries.append(entry)
        current, values, flags, obsolete, target = None, {}, set(), False, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path}:{number}"
        line = raw.strip()
        if line.startswith("#~"):
            obsolete = True
            line = line[2:].strip()
            if not line:
                continue
        elif line.startswith("#,"):
            if values:
                finish()
            flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        elif line.startswith("#") or not line:
            if not line and values:
                finish()
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"{where}: a string outside an entry")
            values[target] += _unquote(line, where)
            continue
        found = _KEYWORD.match(line)
        if not found:
            raise ValueError(f"{where}: cannot read {raw!r}")
        keyword, index, rest = found.groups()
        if keyword in ("msgctxt", "msgid") and any(k[0] == "msgstr" for k in values):
            finish()  # a new entry without a blank line before it
        name = "msgstr" if keyword.startswith("msgstr") else keyword
        target = (name, int(index) if index else 0)
        values[target] = _unquote(rest, where)
    finish()
    del current
    return header, entries


# ------------------------------------------------------------------ placeholders

_PYTHON_FORMAT = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*\d*(?:\.\d+)?(?P<type>[diouxXeEfFgGcrsa%])"
)
_BRACE = re.compile(r"\{[A-Za-z_]\w*\}")


def placeholders(text: str) -> list[str]:
    """The python-format placeholders of a text, sorted (`%%` left out), and `{name}`s."""
    found = [m.group(0) for m in _PYTHON_FORMAT.finditer(text) if m.group("type") != "%"]
    return sorted(found + _BRACE.findall(text))


# ------------------------------------------------------------------ marked strings

_GETTEXT_FUNCTIONS = {
    "_": ("msgid",),
    "gettext": ("msgid",),
    "gettext_lazy": ("msgid",),
    "gettext_noop": ("msgid",),
    "ngettext": ("msgid", "plural"),
    "ngettext_lazy": ("msgid", "plural"),
    "pgettext": ("context", "msgid"),
    "pgettext_lazy": ("context", "msgid"),
    "npgettext": ("context", "msgid", "plural"),
    "npgettext_lazy": ("context", "msgid", "plural"),
}


def _literal(node: ast.expr) -> str | None:
    """A string constant, or implicitly concatenated ones (`"a" "b"` is one Constant)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def python_msgids(path: Path) -> set[Key]:
    """Every (context, msgid) a module marks with a gettext function and literal arguments."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[Key] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        roles = _GETTEXT_FUNCTIONS.get(name or "")
        if roles is None or len(node.args) < len(roles):
            continue
        args = dict(zip(roles, (_literal(a) for a in node.args), strict=False))
        if args.get("msgid") is None or ("context" in roles and args.get("context") is None):
            continue
        found.add((args.get("context"), args["msgid"]))
    return found


_QUOTED = r'(?:"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')'
_TRANSLATE_TAG = re.compile(
    r"{%\s*(?:translate|trans)\s+(?P<msgid>" + _QUOTED + r")"
    r"(?:\s+context\s+(?P<context>" + _QUOTED + r"))?[^%]*%}"
)
_BLOCK_TAG = re.compile(
    r"{%\s*(?:blocktranslate|blocktrans)(?P<options>[^%]*)%}(?P<body>.*?)"
    r"{%\s*(?:endblocktranslate|endblocktrans)\s*%}",
    re.S,
)
_BLOCK_CONTEXT = re.compile(r"\bcontext\s+(?P<context>" + _QUOTED + ")")
_VARIABLE = re.compile(r"{{\s*(\w+)(?:\|[^}]*)?\s*}}")


def _template_string(quoted: str) -> str:
    return quoted[1:-1].replace('\\"', '"').replace("\\'", "'")


def _trimmed(text: str) -> str:
    """`{% blocktranslate trimmed %}`: lines stripped and joined by single spaces."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def template_msgids(path: Path) -> set[Key]:
    """The (context, msgid)s of a template's {% translate %} and {% blocktranslate %} tags
    (plural blocks: the singular part)."""
    text = path.read_text(encoding="utf-8")
    found: set[Key] = set()
    for m in _TRANSLATE_TAG.finditer(text):
        context = _template_string(m.group("context")) if m.group("context") else None
        found.add((context, _template_string(m.group("msgid"))))
    for m in _BLOCK_TAG.finditer(text):
        body = re.split(r"{%\s*plural\s*%}", m.group("body"))[0]
        options = m.group("options")
        if re.search(r"\btrimmed\b", options):
            body = _trimmed(body)
        body = _VARIABLE.sub(lambda v: f"%({v.group(1)})s", body.replace("%", "%%"))
        ctx = _BLOCK_CONTEXT.search(options)
        found.add((_template_string(ctx.group("context")) if ctx else None, body))
    return found


def marked_msgids(python_files: list[Path], templates: list[Path]) -> dict[Key, str]:
    """Every marked (context, msgid), with one file that marks it."""
    found: dict[Key, str] = {}
    for path in python_files:
        for key in python_msgids(path):
            found.setdefault(key, str(path.relative_to(ROOT)))
    for path in templates:
        for key in template_msgids(path):
            found.setdefault(key, str(path.relative_to(ROOT)))
    return found


# ------------------------------------------------------------------ the apps' catalogues


def catalogue_path(app: str, suffix: str = "po") -> Path:
    return ROOT / "trustregistry" / app / "locale" / "bg" / "LC_MESSAGES" / f"django.{suffix}"


def app_sources(app: str) -> tuple[list[Path], list[Path]]:
    """The Python files (migrations left out) and templates whose strings `app` translates.
    The registry's templates live in the project's templates folder."""
    package = ROOT / "trustregistry" / app
    python_files = sorted(p for p in package.rglob("*.py") if "migrations" not in p.parts)
    templates: list[Path] = []
    if app == "registry":
        templates = sorted(
            [
                *(TEMPLATES / "registry").rglob("*.html"),
                *(TEMPLATES / "admin" / "registry").rglob("*.html"),
            ]
        )
    return python_files, templates


def catalogue_problems(app: str) -> list[str]:
    """What is wrong with `app`'s Bulgarian catalogue by itself: its header, an entry that is
    untranslated, fuzzy or obsolete, placeholders that differ, and a compiled .mo that is not
    the .po's content."""
    import gettext

    problems: list[str] = []
    header, entries = parse_po(catalogue_path(app))
    if header.get("Language") != "bg":
        problems.append(f"header Language is {header.get('Language')!r}, not 'bg'")
    if "charset=UTF-8" not in header.get("Content-Type", ""):
        problems.append("header Content-Type is not UTF-8")
    if not header.get("Plural-Forms"):
        problems.append("header has no Plural-Forms")
    seen: set[Key] = set()
    for e in entries:
        name = f"{e.msgctxt + ' | ' if e.msgctxt else ''}{e.msgid!r}"
        if e.key in seen:
            problems.append(f"{name}: given twice")
        seen.add(e.key)
        if e.obsolete:
            problems.append(f"{name}: obsolete (#~) entry")
        if "fuzzy" in e.flags:
            problems.append(f"{name}: fuzzy")
        if not e.msgstr or any(not s.strip() for s in e.msgstr):
            problems.append(f"{name}: no translation")
            continue
        sources = [e.msgid] + ([e.msgid_plural] if e.msgid_plural else [])
        for translated in e.msgstr:
            for source in sources:
                if placeholders(source) != placeholders(translated):
                    problems.append(
                        f"{name}: placeholders {placeholders(source)} became "
                        f"{placeholders(translated)}"
                    )
                    break
        if ("python-format" in e.flags) != bool(placeholders(e.msgid)) and "%" in e.msgid:
            problems.append(f"{name}: python-format flag does not match its placeholders")

    with catalogue_path(app, "mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    if compiled.info().get("language") != "bg":
        problems.append("the .mo's header has no Language: bg")
    expected: dict[object, str] = {}
    for e in entries:
        if e.obsolete or "fuzzy" in e.flags:
            continue
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            expected[key] = e.msgstr[0]
        else:
            for n, text in enumerate(e.msgstr):
                expected[(key, n)] = text
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
    for key in sorted(set(expected) | set(actual), key=repr):
        if expected.get(key) != actual.get(key):
            problems.append(
                f".mo out of step with .po at {key!r}: "
                f".po {expected.get(key)!r}, .mo {actual.get(key)!r} (run msgfmt)"
            )
    return problems


def untranslated_marked_strings(app: str) -> list[str]:
    """Strings `app` marks for translation that its Bulgarian catalogue lacks."""
    _, entries = parse_po(catalogue_path(app))
    known = {e.key for e in entries if not e.obsolete}
    marked = marked_msgids(*app_sources(app))
    return sorted(
        f"{where}: {key[1]!r}" + (f" (context {key[0]!r})" if key[0] else "")
        for key, where in marked.items()
        if key not in known
    )


def stale_entries(app: str) -> list[str]:
    """Catalogue entries no source of `app` marks any more (makemessages would drop them)."""
    _, entries = parse_po(catalogue_path(app))
    marked = marked_msgids(*app_sources(app))
    return sorted(repr(e.msgid) for e in entries if not e.obsolete and e.key not in marked)


def project_catalogues() -> dict[str, Path]:
    """Every Bulgarian catalogue of the project's apps, by app."""
    return {
        p.parts[-5]: p
        for p in sorted((ROOT / "trustregistry").glob("*/locale/bg/LC_MESSAGES/django.po"))
    }
