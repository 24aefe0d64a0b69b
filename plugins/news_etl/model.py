"""The records that pass between the steps, and their Arrow schemas.

A step hands the next one a batch as a Parquet file with one of these
schemas; the manifests that travel through XCom only name the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypedDict


class Reject(Exception):
    """A post that cannot become an article. ``reason`` is short and plain
    (``empty file``, ``bad YAML at line 3``, ...); ``detail`` says more."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class RawPost:
    """One post file as the source found it.

    A file larger than ``contract.MAX_POST_BYTES`` is never held whole: ``raw`` holds its first
    ``MAX_REJECT_RAW_BYTES``, ``size`` its full size and ``content_hash`` the SHA-256 of all of it.
    """

    source: str
    path: str
    raw: bytes
    content_hash: str
    size: int = 0
    mtime_ns: int | None = 0
    #: A reject reason the source found (e.g. ``file time out of range``): the post becomes that reject.
    problem: str | None = None
    problem_detail: str | None = None


@dataclass
class Article:
    """A clean article: the fields of ``articles`` plus its metrics."""

    post_id: str
    source: str
    path: str
    title: str
    layout: str | None
    published_at: object  # datetime with tzinfo
    published_date: object  # date, site-local
    categories: list[str]
    tags: list[str]
    category: str | None
    outlet: str | None
    source_url: str | None
    digest: str | None
    byline: str | None
    credit: str | None
    body_text: str
    paragraphs: list[str]
    warnings: list[str]
    content_hash: str
    metrics: dict = field(default_factory=dict)
    keywords: list[dict] = field(default_factory=list)  # [{keyword, count, weight}], best first
    securities: list[dict] = field(default_factory=list)  # news_etl/meaning/securities.py
    names: list[str] = field(default_factory=list)  # its links' names that look like names (meaning/keywords.py)
    names_used: list[str] = field(default_factory=list)  # the names its keywords kept whole (meaning/keywords.py)
    minhash: bytes | None = None  # news_etl/meaning/stories.py


#: The Arrow schemas of the staged files, built on first use (PEP 562's module ``__getattr__``): a run
#: that stages nothing never imports pyarrow (and numpy with it), a tenth of a quiet day's run.
_ARROW_NAMES = (
    "RAW_SCHEMA",
    "DELETED_SCHEMA",
    "METRIC_FIELDS",
    "KEYWORDS_TYPE",
    "SECURITIES_TYPE",
    "ARTICLE_SCHEMA",
    "REJECT_SCHEMA",
)
if TYPE_CHECKING:
    import pyarrow as pa

    RAW_SCHEMA: pa.Schema
    DELETED_SCHEMA: pa.Schema
    METRIC_FIELDS: list[tuple[str, pa.DataType]]
    KEYWORDS_TYPE: pa.DataType
    SECURITIES_TYPE: pa.DataType
    ARTICLE_SCHEMA: pa.Schema
    REJECT_SCHEMA: pa.Schema


@lru_cache(maxsize=1)
def _arrow_schemas() -> dict[str, Any]:
    import pyarrow as pa

    RAW_SCHEMA = pa.schema(
        [
            ("source", pa.string()),
            ("path", pa.string()),
            ("raw", pa.binary()),
            ("content_hash", pa.string()),
            ("size", pa.int64()),
            ("mtime_ns", pa.int64()),
            ("problem", pa.string()),
            ("problem_detail", pa.string()),
        ]
    )

    DELETED_SCHEMA = pa.schema(
        [
            ("source", pa.string()),
            ("path", pa.string()),
        ]
    )

    METRIC_FIELDS = [
        ("cjk_chars", pa.int32()),
        ("chars", pa.int32()),
        ("paragraph_count", pa.int32()),
        ("sentences", pa.int32()),
        ("numbers", pa.int32()),
        ("money_mentions", pa.int32()),
        ("percent_mentions", pa.int32()),
        ("links", pa.int32()),
        ("images", pa.int32()),
        ("kline_images", pa.int32()),
        ("tables", pa.int32()),
        ("reading_seconds", pa.int32()),
    ]

    #: An article's keywords: word, occurrences, share of the counted words (0..1).
    KEYWORDS_TYPE = pa.list_(pa.struct([("keyword", pa.string()), ("count", pa.int32()), ("weight", pa.float64())]))

    #: The securities a post mentions (news_etl/meaning/securities.py).
    SECURITIES_TYPE = pa.list_(
        pa.struct(
            [
                ("market", pa.string()),
                ("code", pa.string()),
                ("name", pa.string()),
                ("kind", pa.string()),
                ("keytips", pa.int32()),
                ("widgets", pa.int32()),
                ("mentions", pa.int32()),
                ("fragment", pa.bool_()),
            ]
        )
    )

    ARTICLE_SCHEMA = pa.schema(
        [
            ("post_id", pa.string()),
            ("source", pa.string()),
            ("path", pa.string()),
            ("title", pa.string()),
            ("layout", pa.string()),
            ("published_at", pa.timestamp("us", tz="UTC")),
            ("published_date", pa.date32()),
            ("categories", pa.list_(pa.string())),
            ("tags", pa.list_(pa.string())),
            ("category", pa.string()),
            ("outlet", pa.string()),
            ("source_url", pa.string()),
            ("digest", pa.string()),
            ("byline", pa.string()),
            ("credit", pa.string()),
            ("body_text", pa.string()),
            ("paragraphs", pa.list_(pa.string())),
            ("warnings", pa.list_(pa.string())),
            ("content_hash", pa.string()),
            *METRIC_FIELDS,
            # top keywords of the clean text, best first (news_etl/meaning/keywords.py)
            ("keywords", KEYWORDS_TYPE),
            # the analysts' meaning: securities mentioned, MinHash signature (securities.py, stories.py)
            ("securities", SECURITIES_TYPE),
            ("minhash", pa.binary()),
            # the names of its own links that look like names, and the names its keywords kept whole
            ("names", pa.list_(pa.string())),
            ("names_used", pa.list_(pa.string())),
        ]
    )

    REJECT_SCHEMA = pa.schema(
        [
            ("source", pa.string()),
            ("path", pa.string()),
            ("reason", pa.string()),
            ("detail", pa.string()),
            ("raw", pa.binary()),
            ("content_hash", pa.string()),
            ("raw_size", pa.int64()),
            ("raw_sha256", pa.string()),
        ]
    )
    return {name: value for name, value in locals().items() if name in _ARROW_NAMES}


