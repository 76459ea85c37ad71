"""Rich progress: a line per stage with its time and cache hit, and a bar with an ETA while a
stage reports progress (boosting rounds, cross-validation folds, epochs).

Where the output is not a terminal (a log file, CI, nohup) a bar draws nothing, so long work
prints a plain line instead, at most every `plain_every` seconds: the stage, how far, the ETA.
A gate that refuses and a register that registers nothing are shown as such, not ticked."""

from __future__ import annotations

import sys
import time

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
    def __init__(self, console: Console | None = None, plain_every: float = 30.0) -> None:
        self.console = console or Console(file=sys.stderr)
        self.progress: Progress | None = None
        self.task = None
        self.plain_every, self.started, self.last_plain = plain_every, 0.0, -float("inf")

    def before_pipeline(self, run) -> None:  # noqa: ANN001
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self.progress.start()

    def before_stage(self, run, stage) -> None:  # noqa: ANN001
        self.task = self.progress.add_task(stage.name, total=None)
        self.started, self.last_plain = time.monotonic(), -float("inf")

    def stage_progress(self, run, stage, done: float, total: float | None, note: str) -> None:  # noqa: ANN001
        self.progress.update(self.task, completed=done, total=total, description=f"{stage.name}: {note}")
        now = time.monotonic()
        if not self.console.is_terminal and now - self.last_plain >= self.plain_every:
            self.last_plain = now
            self.console.print(plain_line(stage.name, done, total, note, now - self.started), markup=False,
                               highlight=False)

    def after_stage(self, run, stage, record: StageRecord) -> None:  # noqa: ANN001
        self.progress.remove_task(self.task)
        status = "[dim]cached[/dim]" if record.cached else f"{record.seconds:6.2f} s"
        mark, why = outcome(run, record)
        self.console.print(f"  {mark} {stage.name:<10} {status}{why}")

    def on_stage_error(self, run, stage, error: BaseException) -> None:  # noqa: ANN001
        self._stop()
        self.console.print(f"  [red]✗[/red] {stage.name}")

    def after_pipeline(self, run) -> None:  # noqa: ANN001
        self._stop()

    def _stop(self) -> None:
        if self.progress:
            self.progress.stop()
            self.progress = None


def plain_line(stage: str, done: float, total: float | None, note: str, elapsed: float) -> str:
    """`train: epoch 3/8 · 2,100 samples/s  37.5% in 1m12s, ETA 2m0s` for a log file."""
    share = f"  {done / total:.1%}" if total else ""
    eta = f", ETA {_duration(elapsed * (total - done) / done)}" if total and done else ""
    return f"{stage}: {note}{share} in {_duration(elapsed)}{eta}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def outcome(run, record: StageRecord) -> tuple[str, str]:  # noqa: ANN001
    """The mark beside a stage: a tick, or what the gate refused and register did not do."""
    if "blessing" in record.outputs and not run.load("blessing").data["blessed"]:
        return "[yellow]✗[/yellow]", " [yellow]refused[/yellow]"
    if "registration" in record.outputs:
        done = run.load("registration").data
        if not done.get("registered") and not done.get("version"):
            return "[yellow]–[/yellow]", " [yellow]nothing registered[/yellow]"
    return "[green]✓[/green]", ""
