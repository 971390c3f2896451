"""What every command needs, loaded once and only when first asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from switchboard.bot.settings import Settings, load_settings
from switchboard.store import agent_state, ownership
from switchboard.store.engine import open_interactions, open_store, transaction
from switchboard.store.manifest import AgencyManifest, load_manifest


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

    @cached_property
    def manifest(self) -> AgencyManifest:
        return load_manifest(self.settings.manifest_path)

    @cached_property
    def engine(self) -> Engine:
        engine = open_store(self.settings.database_url)
        seed(engine, self.manifest, now=self.now())
        return engine

    @cached_property
    def interactions(self) -> Engine:
        """Where Slack requests wait for the worker (store/interactions.py)."""
        return open_interactions(self.settings.database_url, self.engine)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in the agency's time zone: it decides which day's data is complete."""
        return self.now().astimezone(self.manifest.tz).date()

    def close(self) -> None:
        for name in ("interactions", "engine"):
            engine = self.__dict__.get(name)
            if engine is not None:
                engine.dispose()


def seed(engine: Engine, manifest: AgencyManifest, *, now: datetime) -> None:
    """What the manifest starts the store with: domain owners and agent levels.

    Rows already in the store win: a reassignment or a pause from Slack survives a restart.
    """
    with transaction(engine) as session:
        owners = {name: (d.agent, d.owner) for name, d in manifest.domains.items()}
        ownership.seed(session, owners, now=now)
        levels = {name: (a.autonomy, a.shadow_since) for name, a in manifest.agents.items()}
        agent_state.seed(session, levels, now=now)
