"""The coordination score: how well an agency manifest guards against the organisational
failures of agent teams, before they cost anything.

Most failures of agent teams are organisational, not technical: two agents owning one
domain, an escalation policy that reaches nobody, thresholds in dollars. `find_gaps`
(agents/manifest_gaps.py) lists each structural gap with its pinned code; the score starts
at 100 and each gap subtracts its code's weight (`WEIGHTS`), down to 0. Whatever the strict
manifest (`store/manifest.py`) refuses that is no gap is a problem: `check` raises
ManifestError with those.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from switchboard.agents.manifest_gaps import Gap, GapCode, find_gaps
from switchboard.store.manifest import ManifestError, parse_manifest

# Heaviest where the failure reaches a client or nobody at all; lightest where it is clutter.
WEIGHTS: dict[GapCode, int] = {
    GapCode.EMAIL_UNAPPROVED: 40,  # mail to a client with no person's approval
    GapCode.POLICY_NO_HUMAN: 30,  # an escalation that can never reach a person
    GapCode.DOMAIN_NO_OWNER: 20,  # nobody answers for the domain's alerts
    GapCode.MONEY_THRESHOLD: 20,  # noise on big accounts, silence on small ones
    GapCode.UNPROMOTED_AGENT: 20,  # acting without the shadow record behind it
    GapCode.DOMAIN_NO_AGENT: 15,
    GapCode.AGENT_OWNS_TWO: 15,  # one agent's two answers for one seat's questions
    GapCode.SINGLE_SOURCE_ALERTING: 15,  # alerts about offboarding clients, trust erodes
    GapCode.POLICY_MISSING: 15,  # the agent's alerts escalate to nobody
    GapCode.POLICY_SINGLE_LEVEL: 10,  # no fallback when the first person is away
    GapCode.LEAD_MISSING: 10,  # a level that names nobody, skipped at send time
    GapCode.AGENT_OWNS_NOTHING: 5,  # an agent nobody answers for
}


class Coordination(BaseModel):
    score: int
    gaps: list[Gap]

    def to_json(self) -> dict[str, Any]:
        """`{"score": N, "gaps": [{"code", "path", "message", "fix"}]}`."""
        return self.model_dump(mode="json")


def score(gaps: list[Gap]) -> int:
    return max(0, 100 - sum(WEIGHTS[gap.code] for gap in gaps))


def coordination(data: Any, *, now: datetime) -> Coordination:
    """The score and gaps of manifest data (any shape; what is not a gap is ignored here)."""
    gaps = find_gaps(data, now=now)
    return Coordination(score=score(gaps), gaps=gaps)


def check(data: Any, *, source: str, now: datetime) -> Coordination:
    """`coordination`, or ManifestError listing the problems that map to no gap code
    (a document that is not a mapping is one)."""
    result = coordination(data, now=now)
    problems = unmapped_problems(data, {gap.path for gap in result.gaps})
    if problems:
        raise ManifestError(source, problems)
    return result


def unmapped_problems(data: Any, gap_paths: set[str]) -> list[str]:
    """The strict manifest's problems (`key.path: problem`) at no gap's path.

    pydantic's problems hide the cross-reference checks until the shape is right, so the
    keys of problems that are gaps are taken out and the rest checked again, until what is
    left is a problem no gap covers or nothing at all. Each round removes a key: it ends.
    """
    data = copy.deepcopy(data)
    while True:
        try:
            parse_manifest(data)
            return []
        except ManifestError as error:
            problems = error.problems
        paths = [problem.partition(": ")[0] for problem in problems]
        unmapped = [
            problem for problem, path in zip(problems, paths, strict=True) if path not in gap_paths
        ]
        if unmapped:
            return unmapped
        if not [path for path in paths if _remove(data, path)]:
            return []


def _remove(data: Any, path: str) -> bool:
    """Delete the deepest mapping key along `path` that exists (a missing key's parent)."""
    node, deepest = data, None
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            deepest = (node, part)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
    if deepest is None:
        return False
    parent, key = deepest
    del parent[key]
    return True
