"""Portfolio cost per lead: the median, because a mean hides the one client that is off.

Outliers by the modified z-score (Iglewicz and Hoaglin): 0.6745 (x - median) / MAD, beyond
3.5 either way. When more than half the clients share one CPL the MAD is 0; then the mean
absolute deviation, scaled by 1.2533 to be comparable, stands in for it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from statistics import median
from typing import Any, Protocol

from pydantic import BaseModel

Z_FACTOR = Decimal("0.6745")
MEAN_AD_FACTOR = Decimal("1.2533")
OUTLIER_Z = Decimal("3.5")
CENT = Decimal("0.01")


class _ClientSpend(Protocol):
    client_id: str
    spend_to_date: Decimal
    leads_to_date: int


class Portfolio(BaseModel):
    median_cpl: Decimal | None
    mean_cpl: Decimal | None
    cpl_outliers: list[str]

    def to_json(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))

        return {
            "median_cpl": money(self.median_cpl),
            "mean_cpl": money(self.mean_cpl),
            "cpl_outliers": self.cpl_outliers,
        }


def modified_z_scores(values: dict[str, Decimal]) -> dict[str, Decimal]:
    """Modified z-score of each value; empty when every value is the same."""
    if not values:
        return {}
    center = median(values.values())
    deviations = [abs(v - center) for v in values.values()]
    mad = median(deviations)
    if mad > 0:
        scale = mad / Z_FACTOR  # z = 0.6745 (x - median) / MAD
    else:
        mean_ad = sum(deviations, Decimal(0)) / len(deviations)
        if mean_ad == 0:
            return {}
        scale = MEAN_AD_FACTOR * mean_ad
    return {key: (value - center) / scale for key, value in values.items()}


def portfolio_cpl(accounts: Iterable[_ClientSpend]) -> Portfolio:
    """CPL per client over every client with spend and at least one lead, any status."""
    spend: dict[str, Decimal] = defaultdict(Decimal)
    leads: dict[str, int] = defaultdict(int)
    for account in accounts:
        spend[account.client_id] += account.spend_to_date
        leads[account.client_id] += account.leads_to_date
    cpl = {c: spend[c] / leads[c] for c in sorted(spend) if spend[c] > 0 and leads[c] > 0}
    if not cpl:
        return Portfolio(median_cpl=None, mean_cpl=None, cpl_outliers=[])
    scores = modified_z_scores(cpl)
    return Portfolio(
        median_cpl=median(cpl.values()),
        mean_cpl=sum(cpl.values(), Decimal(0)) / len(cpl),
        cpl_outliers=[c for c, z in scores.items() if abs(z) > OUTLIER_Z],
    )
