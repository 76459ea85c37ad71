"""Tasks as objects: what a binary, multiclass, regression, anomaly or cluster question means to
every stage.

`get_task(name)` gives the task; `TASKS` names them all (the spec's `task:` choices come from
here, with `auto`, which validate resolves from the target)."""

from __future__ import annotations

from modelfab.errors import SpecError, did_you_mean
from modelfab.tasks.anomaly import Anomaly
from modelfab.tasks.base import LOWER_IS_BETTER, UNRANKED, Task, better
from modelfab.tasks.binary import Binary
from modelfab.tasks.cluster import Cluster
from modelfab.tasks.multiclass import Multiclass
from modelfab.tasks.regression import Regression

TASKS: dict[str, Task] = {t.name: t for t in (Binary(), Multiclass(), Regression(), Anomaly(), Cluster())}
AUTO = "auto"  # validate infers binary, multiclass or regression from the target


def get_task(name: str) -> Task:
    """The task called `name`; `auto` (not resolved yet) runs the table pipeline as binary does."""
    if name == AUTO:
        return TASKS["binary"]
    if name not in TASKS:
        raise SpecError([f"task: got {name!r}; expected one of {', '.join([AUTO, *TASKS])}.{did_you_mean(name, TASKS)}"])
    return TASKS[name]


def all_metrics() -> set[str]:
    return {m for t in TASKS.values() for m in t.metrics}


__all__ = ["AUTO", "LOWER_IS_BETTER", "TASKS", "UNRANKED", "Task", "all_metrics", "better", "get_task"]
