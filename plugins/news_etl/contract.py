"""The article contract: what a clean article must be, in one place.

The transform applies it to each post (a post that breaks it becomes a reject,
so one bad post never stops a run); the Great Expectations suite states the
same limits as hard expectations over each batch, so a failure there can only
be our bug. Both take their numbers from here.

The plausible publication dates end a year after the run's "as of" time: the
end of its data interval (Airflow), or the moment the CLI's fetch started.
So a backfill of an old day checks against that day, not against the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from news_etl.settings import SITE_TIMEZONE

#: No news of this site is older than this.
EARLIEST_DATE = date(2000, 1, 1)
#: A title longer than this is not a title.
MAX_TITLE_CHARS = 500
#: A post file larger than this is rejected before it is parsed, and never held whole in memory: the
#: largest real post is 15 KB; at this size the cleaner's worst case (2 MB of tiny paragraphs) peaks
#: near 600 MB in a run (docs/reliability.md).
MAX_POST_BYTES = 2 * 1024 * 1024
#: A reject keeps at most this many of the file's bytes (``rejects.raw``), with its full size and SHA-256.
MAX_REJECT_RAW_BYTES = MAX_POST_BYTES
#: More visible paragraphs than this is suspicious (a soft expectation only).
MAX_PARAGRAPHS = 2000


def site_time(value) -> str:
    """A moment in the site's zone beside UTC, the one way logs and the warehouse page write time:
    ``2026-11-25 17:05 Asia/Shanghai (09:05 UTC)`` (the UTC date too when it differs). ``value``:
    an aware datetime or an ISO 8601 string (``Z`` or an offset; naive is UTC); None gives ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    site, utc = value.astimezone(ZoneInfo(SITE_TIMEZONE)), value.astimezone(UTC)
    utc_text = f"{utc:%H:%M}" if utc.date() == site.date() else f"{utc:%Y-%m-%d %H:%M}"
    return f"{site:%Y-%m-%d %H:%M} {SITE_TIMEZONE} ({utc_text} UTC)"


def as_of_day(as_of: str | datetime | None) -> date:
    """The site-local day of a run's as-of time (ISO 8601 text or a datetime; None: now)."""
    if as_of is None:
        moment = datetime.now(UTC)
    elif isinstance(as_of, str):
        moment = datetime.fromisoformat(as_of)
    else:
        moment = as_of
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(SITE_TIMEZONE))
    return moment.astimezone(ZoneInfo(SITE_TIMEZONE)).date()


def latest_date(as_of: date) -> date:
    """The last plausible publication day for a run as of ``as_of``: the end of the next year."""
    return date(as_of.year + 1, 12, 31)


def date_range(as_of: date) -> tuple[date, date]:
    """The publication days an article may have, for a run as of ``as_of`` (both ends included)."""
    return EARLIEST_DATE, latest_date(as_of)
