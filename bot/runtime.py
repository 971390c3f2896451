"""What every command needs, loaded once and only when first asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from switchboard.bot.settings import Settings, SettingsError, load_settings

# The store is imported when first used: `switchboard --help` and `init` never load SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from switchboard.store.manifest import AgencyManifest


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Settings, manifest and store for one process; `clock` is injectable for tests."""

    db_url: str | None = None
    manifest_override: Path | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    preset: Settings | None = None  # settings built by the caller (tests), not the environment

    @cached_property
    def settings(self) -> Settings:
        if self.preset is not None:
            return self.preset
        return load_settings(database_url=self.db_url, switchboard_manifest=self.manifest_override)

    # Problems are reported against what the user set: the flag if given, else the variable.
    @property
    def db_source(self) -> str:
        return "--db" if self.db_url is not None else "DATABASE_URL"

    @property
    def manifest_source(self) -> str:
        return "--manifest" if self.manifest_override is not None else "SWITCHBOARD_MANIFEST"

    @cached_property
    def database_url(self) -> str:
        """The store's SQLAlchemy URL (a plain file path is a SQLite database)."""
        from switchboard.store.engine import StoreError, normalize_url

        try:
            return normalize_url(self.settings.database_url)
        except StoreError as error:
            raise SettingsError(f"{self.db_source}: {error}") from None

    @property
    def manifest_path(self) -> Path:
        """The manifest file; SettingsError naming the flag or variable that gave it if it
        does not exist."""
        path = self.settings.manifest_path
        if not path.exists():
            raise SettingsError(f"{self.manifest_source}: file not found: {path}")
        return path

    @cached_property
    def manifest(self) -> AgencyManifest:
        from switchboard.store.manifest import load_manifest

        return load_manifest(self.manifest_path)

    @cached_property
    def engine(self) -> Engine:
        """The store, created, migrated and seeded if need be (SettingsError if it cannot be)."""
        from sqlalchemy.exc import DBAPIError

        from switchboard.store.engine import StoreError, describe, open_store

        try:
            engine = open_store(self.database_url)
        except StoreError as error:
            raise SettingsError(f"{self.db_source}: {error}") from None
        try:
            seed(engine, self.manifest, now=self.now())
        except DBAPIError as error:
            engine.dispose()
            raise SettingsError(f"{self.db_source}: {describe(self.database_url, error)}") from None
        return engine

    @cached_property
    def reader(self) -> Engine | None:
        """The store for a read-only command: never created, migrated or seeded.

        None when there is no store yet; SettingsError when it cannot be read, or its schema
        is not this version's.
        """
        from switchboard.store.engine import StoreError, open_existing

        try:
            return open_existing(self.database_url)
        except StoreError as error:
            raise SettingsError(f"{self.db_source}: {error}") from None

    @cached_property
    def interactions(self) -> Engine:
        """Where Slack requests wait for the worker (store/interactions.py)."""
        from sqlalchemy.exc import DBAPIError

        from switchboard.store.engine import describe, interactions_url, open_interactions

        try:
            return open_interactions(self.database_url, self.engine)
        except DBAPIError as error:
            where = interactions_url(self.database_url) or self.database_url
            raise SettingsError(f"{self.db_source}: {describe(where, error)}") from None

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in the agency's time zone: it decides which day's data is complete."""
        return self.manifest.today(self.now())

    def close(self) -> None:
        for name in ("interactions", "engine", "reader"):
            engine = self.__dict__.get(name)
            if engine is not None:
                engine.dispose()


def seed(engine: Engine, manifest: AgencyManifest, *, now: datetime) -> None:
    """What the manifest starts the store with: domain owners and agent levels.

    Rows already in the store win: a reassignment or a pause from Slack survives a restart.
    """
    from switchboard.store import agent_state, ownership
    from switchboard.store.engine import transaction

    with transaction(engine) as session:
        owners = {name: (d.agent, d.owner) for name, d in manifest.domains.items()}
        ownership.seed(session, owners, now=now)
        levels = {name: (a.autonomy, a.shadow_since) for name, a in manifest.agents.items()}
        agent_state.seed(session, levels, now=now)
