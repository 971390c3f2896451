"""Many rows into one table, in the caller's transaction, the dialect's fastest way.

SQLAlchemy's executemany prepares every parameter of every row in Python, which costs more
than SQLite's own work on the rows (bench/README.md, "CSV import"). So the values are turned
into what the driver takes by the columns' own bind processors, once per distinct value, and
handed over in bulk: `executemany` of an upsert on SQLite; on PostgreSQL `COPY` into a
temporary table and one `INSERT ... SELECT ... ON CONFLICT` from it.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, column, or_, select, table
from sqlmodel import Session

from switchboard.store.engine import is_postgres, upsert_insert

CHUNK = 50_000  # rows per executemany, and between two progress reports


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while many rows are built.

    Each full collection walks every live object, so hundreds of thousands of rows, which form
    no cycles, would be walked again and again for nothing.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _bound(column_: Column[Any], connection: Connection, values: Sequence[Any]) -> Sequence[Any]:
    """`values` as the driver takes them: converted by the column type's bind processor."""
    process = column_.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    if process is None:
        return values
    # A column of a million rows may hold a few thousand accounts or a few hundred days, each
    # one object (store/csv_read.py validates each distinct cell once): those are converted
    # once. Telling them apart by identity costs little; hashing a million amounts does not.
    ids = list(map(id, values))
    distinct = dict(zip(ids, values, strict=True))
    if len(distinct) > len(ids) // 2:
        return list(map(process, values))
    converted = {key: process(value) for key, value in distinct.items()}
    return list(map(converted.__getitem__, ids))


@dataclass(frozen=True)
class _Write:
    """Rows into `table` over `connection`: their columns `names`, matched on `keys`."""

    connection: Connection
    table: Table
    names: Sequence[str]
    keys: Sequence[str]

    def upsert_statement(self, source: Any) -> Any:
        """INSERT (of `source`: a SELECT, or None for one row of parameters) ... ON CONFLICT:
        a row whose key is stored replaces it, unless every value is the same (then it is
        not counted)."""
        insert = upsert_insert(self.connection, self.table)
        if source is None:
            statement = insert.values({name: bindparam(name) for name in self.names})
        else:
            statement = insert.from_select(list(self.names), source)
        updates = {name: statement.excluded[name] for name in self.names if name not in self.keys}
        differs = or_(*(self.table.c[n].is_distinct_from(value) for n, value in updates.items()))
        return statement.on_conflict_do_update(
            index_elements=list(self.keys), set_=updates, where=differs
        )


def _executemany(
    write: _Write, columns: Sequence[Sequence[Any]], progress: Callable[[int], None]
) -> int:
    compiled = write.upsert_statement(None).compile(dialect=write.connection.dialect)
    position = {name: i for i, name in enumerate(write.names)}
    order = list(compiled.positiontup)
    rows = list(zip(*(columns[position[name]] for name in order), strict=True))
    # In key order, the upsert visits each page of the primary key's index once; in the
    # file's order (day by day, every account each day), all of them every day.
    rows.sort(key=itemgetter(*(order.index(k) for k in write.keys)))
    changed = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        # SQLite counts a row the WHERE of the upsert left alone as no change.
        changed += write.connection.exec_driver_sql(str(compiled), chunk).rowcount
        progress(min(start + CHUNK, len(rows)))
    return changed


def _copy(write: _Write, columns: Sequence[Sequence[Any]], progress: Callable[[int], None]) -> int:
    connection = write.connection
    quote = connection.dialect.identifier_preparer.quote
    staging = f"import_{write.table.name}"
    listed = ", ".join(quote(name) for name in write.names)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {quote(staging)} (LIKE {quote(write.table.name)})"
            " ON COMMIT DROP"
        )
        rows = list(zip(*columns, strict=True))
        with cursor.copy(f"COPY {quote(staging)} ({listed}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for start in range(0, len(rows), CHUNK):
                for row in rows[start : start + CHUNK]:
                    copy.write_row(row)
                progress(min(start + CHUNK, len(rows)) // 2)  # the copy is the first half
    finally:
        cursor.close()
    staged = select(*(column(name) for name in write.names)).select_from(table(staging))
    statement = write.upsert_statement(staged).execution_options(preserve_rowcount=True)
    changed = connection.execute(statement).rowcount
    connection.exec_driver_sql(f"DROP TABLE {quote(staging)}")  # the next group stages anew
    progress(len(rows))
    return changed


def upsert(
    session: Session,
    target: Table,
    columns: Mapping[str, Sequence[Any]],
    keys: Sequence[str],
    *,
    by: Sequence[Hashable] | None = None,
    progress: Callable[[int], None] = lambda _done: None,
) -> Counter[Hashable]:
    """Insert or replace the rows given column by column (`columns[name][i]` is row i's),
    matched on `keys`; how many were new or changed, per group of `by` (a group per row).

    A row equal to the stored one is left alone, so it is not counted: that is how an import
    knows which rows it really brought. `progress` is told the rows written so far.
    """
    rows = len(next(iter(columns.values()), ()))
    changed: Counter[Hashable] = Counter()
    if not rows:
        return changed
    connection = session.connection()
    write = _Write(connection, target, list(columns), keys)
    bound = [_bound(target.c[name], connection, values) for name, values in columns.items()]
    bulk = _copy if is_postgres(connection) else _executemany
    groups = [None] if by is None else list(dict.fromkeys(by))
    written = 0
    for group in groups:
        part = bound
        if by is not None and len(groups) > 1:
            wanted = [g == group for g in by]
            part = [list(compress(values, wanted)) for values in bound]
        changed[group] = bulk(write, part, lambda done, before=written: progress(before + done))
        written += len(part[0])
    return changed
