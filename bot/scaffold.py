"""`switchboard init DIR`: a commented agency manifest and empty CSV files, ready to fill.

The manifest is a working example with a comment on every section, and each CSV file holds
only its header row, in the importer's column order. Nothing is overwritten unless asked:
an existing file stops the whole run before anything is written.
"""

from __future__ import annotations

import csv
import io
import shlex
from pathlib import Path

from switchboard.store.csv_import import FILES

MANIFEST_NAME = "agency.yaml"
DATA_DIR = "data"

MANIFEST_TEMPLATE = """\
# The agency manifest: who owns what, how far agents may act, who is told when.
# Every key is described in docs/manifest.md of the Switchboard repository. Any
# switchboard command checks this file first and names the key path of every problem.
# `switchboard check agency.yaml` scores its coordination out of 100 and lists each gap
# (a domain without an owner, an escalation that reaches nobody, ...) with its fix.
# Replace the example names and ids with yours. A Slack user id starts with U (in Slack:
# the person's profile, then the ... menu, Copy member ID); a channel id starts with C (the
# channel's name, then the bottom of About).

# Your agency's name, as messages show it.
agency: Northwind Growth

# Your time zone (IANA name). It decides what "today" is: pacing reads data through
# yesterday. Schedules and business hours are in this zone too.
timezone: America/New_York

# The Slack channels Switchboard posts to, by id. Invite the bot to each one.
channels:
  briefing: C0BRIEFING    # the morning briefing (planned)
  alerts: C0ALERTS        # pacing alerts, and messages that could not be delivered
  approvals: C0APPROVALS  # client email drafts waiting for approval (planned)
  shadow: C0SHADOW        # what agents in shadow mode would have done (planned)

# The people Switchboard works with. roles: admin (may acknowledge and reassign anything),
# approver (approves client email), lead (a team lead). `lead` names a person's own lead,
# who may acknowledge the alerts of the domains that person owns.
people:
  - slack_id: U0ADMIN
    name: Maya
    roles: [admin, approver]
  - slack_id: U0LEAD
    name: Leo
    roles: [lead, approver]
    lead: U0ADMIN      # Leo reports to Maya: escalations to the lead of Leo's domains reach her
  - slack_id: U0AM
    name: Ana
    roles: []
    lead: U0LEAD

# One seat, one owner: each kind of data has exactly one owning agent and one person who
# owns it. This is where ownership starts; `/ops reassign DOMAIN @person` moves it later.
domains:
  ad_performance:
    agent: pacing
    owner: U0AM
    sources: [google_ads, meta_ads]
  project_status:
    agent: deadlines
    owner: U0LEAD
    sources: [accelo, asana]
  client_comms:
    agent: drafting
    owner: U0AM
    sources: [inbox]

# The agents. autonomy: shadow (posts what it would do, for review), supervised (a person
# approves each action), autonomous (acts and logs it) or paused (does nothing). New agents
# start in shadow. The drafting agent can never be autonomous.
agents:
  pacing:
    autonomy: supervised
    shadow_since: 2026-01-05
    escalation: spend           # a policy under escalation_policies
    cross_checks: [client_status, exclusions, data_freshness]
    schedule: "0 * * * *"       # when `switchboard run` runs it (cron); hourly if left out
  deadlines:
    autonomy: shadow
    shadow_since: 2026-03-02
    escalation: delivery
  drafting:
    autonomy: supervised
    shadow_since: 2026-01-05
    escalation: client

# Who is told when an alert is not acknowledged, level by level. notify: owner, lead,
# "channel:alerts" (a key of channels) or a person's Slack id; via: dm; after: how long after
# the previous level was delivered (30m, 2h, 1d) or next_business_day. Levels run in
# business hours unless anytime: true. See docs/manifest.md.
escalation_policies:
  spend:
    - {notify: owner, via: dm, after: 0m}
    - {notify: lead, via: dm, after: 2h}
    - {notify: "channel:alerts", after: next_business_day}
  delivery:
    - {notify: owner, via: dm, after: 0m}
    - {notify: lead, via: dm, after: 4h}
  client:
    - {notify: owner, via: dm, after: 0m, anytime: true}   # anytime: outside business hours too
    - {notify: lead, via: dm, after: 30m}

# When spend is off pace, in percent of the plan to date (never in dollars). Before day
# min_days of the month an account only alerts when already at early_alert_pct of plan.
pacing:
  over_pct: 30
  under_pct: 30
  min_days: 3
  early_alert_pct: 200

# When the morning briefing is posted (cron, agency time; the briefing is planned).
briefing:
  cron: "30 8 * * mon-fri"

# Working hours, for escalations. Keep the times in quotes.
business_hours:
  start: "09:00"
  end: "17:00"
  days: [mon, tue, wed, thu, fri]

# Client email approvals: how long a draft waits, and at most how many sends an hour.
approvals:
  expire_after: 24h
  sends_per_hour: 50

# When an agent may leave shadow mode: days in shadow, outputs reviewed, % agreed with.
shadow:
  min_days: 14
  min_reviewed: 20
  min_agreement_pct: 80

# Writing rules a client asked to relax, by client id (rules: dash, placeholder,
# ai_disclosure, cheerful_complaint, hedge, ai_phrase, inbound_instructions).
writing:
  allow: {}
"""


class ScaffoldError(Exception):
    """`init` cannot go on; the message is one line naming the file."""


def header_row(columns: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(columns)
    return out.getvalue()


def planned_files(directory: Path) -> dict[Path, str]:
    """Every file `init` writes, with its content."""
    files = {directory / MANIFEST_NAME: MANIFEST_TEMPLATE}
    for spec in FILES:
        files[directory / DATA_DIR / spec.name] = header_row(spec.columns)
    return files


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the manifest and the CSV files; the paths written, in order.

    Raises ScaffoldError, having written nothing, when a file exists (unless `force`)
    or the folder cannot be made.
    """
    files = planned_files(directory)
    for folder in (directory, directory / DATA_DIR):
        if folder.exists() and not folder.is_dir():
            raise ScaffoldError(f"{folder} is a file, not a folder; nothing was written")
    if not force:
        existing = [path for path in files if path.exists() or path.is_symlink()]
        if existing:
            others = len(existing) - 1
            also = f" (and {others} more of the files init writes)" if others else ""
            raise ScaffoldError(
                f"{existing[0]} already exists{also}; nothing was written (--force overwrites them)"
            )
    try:
        (directory / DATA_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScaffoldError(f"cannot create {directory / DATA_DIR}: {error.strerror}") from None
    written = []
    for path, content in files.items():
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as error:
            raise ScaffoldError(f"cannot write {path}: {error.strerror}") from None
        written.append(path)
    return written


def next_steps(directory: Path) -> str:
    """What to do after `init`, with the commands for this folder."""
    manifest = shlex.quote(str(directory / MANIFEST_NAME))
    data = shlex.quote(str(directory / DATA_DIR))
    return "\n".join(
        [
            "Next steps:",
            f"  1. Edit {manifest}: your agency, time zone, Slack channel and user ids, and",
            "     the owner of each domain (every key: docs/manifest.md).",
            f"  2. Fill the CSV files in {data}, one row per line under the header (every",
            "     column: docs/data.md). Files you do not use can stay as they are.",
            f"  3. Import them:  switchboard --manifest {manifest} import {data}",
            f"  4. See pacing:   switchboard --manifest {manifest} pacing",
            "  To see Switchboard work on a sample agency first: switchboard demo",
        ]
    )
