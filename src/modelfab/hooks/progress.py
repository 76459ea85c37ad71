"""Rich progress: a line per stage with its time and cache hit, and a bar with an ETA while a
stage reports progress (boosting rounds, cross-validation folds)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from modelfab.pipeline.run import Hook, StageRecord


class ProgressHook(Hook):
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(file=sys.stderr)
        self.progress: Progress | None = None
        self.task = None

    def before_pipeline(self, run) -> None:  # noqa: ANN001
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self.progress.start()

    def before_stage(self, run, stage) -> None:  # noqa: ANN001
        self.task = self.progress.add_task(stage.name, total=None)

    def stage_progress(self, run, stage, done: float, total: float | None, note: str) -> None:  # noqa: ANN001
        self.progress.update(self.task, completed=done, total=total, description=f"{stage.name}: {note}")

    def after_stage(self, run, stage, record: StageRecord) -> None:  # noqa: ANN001
        self.progress.remove_task(self.task)
        status = "[dim]cached[/dim]" if record.cached else f"{record.seconds:6.2f} s"
        self.console.print(f"  [green]✓[/green] {stage.name:<10} {status}")

    def on_stage_error(self, run, stage, error: BaseException) -> None:  # noqa: ANN001
        self._stop()
        self.console.print(f"  [red]✗[/red] {stage.name}")

    def after_pipeline(self, run) -> None:  # noqa: ANN001
        self._stop()

    def _stop(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None
