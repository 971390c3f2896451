"""Build small agencies for tests as CSV text, loaded through the real importer."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from switchboard.store.csv_import import import_files
from switchboard.store.engine import transaction

IMPORTED_AT = datetime(2026, 3, 16, 13, 0, tzinfo=UTC)
HEADERS = {
    "clients.csv": ["client_id", "name", "status"],
    "ad_accounts.csv": ["account_id", "client_id", "platform", "name", "currency", "timezone"],
    "budgets.csv": ["account_id", "month", "amount", "effective_from"],
    "spend.csv": ["account_id", "date", "spend", "leads"],
    "exclusions.csv": ["account_id", "reason", "starts", "ends"],
}


class AgencyBuilder:
    def __init__(self) -> None:
        self.rows: dict[str, list[list[str]]] = defaultdict(list)
        self._clients: set[str] = set()

    def client(
        self, client_id: str, status: str = "active", *, name: str | None = None
    ) -> AgencyBuilder:
        self._clients.add(client_id)
        self.rows["clients.csv"].append([client_id, name or f"Client {client_id}", status])
        return self

    def account(
        self,
        account_id: str,
        client_id: str = "C1",
        *,
        name: str | None = None,
        currency: str = "USD",
    ) -> AgencyBuilder:
        if client_id not in self._clients:
            self.client(client_id)
        self.rows["ad_accounts.csv"].append(
            [account_id, client_id, "google_ads", name or f"Account {account_id}", currency, "UTC"]
        )
        return self

    def budget(
        self, account_id: str, month: str, amount: str, effective_from: str = ""
    ) -> AgencyBuilder:
        self.rows["budgets.csv"].append([account_id, month, amount, effective_from])
        return self

    def spend(
        self, account_id: str, day: date | str, amount: str | Decimal, leads: int | str = ""
    ) -> AgencyBuilder:
        self.rows["spend.csv"].append([account_id, str(day), str(amount), str(leads)])
        return self

    def spend_each_day(
        self, account_id: str, first: date, last: date, amount: str, leads: int | str = ""
    ) -> AgencyBuilder:
        day = first
        while day <= last:
            self.spend(account_id, day, amount, leads)
            day += timedelta(days=1)
        return self

    def exclusion(
        self, account_id: str, reason: str, starts: str = "", ends: str = ""
    ) -> AgencyBuilder:
        self.rows["exclusions.csv"].append([account_id, reason, starts, ends])
        return self

    def files(self) -> dict[str, bytes]:
        out = {}
        for name, rows in self.rows.items():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(HEADERS[name])
            writer.writerows(rows)
            out[name] = buffer.getvalue().encode()
        return out

    def load(self, engine: Engine, *, now: datetime = IMPORTED_AT) -> None:
        """Import the rows as of `now`, or of the last day of spend if that is later: a
        scenario's month of spend is imported as of the day it ends."""
        days = [date.fromisoformat(row[1]) for row in self.rows.get("spend.csv", [])]
        today = max([now.astimezone(UTC).date(), *days])
        with transaction(engine) as session:
            import_files(session, self.files(), ZoneInfo("UTC"), now=now, today=today)
        self.rows.clear()
