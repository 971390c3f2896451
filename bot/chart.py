"""The briefing's pacing chart: each account's deviation from plan, sorted, with the
alerting bands shaded. A PNG, drawn with matplotlib's Agg backend (no display needed).

matplotlib is imported here, when a chart is drawn, never at start-up: it takes a second.
Accounts are drawn as one collection of lines (`vlines`), not a bar patch each, so an
agency of thousands of accounts draws in milliseconds.
"""

from __future__ import annotations

import io
from decimal import Decimal

from switchboard.agents.pacing import PaceStatus, PacingReport
from switchboard.store.manifest import Pacing

_COLOURS = {PaceStatus.OVER: "#d1242f", PaceStatus.UNDER: "#bf8700", PaceStatus.DARK: "#57606a"}
_ON_TRACK = "#1f883d"


def render_chart(report: PacingReport, thresholds: Pacing) -> bytes:
    """The chart as PNG bytes; the same report always gives the same bytes."""
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot global state

    paced = sorted(
        (a for a in report.accounts if a.deviation_pct is not None),
        key=lambda a: a.deviation_pct or Decimal(0),
    )
    values = [float(a.deviation_pct or 0) for a in paced]
    colours = [_COLOURS.get(a.status, _ON_TRACK) for a in paced]
    over, under = float(thresholds.over_pct), float(thresholds.under_pct)
    top = max([over * 1.5, *values]) + 5
    bottom = min([-under * 1.5, *values]) - 5

    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.add_subplot()
    axes.axhspan(over, top, color="#d1242f", alpha=0.08, linewidth=0)
    axes.axhspan(bottom, -under, color="#bf8700", alpha=0.08, linewidth=0)
    axes.axhline(0, color="#57606a", linewidth=0.8)
    if values:
        width = max(0.5, min(6.0, 400 / len(values)))
        axes.vlines(range(len(values)), 0, values, colors=colours, linewidth=width)
    axes.set_xlim(-1, max(len(values), 1))
    axes.set_ylim(bottom, top)
    axes.set_xticks([])
    axes.set_ylabel("deviation from plan (%)")
    axes.set_title(
        f"Pacing {report.as_of}: {len(values)} accounts, sorted "
        f"(shaded: over +{thresholds.over_pct}% / under -{thresholds.under_pct}%)",
        fontsize=9,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    # No creation metadata: the same chart is the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
