"""`switchboard check [MANIFEST] [--json]`: the coordination score, for people and for CI.

Exit status: 0 with no gaps, 1 with any (so an agency's CI can stop on one), 2 when the
manifest cannot be read, is not a mapping, or has a problem that maps to no gap code (one
line each, starting with the manifest's path).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.text import Text

from switchboard.agents.coordination import Coordination, check
from switchboard.bot.terminal import plain
from switchboard.store.manifest import ManifestError, read_manifest_yaml

NO_GAPS, GAPS, PROBLEMS = 0, 1, 2


def run_check(path: Path, *, now: datetime, as_json: bool, out: Console, err: Console) -> int:
    """Check the manifest at `path` as of `now`, print the result; the exit status."""
    try:
        result = check(read_manifest_yaml(path), source=str(path), now=now)
    except ManifestError as error:
        for problem in error.problems:
            err.print(f"{error.source}: {problem}", markup=False, highlight=False)
        return PROBLEMS
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        out.print(report(result, source=str(path)), soft_wrap=True)
    return GAPS if result.gaps else NO_GAPS


def report(result: Coordination, *, source: str, indent: str = "") -> Text:
    """The score, then each gap: code and key path, what is wrong, how to fix it.

    Every value from the manifest goes through `plain()`: never markup, controls visible.
    """
    count = len(result.gaps)
    gaps = "no gaps" if not count else f"{count} gap" + ("s" if count > 1 else "")
    style = "bold green" if not count else "bold red"
    lines = [
        Text.assemble(plain(source), ": coordination score ", (f"{result.score}/100", style))
        + Text(f", {gaps}")
    ]
    for gap in result.gaps:
        lines.append(Text.assemble(plain(gap.code, "bold"), "  ", plain(gap.path, "cyan")))
        lines.append(Text.assemble("  ", plain(gap.message)))
        lines.append(Text.assemble("  fix: ", plain(gap.fix, "green")))
    return Text("\n").join(Text(indent) + line for line in lines)