def __getattr__(name: str) -> Any:
    if name in _ARROW_NAMES:
        return _arrow_schemas()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: ``YYYY-MM-DD-`` at the start of a post's file name (Jekyll's date).
FILE_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")


def post_id_from_path(path: str) -> str:
    """The Jekyll slug: the file name without ``.md`` and its ``YYYY-MM-DD-`` date."""
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".md") or name.endswith(".markdown"):
        name = name.rsplit(".", 1)[0]
    stripped = FILE_DATE.sub("", name)
    return stripped.lstrip("-") or name


class Known(NamedTuple):
    """A post file as the warehouse last loaded it (a tuple: a fetch builds one per live file)."""

    content_hash: str
    size: int | None
    mtime_ns: int | None


# --- what passes between the steps (small manifests: XCom carries them) ------------------------


class Run(TypedDict):
    """A run's identity: the CLI's ``cli__<UTC time>``, or the Airflow run it belongs to."""

    run_id: str
    dag_run_id: str | None
    logical_date: str | None
    interval_start: str | None
    #: The run's "as of" time (the end of its data interval): what a git source reads, and the
    #: day the article contract's plausible dates are counted from.
    interval_end: str | None


class FetchManifest(TypedDict):
    """What a fetch staged (``manifest.json`` in the run's staging folder): names, not data."""

    run_id: str
    #: Names this fetch: transform and validate results carry it, so a load never mixes two fetches.
    fetch_id: str | None
    as_of: str
    started_at: str
    names: dict[str, Any]
    complete: bool
    staging: str
    source: str
    revision: str | None
    previous_revision: str | None
    #: The watermark the fetch read (the load commits only on top of it); None: no check.
    watermark: dict[str, Any] | None
    seen: int
    changed: int
    deleted: int
    moved: int
    batches: list[str]
    deleted_file: str | None
    warnings: list[str]
    seconds: float


class BatchResult(TypedDict):
    """One transformed batch: its articles and rejects files and counts."""

    fetch_id: str | None
    batch: str
    clean: str
    rejects_file: str
    posts: int
    articles: int
    rejects: int
    reasons: dict[str, int]
    seconds: float


class Validation(TypedDict):
    """The GX suite's verdict over a run's batches (the results themselves are in ``quality_file``)."""

    fetch_id: str | None
    quality_file: str | None
    expectations: int
    failed_hard: int
    failed_soft: int
    seconds: float


class Execute(Protocol):
    """``con.execute`` of a DuckDB connection, as the steps that only run SQL are handed it."""

    def __call__(self, query: str, parameters: object = ..., /) -> Any: ...


#: The warehouse's tables whose key no index keeps (migrations 060 and 080: DuckDB holds an index
#: in memory, whole, while a load adds to its table), and their key columns: the load checks them
#: in bulk before each commit (``news_etl.warehouse.keys``), and the analysts' dictionary names
#: each table's grain by them. Fixed names: the only identifiers the check puts in SQL text.
UNINDEXED_KEYS: dict[str, tuple[str, ...]] = {
    "article_versions": ("post_id", "version", "change"),
    "article_metrics": ("post_id",),
    "article_keywords": ("post_id", "rank"),
    "source_files": ("source", "path"),
    "article_names": ("post_id", "name"),
    "article_names_used": ("post_id", "name"),
    "article_securities": ("post_id", "market", "code"),
    "story_signatures": ("post_id",),
    "story_links": ("post_a", "post_b"),
    "search_docs": ("post_id",),
    "keyword_daily": ("day", "keyword"),
    "security_daily": ("day", "market", "code"),
}
