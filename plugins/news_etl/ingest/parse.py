"""Front matter: bytes of a post file → its fields and its body, or a Reject.

A post is Jekyll Markdown: ``---``, YAML front matter (``layout``, ``title``,
``date``, ``categories``, ``tags``), ``---``, body. This module decodes the
bytes, splits the front matter off, reads it with a safe YAML loader and
normalises the five fields. Everything a user can get wrong ends in a
:class:`~news_etl.model.Reject` with a reason an operator understands.

Read and shown as Jekyll reads and shows them: Jekyll reads front matter with Ruby's Psych,
which resolves plain scalars the YAML 1.1 way, as PyYAML's safe loader does (``no``, ``off`` →
false; ``yes``, ``on`` → true; ``0777`` octal; ``1:20`` base 60; dates and times), and a page
shows a value as Ruby prints it: ``false``, ``true``, ``1.5``, ``1.0e+20``, ``2026-11-25``,
``2026-11-25 10:00:00 +0800`` (:func:`jekyll_text`). So ``title: no`` is the title ``false``,
as the site and its feed (whose text Jekyll wrote) show it. A key given twice keeps the last
value, as Psych does, with a warning. The fields the feed source writes for itself
(:data:`INTERNAL_FIELDS`) are read only from the feed's own entries: in a post file they are
ignored, with a warning. A UTF-16 file is rejected naming UTF-16 (Jekyll reads UTF-8).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import yaml

from news_etl.model import FILE_DATE, Reject, post_id_from_path
from news_etl.settings import SITE_TIMEZONE

SITE_TZ = ZoneInfo(SITE_TIMEZONE)

#: Front matter larger than this is not a post's front matter.
MAX_FRONT_MATTER = 64 * 1024
#: Encodings a Chinese site's files come in, tried in order after UTF-8.
FALLBACK_ENCODINGS = ("gb18030", "big5")

_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$")
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Fields only the feed source writes (``sources/feed.py``): never taken from a post file.
INTERNAL_FIELDS = frozenset({"rendered", "feed_warnings", "feed_id", "feed_updated"})


class _SimpleLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """The safe loader, noting each mapping key given twice (the last value is kept, as Psych keeps it)."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(node.value):
            seen: set = set()
            for key_node, _ in node.value:
                key = getattr(key_node, "value", None)
                if isinstance(key, str) and key in seen:
                    self.duplicates.append((key, key_node.start_mark.line))
                seen.add(key)
        return mapping


def _load(fm: str, first_line: int, warnings: list[str] | None):
    loader = _SimpleLoader(fm)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if warnings is not None:
        for key, line in loader.duplicates:
            warnings.append(
                f"duplicate key {key[:80]!r} at line {line + first_line}: the last value kept, as Jekyll keeps it"
            )
    return data


#: The only explicit YAML tags a front matter may use (no Python objects, no binary).
_PLAIN_TAGS = frozenset(
    {
        "!",
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:timestamp",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:map",
    }
)


@dataclass
class FrontMatter:
    post_id: str
    title: str
    layout: str | None
    published_at: datetime
    published_date: date
    categories: list[str]
    tags: list[str]
    body: str
    warnings: list[str] = field(default_factory=list)
    #: The body is HTML the site rendered (``rendered: html``, as the feed source writes its
    #: entries), not the Markdown of a post file.
    html: bool = False


def _utf16(raw: bytes) -> str | None:
    """How a file is UTF-16 (``little-endian with a byte order mark``…), or None."""
    if raw.startswith(b"\xff\xfe"):
        return "UTF-16 little-endian, with a byte order mark"
    if raw.startswith(b"\xfe\xff"):
        return "UTF-16 big-endian, with a byte order mark"
    head = raw[:400]
    if len(head) >= 8:  # without a mark: each ASCII character (the front matter's ---, its keys) has a
        # NUL beside it, on one side: half of one side's bytes or more are NULs (UTF-8 text has none)
        for order, zeros, other in (("little-endian", head[1::2], head[0::2]), ("big-endian", head[0::2], head[1::2])):
            if zeros.count(0) >= 0.5 * len(zeros) and other.count(0) < 0.1 * len(other):
                return f"UTF-16 {order}, without a byte order mark"
    return None


