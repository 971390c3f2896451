"""When each import brought new rows, per file and per source, and which sources went quiet.

A feed that stops (an expired token at the ad platform, an export job that died) does not
fail the import: the other files still arrive and nobody notices. So every import records,
in its own transaction (all or nothing, records included), how many rows each file and each
source brought that were new or changed; a re-import of the same rows brings nothing and
records nothing. A source with no new rows for two days is stale, and the briefing says so.

A row's source is the data domains' word for where it comes from (the manifest's
`domains.*.sources`): a project row names its tool, a spend row comes from its account's ad
platform, client mail from the inbox. The agency's own lists (clients, accounts, budgets,
exclusions) are recorded per file with no source: they change when the agency changes them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Index, func, select
from sqlmodel import Field, Session, SQLModel, col

from switchboard.store.types import UTCDateTime

STALE_DAYS = 2


class ImportRecord(SQLModel, table=True):
    __tablename__ = "import_record"
    __table_args__ = (Index("ix_import_record_source_imported_on", "source", "imported_on"),)

    id: int | None = Field(default=None, primary_key=True)
    imported_at: datetime = Field(sa_type=UTCDateTime())
    # The agency-local day of `imported_at`: staleness counts the agency's days.
    imported_on: date
    file: str = Field(max_length=64)
    source: str | None = Field(default=None, max_length=64)
    new_rows: int


class StaleSource(BaseModel):
    """A source with no new rows for `days` days, or none ever (`last_new_on` None)."""

    source: str
    last_new_on: date | None  # the agency-local day it last brought new rows
    last_new_at: datetime | None
    files: list[str]  # the files its rows came in
    days: int | None  # days since `last_new_on`


def record(
    session: Session,
    new_rows: Mapping[tuple[str, str | None], int],
    *,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Record `{(file, source): new rows}` of one import, in the import's transaction.

    Only what brought something is written: an import of rows already stored leaves the
    store exactly as it was, records included.
    """
    day = now.astimezone(tz).date()
    session.add_all(
        ImportRecord(imported_at=now, imported_on=day, file=file, source=source, new_rows=count)
        for (file, source), count in new_rows.items()
        if count > 0
    )


def stale_sources(
    session: Session, today: date, days: int = STALE_DAYS, *, expected: Collection[str] = ()
) -> list[StaleSource]:
    """Each source whose last new rows are `days` or more days before `today` (agency-local).

    `expected` names sources that should deliver (the manifest's domains' sources): one that
    never brought a row is stale too. Oldest first; never-seen sources lead.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    latest = (
        select(
            ImportRecord.source,
            func.max(ImportRecord.imported_on),
            func.max(ImportRecord.imported_at),
        )
        .where(col(ImportRecord.source).is_not(None))
        .group_by(ImportRecord.source)
    )
    files: dict[str, list[str]] = {}
    pairs = (
        select(ImportRecord.source, ImportRecord.file)
        .distinct()
        .where(col(ImportRecord.source).is_not(None))
    )
    for source, file in session.execute(pairs.order_by(ImportRecord.file)):
        files.setdefault(source, []).append(file)
    stale = [
        StaleSource(source=source, last_new_on=None, last_new_at=None, files=[], days=None)
        for source in sorted(set(expected) - set(files))
    ]
    cutoff = today - timedelta(days=days)
    for source, last_on, last_at in sorted(
        session.execute(latest), key=lambda row: (row[1], row[0])
    ):
        if last_on <= cutoff:
            stale.append(
                StaleSource(
                    source=source,
                    last_new_on=last_on,
                    last_new_at=last_at,
                    files=files[source],
                    days=(today - last_on).days,
                )
            )
    return stale
