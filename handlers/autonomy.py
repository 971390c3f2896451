"""The autonomy dial from Slack and the CLI: `/ops agents`, `pause`, `resume`, `promote`,
`demote`, and the Agree / Disagree buttons on a shadow agent's "Would have ..." posts.

Level changes are admins' (the CLI checks its `--by` person the same way); a verdict is for
the agent's domain owner, leads, approvers and admins, once per person and output.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import Field
from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from sqlmodel import Session

from switchboard.agents import autonomy
from switchboard.agents.autonomy import DialError
from switchboard.handlers.clicks import queued_click
from switchboard.handlers.commands import Command, Notice, Origin
from switchboard.handlers.deps import Deps
from switchboard.handlers.modals import answer_modal, open_modal
from switchboard.handlers.ops import ECHO, Subcommand, UsageError, no_arguments
from switchboard.handlers.permissions import CHANGE_LEVEL, REVIEW_SHADOW, Rule, check
from switchboard.handlers.refs import NOTE_BLOCK, ActionId, CallbackId, ShadowRef
from switchboard.handlers.shadow_posts import refresh
from switchboard.handlers.slack_requests import (
    NOT_OURS,
    clicked,
    modal_ref,
    modal_value,
    origin_of,
    refuse_in_modal,
    request_key,
)
from switchboard.handlers.views import autonomy as views
from switchboard.handlers.views.text import escape, local_time
from switchboard.handlers.work import Reply, Work, WorkContext, refuse, registry, say
from switchboard.store import agent_state, shadow
from switchboard.store.agent_state import AgentState, Autonomy
from switchboard.store.engine import reading
from switchboard.store.manifest import AgencyManifest
from switchboard.store.ownership import DomainOwner
from switchboard.store.shadow import ShadowOutput, ShadowVerdict

EVERY_AGENT = "all"


class ListAgents(Command):
    kind: ClassVar[str] = "ops.agents"


class PauseAgent(Command):
    kind: ClassVar[str] = "agent.pause"
    rule: ClassVar[Rule | None] = CHANGE_LEVEL
    agent: str = Field(min_length=1, max_length=64)  # a name, or "all"


class ResumeAgent(Command):
    kind: ClassVar[str] = "agent.resume"
    rule: ClassVar[Rule | None] = CHANGE_LEVEL
    agent: str = Field(min_length=1, max_length=64)


class PromoteAgent(Command):
    kind: ClassVar[str] = "agent.promote"
    rule: ClassVar[Rule | None] = CHANGE_LEVEL
    agent: str = Field(min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class DemoteAgent(Command):
    kind: ClassVar[str] = "agent.demote"
    rule: ClassVar[Rule | None] = CHANGE_LEVEL
    agent: str = Field(min_length=1, max_length=64)


class ReviewShadow(Command):
    kind: ClassVar[str] = "shadow.review"
    output_id: int = Field(ge=1)
    verdict: ShadowVerdict
    note: str | None = Field(default=None, max_length=1000)


# -- parsing -------------------------------------------------------------------------------


def _agent_name(args: Sequence[str], manifest: AgencyManifest, usage: str, *, every: bool) -> str:
    if not args:
        raise UsageError(f"`/ops {usage}`: name the agent")
    name = args[0].lower()
    if every and name == EVERY_AGENT:
        return name
    if name not in manifest.agents:
        known = ", ".join(sorted(manifest.agents)) or "none"
        raise UsageError(f"'{args[0][:ECHO]}' is not an agent (agents: {known})")
    return name


def _one_name(command: type[PauseAgent | ResumeAgent | DemoteAgent], usage: str) -> Any:
    every = command is not DemoteAgent

    def parser(args: Sequence[str], manifest: AgencyManifest, origin: Origin) -> Command:
        if len(args) > 1:
            raise UsageError(f"`/ops {usage}` takes one agent name")
        return command(origin=origin, agent=_agent_name(args, manifest, usage, every=every))

    return parser


def _promote(args: Sequence[str], manifest: AgencyManifest, origin: Origin) -> Command:
    name = _agent_name(args, manifest, "promote AGENT [REASON]", every=False)
    reason = " ".join(args[1:]).strip() or None
    return PromoteAgent(origin=origin, agent=name, reason=reason[:500] if reason else None)


# -- the work ------------------------------------------------------------------------------


def _today(ctx: WorkContext, at: datetime) -> date:
    return ctx.manifest.today(at)


def _state(ctx: WorkContext, name: str) -> AgentState | list[Reply]:
    row = agent_state.get(ctx.session, name)
    return row if row is not None else refuse(f"The store knows no agent '{escape(name)}'.")


def _targets(ctx: WorkContext, name: str) -> list[AgentState]:
    if name == EVERY_AGENT:
        return agent_state.everyone(ctx.session)
    row = agent_state.get(ctx.session, name)
    return [row] if row else []


def list_agents(ctx: WorkContext, _command: ListAgents) -> list[Reply]:
    today = _today(ctx, ctx.now)
    return [Reply(views.agents_list(autonomy.statuses(ctx.session, ctx.manifest, today=today)))]


def pause(ctx: WorkContext, command: PauseAgent) -> list[Reply]:
    user, at = command.origin.user, command.origin.asked_at
    paused = []
    for row in _targets(ctx, command.agent):
        if row.autonomy is Autonomy.PAUSED:
            continue
        if agent_state.change_level(
            ctx.session,
            row.name,
            expected=row.autonomy,
            to=Autonomy.PAUSED,
            actor=user,
            now=at,
            paused_from=row.autonomy,
        ):
            paused.append(row.name)
    if not paused:
        return refuse(f"Nothing to pause: {_who(command.agent)} already paused.")
    mail = " New client mail waits, untriaged, for the resume." if "drafting" in paused else ""
    return say(
        f"Paused {', '.join(paused)}: nothing runs and nothing of theirs is sent until "
        f"`/ops resume`. Escalations already running and approved email still go out.{mail}"
    )


def resume(ctx: WorkContext, command: ResumeAgent) -> list[Reply]:
    user, at = command.origin.user, command.origin.asked_at
    resumed = []
    for row in _targets(ctx, command.agent):
        if row.autonomy is not Autonomy.PAUSED:
            continue
        # Paused from the start (the manifest said so): it earns trust in shadow first.
        back = row.paused_from or Autonomy.SHADOW
        since = {"shadow_since": _today(ctx, at)} if row.paused_from is None else {}
        if agent_state.change_level(
            ctx.session,
            row.name,
            expected=Autonomy.PAUSED,
            to=back,
            actor=user,
            now=at,
            paused_from=None,
            failures=0,
            **since,
        ):
            resumed.append(f"{row.name} ({back.value})")
    if not resumed:
        return refuse(f"Nothing to resume: {_who(command.agent)} not paused.")
    return say(f"Resumed {', '.join(resumed)}; what they had queued goes out now.")


def _who(name: str) -> str:
    return "every agent is" if name == EVERY_AGENT else f"{escape(name)} is"


def promote(ctx: WorkContext, command: PromoteAgent) -> list[Reply]:
    user, at = command.origin.user, command.origin.asked_at
    row = _state(ctx, command.agent)
    if not isinstance(row, AgentState):
        return row
    before = row.autonomy
    try:
        up = autonomy.promotion(
            ctx.session, row, ctx.manifest, today=_today(ctx, at), reason=command.reason
        )
    except DialError as error:
        return refuse(f"Not promoted: {escape(str(error))}.")
    if not agent_state.change_level(
        ctx.session,
        row.name,
        expected=before,
        to=up,
        actor=user,
        now=at,
        reason=command.reason,
        promoted_at=at,
    ):
        return refuse(f"{escape(row.name)} changed level meanwhile; look again with `/ops agents`.")
    return say(f"Promoted {escape(row.name)}: {before.value} → {up.value}.")


def demote(ctx: WorkContext, command: DemoteAgent) -> list[Reply]:
    user, at = command.origin.user, command.origin.asked_at
    row = _state(ctx, command.agent)
    if not isinstance(row, AgentState):
        return row
    before = row.autonomy
    try:
        down = autonomy.step_down(row.name, before)
    except DialError as error:
        return refuse(f"Not demoted: {escape(str(error))}.")
    # Back in shadow, the two weeks start again.
    values = {"shadow_since": _today(ctx, at)} if down is Autonomy.SHADOW else {}
    if not agent_state.change_level(
        ctx.session, row.name, expected=before, to=down, actor=user, now=at, **values
    ):
        return refuse(f"{escape(row.name)} changed level meanwhile; look again with `/ops agents`.")
    after = " Its outputs now go to the shadow channel only." if values else ""
    return say(f"Demoted {escape(row.name)}: {before.value} → {down.value}.{after}")


def may_review(
    session: Session, manifest: AgencyManifest, output: ShadowOutput, user: str
) -> str | None:
    """Why `user` may not give a verdict on `output`, or None if they may."""
    domain = manifest.domain_of(output.agent)
    row = session.get(DomainOwner, domain) if domain else None
    decision = check(REVIEW_SHADOW, user, manifest, owner=row.owner if row else None)
    return None if decision.allowed else decision.reason


def review(ctx: WorkContext, command: ReviewShadow) -> list[Reply]:
    user, at = command.origin.user, command.origin.asked_at
    output = ctx.session.get(ShadowOutput, command.output_id)
    if output is None:
        return refuse("That shadow output no longer exists.")
    if refusal := may_review(ctx.session, ctx.manifest, output, user):
        return refuse(refusal)
    note = (command.note or "").strip() or None
    recorded = shadow.review(
        ctx.session, output, reviewer=user, verdict=command.verdict, note=note, now=at
    )
    if recorded is None:
        earlier = shadow.verdict_of(ctx.session, output.id, user)  # type: ignore[arg-type]
        said = earlier.verdict.value if earlier else "given a verdict"
        when = f" at {local_time(earlier.at, ctx.tz)}" if earlier else ""
        return refuse(f"You already said {said}{when}; a second verdict changes nothing.")
    refresh(ctx.session, output, manifest=ctx.manifest, now=ctx.now)
    return say(f"Recorded: you {command.verdict.value} with shadow output #{output.id}.")


WORK = registry(
    Work(ListAgents, list_agents),
    Work(PauseAgent, pause),
    Work(ResumeAgent, resume),
    Work(PromoteAgent, promote),
    Work(DemoteAgent, demote),
    Work(ReviewShadow, review),
)
SUBCOMMANDS = (
    Subcommand("agents", "each agent's level, domain and shadow record", no_arguments(ListAgents)),
    Subcommand(
        "pause AGENT|all",
        "kill switch (admins): nothing runs or is sent until resumed",
        _one_name(PauseAgent, "pause AGENT|all"),
    ),
    Subcommand(
        "resume AGENT|all",
        "back to the level held before the pause (admins)",
        _one_name(ResumeAgent, "resume AGENT|all"),
    ),
    Subcommand(
        "promote AGENT [REASON]",
        "one step up the dial (admins); leaving shadow needs its numbers, autonomous a reason",
        _promote,
    ),
    Subcommand(
        "demote AGENT",
        "one step down the dial (admins); back to shadow restarts its two weeks",
        _one_name(DemoteAgent, "demote AGENT"),
    ),
)


def register(app: App, deps: Deps) -> None:
    app.action(ActionId.SHADOW_AGREE)(
        queued_click(
            deps,
            ShadowRef,
            lambda origin, ref, _body: ReviewShadow(
                origin=origin, output_id=ref.output_id, verdict=ShadowVerdict.AGREE
            ),
        )
    )

    def open_note(body: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        origin = origin_of(body, request.headers, deps.clock)
        ref = clicked(body, ShadowRef)
        with reading(deps.engine) as session:
            output = session.get(ShadowOutput, ref.output_id) if ref else None
            refusal = may_review(session, deps.manifest, output, origin.user) if output else None
        if output is None or refusal:
            deps.record(Notice(origin=origin, text=refusal or NOT_OURS), None)
            return
        open_modal(deps, client, body, views.disagree_modal(output), origin)

    # The modal opens from here, not from the worker's queue: a trigger_id lasts 3 seconds.
    app.action(ActionId.SHADOW_DISAGREE)(ack=lambda ack: ack(), lazy=[open_note])

    @app.view(CallbackId.SHADOW_DISAGREE)
    def on_disagree(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], request: BoltRequest
    ) -> None:
        ref = modal_ref(view, ShadowRef)
        if ref is None:
            refuse_in_modal(ack, NOTE_BLOCK, NOT_OURS)
            return
        origin = origin_of(body, request.headers, deps.clock)
        command = ReviewShadow(
            origin=origin,
            output_id=ref.output_id,
            verdict=ShadowVerdict.DISAGREE,
            note=(modal_value(view, NOTE_BLOCK) or "")[:1000] or None,
        )
        answer_modal(
            ack,
            deps.apply_now(command, request_key(body)),
            title="Disagree",
            error_block=NOTE_BLOCK,
        )
