"""`switchboard agents`: run the agents, list their autonomy, and turn the dial as a named
person (the same parser, permission and work as `/ops`)."""

from __future__ import annotations

from typing import Annotated

import typer

from switchboard.bot.cli_common import (
    PLAIN,
    DateOption,
    JsonFlag,
    err,
    out,
    parse_date,
    runtime,
    show_stored,
)

agents_app = typer.Typer(
    help="Run the agents, see their autonomy, pause, resume, promote or demote them.",
    no_args_is_help=True,
    **PLAIN,
)


ByOption = Annotated[
    str,
    typer.Option(
        "--by",
        metavar="PERSON",
        help="Who asks: a Slack user id or a name in the manifest; checked against its roles, "
        "as a click is.",
    ),
]


def change_agent(ctx: typer.Context, text: str, by: str) -> None:
    """Apply `/ops TEXT` as `by` would from Slack: the same parser, permission and work."""
    from switchboard.bot.terminal import slack_to_terminal
    from switchboard.handlers.commands import Origin
    from switchboard.handlers.ops import UsageError, parse, parse_person
    from switchboard.handlers.registry import OPS, WORK
    from switchboard.handlers.work import apply

    rt = runtime(ctx)
    now = rt.now()
    try:  # a Slack id, or a name from the manifest, as `/ops` takes a person
        user = parse_person(by, rt.manifest)
    except UsageError:
        raise typer.BadParameter(
            f"'{by}' is neither a Slack user id (like U0ADMIN) nor a person in the manifest",
            param_hint="--by",
        ) from None
    try:
        command = parse(text, OPS, rt.manifest, Origin(user=user, asked_at=now))
    except UsageError as error:
        err.print(slack_to_terminal(str(error), {}), markup=False, highlight=False)
        raise typer.Exit(2) from None
    assert command is not None  # the text names a subcommand
    replies = apply(rt.engine, rt.manifest, WORK[command.kind], command, now=now, reply_key=None)
    people = {person.slack_id: person.name for person in rt.manifest.people}
    for reply in replies:
        console = err if reply.refused else out
        console.print(slack_to_terminal(reply.message.text, people), markup=False, highlight=False)
    if any(reply.refused for reply in replies):
        raise typer.Exit(1)


AgentArgument = Annotated[
    str, typer.Argument(metavar="AGENT", help="The agent's name (pause and resume: or all).")
]


@agents_app.command("run")
def agents_run(
    ctx: typer.Context,
    as_of: DateOption = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Run only this agent.")] = None,
) -> None:
    """Run the agents for a date and record their findings (idempotent per date)."""
    from switchboard.bot.agent_runs import RUNNABLE, run_agents

    rt = runtime(ctx)
    if agent is not None and agent not in RUNNABLE:
        raise typer.BadParameter(
            f"'{agent}' is not a runnable agent ({', '.join(RUNNABLE)})", param_hint="--agent"
        )
    runs = run_agents(rt.engine, rt.manifest, as_of=parse_date(as_of, rt), now=rt.now(), only=agent)
    for run in runs:
        out.print(run.summary(), highlight=False)


@agents_app.command("list")
def agents_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Each agent's level, domain and shadow record (days, outputs, reviewed, agreement)."""
    from switchboard.agents.autonomy import statuses
    from switchboard.bot.console_views import agents_table

    rt = runtime(ctx, store=False)
    show_stored(
        ctx,
        as_json=as_json,
        rows=lambda session: statuses(session, rt.manifest, today=rt.today()),
        as_dict=lambda status: status.model_dump(mode="json"),
        table=lambda rows, _tz, _names: agents_table(rows),
    )


@agents_app.command("pause")
def agents_pause(ctx: typer.Context, name: AgentArgument, by: ByOption) -> None:
    """Kill switch: nothing of the agent runs or is sent until it is resumed (admins)."""
    change_agent(ctx, f"pause {name}", by)


@agents_app.command("resume")
def agents_resume(ctx: typer.Context, name: AgentArgument, by: ByOption) -> None:
    """Back to the level held before the pause; held messages go out (admins)."""
    change_agent(ctx, f"resume {name}", by)


@agents_app.command("promote")
def agents_promote(
    ctx: typer.Context,
    name: AgentArgument,
    by: ByOption,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (needed to become autonomous).")
    ] = None,
) -> None:
    """One step up: shadow → supervised (when its shadow numbers are met) → autonomous."""
    change_agent(ctx, f"promote {name} {reason or ''}".strip(), by)


@agents_app.command("demote")
def agents_demote(ctx: typer.Context, name: AgentArgument, by: ByOption) -> None:
    """One step down; back to shadow restarts its time in shadow (admins)."""
    change_agent(ctx, f"demote {name}", by)