def decode(raw: bytes, warnings: list[str]) -> str:
    """UTF-8 (a BOM is dropped), else the encodings of Chinese sites, else a Reject; UTF-16 is a
    Reject that says so."""
    utf16 = _utf16(raw)
    if utf16:
        raise Reject("not UTF-8 (UTF-16)", f"the file is {utf16}; Jekyll reads UTF-8: save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        decoded = []
        for encoding in FALLBACK_ENCODINGS:
            try:
                decoded.append((encoding, raw.decode(encoding)))
            except UnicodeDecodeError:
                continue
        if not decoded:
            raise Reject(
                "not UTF-8", f"invalid byte at offset {exc.start}; also not {', '.join(FALLBACK_ENCODINGS)}"
            ) from None
        # GB18030 decodes almost any bytes, Big5 ones too, into private-use characters: take the
        # encoding whose reading has the fewest of them (the first on a tie)
        encoding, text = min(decoded, key=lambda d: len(_PRIVATE_USE.findall(d[1])))
        warnings.append(f"decoded as {encoding}, not UTF-8")
    if "\x00" in text:
        warnings.append("NUL bytes removed")
        text = text.replace("\x00", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def file_date(path: str) -> date | None:
    m = FILE_DATE.match(path.rsplit("/", 1)[-1])
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def split_front_matter(text: str, warnings: list[str]) -> tuple[str, str, int]:
    """(front matter, body, line number of the first front-matter line)."""
    if not text.strip():
        raise Reject("empty file")
    stripped = text.lstrip(" \t\n\ufeff")
    skipped = text[: len(text) - len(stripped)].count("\n")
    if not stripped.startswith("---"):
        raise Reject("no front matter", "the file does not start with a '---' line")
    if skipped:
        warnings.append(f"{skipped} blank line(s) before the front matter (Jekyll would not read it)")
    first_nl = stripped.find("\n")
    if first_nl < 0 or stripped[:first_nl].strip() != "---":
        raise Reject("no front matter", "the first line is not '---'")
    end = stripped.find("\n---", first_nl)
    while end >= 0:
        line_end = stripped.find("\n", end + 1)
        line = stripped[end + 1 : line_end if line_end >= 0 else len(stripped)]
        if line.rstrip() in ("---", "..."):
            break
        end = stripped.find("\n---", end + 1)
    if end < 0:
        raise Reject("no front matter", "the front matter is not closed by a '---' line")
    fm = stripped[first_nl + 1 : end + 1]
    if len(fm) > MAX_FRONT_MATTER:
        raise Reject("front matter too large", f"{len(fm)} characters, limit {MAX_FRONT_MATTER}")
    line_end = stripped.find("\n", end + 1)
    body = stripped[line_end + 1 :] if line_end >= 0 else ""
    return fm, body, skipped + 2


def load_yaml(fm: str, first_line: int, warnings: list[str] | None = None) -> dict:
    """Safe YAML only: no Python objects, no aliases (no billion laughs). A key given twice is a
    warning in ``warnings``."""
    if "&" in fm or "*" in fm or "!!" in fm:
        # Rare in real posts; the slow path checks for anchors and tags.
        return _load_yaml_checked(fm, first_line, warnings)
    try:
        data = _load(fm, first_line, warnings)
    except yaml.YAMLError as exc:
        raise _bad_yaml(exc, first_line) from None
    except (ValueError, OverflowError) as exc:  # a scalar YAML cannot construct: 2026-13-45, a 5000-digit int
        raise Reject("bad YAML: a value cannot be read", f"{type(exc).__name__}: {exc}"[:500]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Reject("bad YAML: front matter is not a mapping", f"got {type(data).__name__}")
    return data


def _load_yaml_checked(fm: str, first_line: int, warnings: list[str] | None = None) -> dict:
    try:
        for event in yaml.parse(fm, Loader=_SimpleLoader):
            if isinstance(event, yaml.AliasEvent):
                raise Reject(
                    "bad YAML: aliases are not allowed",
                    f"alias *{event.anchor} at line {event.start_mark.line + first_line}",
                )
            tag = getattr(event, "tag", None)
            if tag and tag not in _PLAIN_TAGS:
                raise Reject(
                    "bad YAML: tags are not allowed", f"tag {tag} at line {event.start_mark.line + first_line}"
                )
        data = _load(fm, first_line, warnings)
    except yaml.YAMLError as exc:
        raise _bad_yaml(exc, first_line) from None
    except (ValueError, OverflowError) as exc:  # a scalar YAML cannot construct: 2026-13-45, a 5000-digit int
        raise Reject("bad YAML: a value cannot be read", f"{type(exc).__name__}: {exc}"[:500]) from None
    if not isinstance(data, dict):
        raise Reject("bad YAML: front matter is not a mapping", f"got {type(data).__name__}")
    return data


def _bad_yaml(exc: yaml.YAMLError, first_line: int) -> Reject:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return Reject(f"bad YAML at line {mark.line + first_line}", f"{problem} (column {mark.column + 1})")
    return Reject("bad YAML", problem)


def jekyll_text(value: str | int | float | bool | date) -> str:
    """A scalar as a Jekyll page shows it (Ruby's ``to_s``): ``false``, ``1.0e+20``, ``Infinity``,
    ``2026-11-25 10:00:00 +0800`` (a time without an offset is in the site's time zone)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if e and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=SITE_TZ)
        return moment.strftime("%Y-%m-%d %H:%M:%S %z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _scalar(value, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float, bool, date)):
        return jekyll_text(value).strip()
    raise Reject(f"bad field {name}", f"expected a text, got a {type(value).__name__}")


def _string_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()  # Jekyll splits a string of categories or tags on spaces
    if isinstance(value, (int, float, date)):
        return [jekyll_text(value)]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, (list, dict)):
                raise Reject(f"bad field {name}", "a list inside the list")
            if item is not None and jekyll_text(item).strip():
                out.append(jekyll_text(item).strip())
        return out
    raise Reject(f"bad field {name}", f"expected a list or a text, got a {type(value).__name__}")


def parse_date(value, fallback: date | None, warnings: list[str]) -> datetime:
    """A timezone-aware datetime: offsets honoured, naive times in the site's timezone.

    With no usable date the file name's date (midnight, site time) stands in,
    with a warning; with neither, the post is rejected.
    """
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str) and value.strip():
        parsed = _parse_date_text(value.strip())
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=SITE_TZ)
        return parsed
    raw = "" if value is None else str(value)
    if fallback is not None:
        warnings.append(f"unparseable date '{raw}'; used the file name's date {fallback.isoformat()}")
        return datetime.combine(fallback, time(), tzinfo=SITE_TZ)
    raise Reject(
        f"unparseable date '{raw.strip()}'" if raw.strip() else "no date",
        f"date field {raw!r}, and no date in the file name",
    )


def _parse_date_text(text: str) -> datetime | None:
    m = _OFFSET.search(text)
    offset = ""
    if m:
        offset = f"{m[1]}{m[2]}:{m[3]}"
        text = text[: m.start()].strip()  # (the pattern has no leading \s*: that would be quadratic)
        if not text:
            return None
    if text.endswith("Z"):
        text, offset = text[:-1], "+00:00"
    text = text.replace("/", "-")
    try:
        if len(text) <= 10:
            return datetime.combine(date.fromisoformat(text), time()).replace(
                tzinfo=datetime.fromisoformat("2000-01-01T00:00" + offset).tzinfo if offset else None
            )
        return datetime.fromisoformat(text + offset)
    except ValueError:
        return None


def _feed_warnings(value) -> list[str]:
    """What the feed source says of the entry it rendered (``feed_warnings``)."""
    return [w for w in value if isinstance(w, str)] if isinstance(value, list) else []


def parse_post(path: str, raw: bytes, internal: bool = False) -> FrontMatter:
    """Bytes of one post file → its front matter fields and its body text. ``internal``: the post
    is an entry the feed source rendered, whose :data:`INTERNAL_FIELDS` are read; in any other
    post they are ignored, with a warning."""
    warnings: list[str] = []
    if not raw.strip():
        raise Reject("empty file")
    text = decode(raw, warnings)
    fm_text, body, first_line = split_front_matter(text, warnings)
    fm = load_yaml(fm_text, first_line, warnings)
    if not internal:
        foreign = sorted(k for k in fm if isinstance(k, str) and k in INTERNAL_FIELDS)
        if foreign:
            warnings.append(f"front matter field(s) {', '.join(foreign)} ignored: only the feed source sets them")
            fm = {k: v for k, v in fm.items() if k not in INTERNAL_FIELDS}
    title = _scalar(fm.get("title"), "title")
    if not title:
        raise Reject("no title", "the front matter has no title, or an empty one")
    fallback = file_date(path)
    published_at = parse_date(fm.get("date"), fallback, warnings)
    try:
        published_date = published_at.astimezone(SITE_TZ).date()
    except OverflowError:  # 9999-12-31T23:59-12:00 is in year 10000 in the site's time
        raise Reject("date out of range", f"{published_at.isoformat()} has no date in {SITE_TIMEZONE}") from None
    if fallback is not None and fallback != published_date:
        warnings.append(
            f"file name date {fallback.isoformat()} differs from the front matter date {published_date.isoformat()}"
        )
    return FrontMatter(
        post_id=post_id_from_path(path),
        title=title,
        layout=_scalar(fm.get("layout"), "layout"),
        published_at=published_at,
        published_date=published_date,
        categories=_string_list(fm.get("categories", fm.get("category")), "categories"),
        tags=_string_list(fm.get("tags", fm.get("tag")), "tags"),
        body=body,
        warnings=warnings + _feed_warnings(fm.get("feed_warnings")),
        html=fm.get("rendered") == "html",
    )
