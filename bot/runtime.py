"""What every command needs, loaded once and only when first asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from switchboard.bot.settings import Settings, load_settings
from switchboard.store import ownership
from switchboard.store.engine import open_interactions, open_store, transaction
from switchboard.store.manifest import AgencyManifest, load_manifest

if TYPE_CHECKING:
    from switchboard.bot.app import SlackApp


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Settings, manifest and store for one process; `clock` is injectable for tests."""

    db_url: str | None = None
    manifest_override: Path | None = None
    clock: Callable[[], datetime] = field(default=utc_now)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(database_url=self.db_url, switchboard_manifest=self.manifest_override)

    @cached_property
    def manifest(self) -> AgencyManifest:
        return load_manifest(self.settings.manifest_path)

    @cached_property
    def engine(self) -> Engine:
        engine = open_store(self.settings.database_url)
        with transaction(engine) as session:
            owners = {name: (d.agent, d.owner) for name, d in self.manifest.domains.items()}
            ownership.seed(session, owners, now=self.now())
        return engine

    @cached_property
    def interactions(self) -> Engine:
        """Where Slack requests wait for the worker (store/interactions.py)."""
        return open_interactions(self.settings.database_url, self.engine)

    def slack_app(self, **options: Any) -> SlackApp:
        """The Slack app on this runtime's store and manifest (`options`: see create_app)."""
        from switchboard.bot.app import (
            create_app,  # Bolt and the views, only for commands that need them
        )

        return create_app(
            self.settings,
            self.engine,
            self.manifest,
            clock=self.now,
            interactions=self.interactions,
            **options,
        )

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in the agency's time zone: it decides which day's data is complete."""
        return self.now().astimezone(self.manifest.tz).date()
