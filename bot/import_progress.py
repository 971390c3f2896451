"""The progress bar of `switchboard import`: on a terminal only.

A million spend rows take seconds to check and write; without a bar a person cannot tell an
import that works from one that hangs. Piped or redirected, nothing is drawn: the output is
the counts and the problems, as a script or a test reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from switchboard.store.csv_read import Progress, quiet


@contextmanager
def progress_bar(console: Console) -> Iterator[Progress]:
    """A Progress for `import_files` that draws a bar on `console`, if it is a terminal.

    The bar is gone once the import ends (transient), so only the counts stay on screen.
    """
    if not console.is_terminal:
        yield quiet
        return
    # Loaded for a terminal only: an import in a pipe or a test does without it.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)
        shown = ""

        def report(step: str, done: int, total: int) -> None:
            nonlocal shown
            bar.update(task, description=step, completed=done, total=total or None)
            if step != shown:  # each step drawn at least once, however quick
                shown = step
                bar.refresh()

        yield report
