"""The autonomy gate applied: an agent output either goes its normal way, or (in shadow)
becomes a "Would have ..." post in the shadow channel, or (paused) nothing.

Every place an agent's work would reach a person asks `gate` first, in the transaction
that would have acted, so the choice and its record commit together.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from switchboard.agents.autonomy import Output, Route, route
from switchboard.handlers.views import autonomy as views
from switchboard.store import agent_state, shadow
from switchboard.store.manifest import AgencyManifest
from switchboard.store.outbox import OutboxKind, enqueue
from switchboard.store.shadow import ShadowOutput

log = logging.getLogger(__name__)


def post_key(output_id: int) -> str:
    return f"shadow:{output_id}"


def gate(session: Session, output: Output, *, manifest: AgencyManifest, now: datetime) -> bool:
    """True when the caller should act (supervised or autonomous). In shadow, the output is
    kept once and posted to the shadow channel; paused, it is dropped with a log line (a
    paused agent's runs are skipped before they get here; this covers one that was
    paused while it ran)."""
    decision = route(agent_state.level(session, output.agent))
    if decision is Route.ACT:
        return True
    if decision is Route.HOLD:
        log.info("agent %s is paused: not done: %s", output.agent, output.what)
        return False
    keep(session, output, manifest=manifest, now=now)
    return False


def keep(session: Session, output: Output, *, manifest: AgencyManifest, now: datetime) -> bool:
    """Keep a shadow agent's output and post it to the shadow channel; False if it was kept
    before (an agent that runs every hour says a thing once)."""
    kept = shadow.add_output(
        session,
        ShadowOutput(
            key=f"{output.agent}:{output.key}",
            agent=output.agent,
            kind=output.kind.value,
            what=output.what,
            for_whom=output.for_whom,
            why=output.why,
            detail=output.detail,
            created_at=now,
        ),
    )
    if kept is None:
        return False
    enqueue(
        session,
        key=post_key(kept.id),  # type: ignore[arg-type]
        kind=OutboxKind.POST,
        channel=manifest.channels.shadow,
        payload=views.shadow_message(kept, [], manifest.tz).payload(),
        agent=output.agent,
        now=now,
    )
    return True


def refresh(
    session: Session, output: ShadowOutput, *, manifest: AgencyManifest, now: datetime
) -> None:
    """Re-render the shadow post after a verdict."""
    reviews = shadow.reviews(session, output.id)  # type: ignore[arg-type]
    key = post_key(output.id)  # type: ignore[arg-type]
    enqueue(
        session,
        # Named by the newest review: two verdicts committed at once each re-render.
        key=f"{key}:review:{reviews[-1].id if reviews else 0}",
        kind=OutboxKind.UPDATE,
        channel=manifest.channels.shadow,
        payload=views.shadow_message(output, reviews, manifest.tz).payload(),
        parent_key=key,
        agent=output.agent,
        now=now,
    )
