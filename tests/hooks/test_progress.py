"""What a person sees: plain progress lines where there is no terminal, and a refused model shown
as refused."""

from __future__ import annotations

import io

from rich.console import Console

import modelfab
from modelfab.hooks.progress import ProgressHook, plain_line
from tests.conftest import BINARY_SPEC, machine_table, write_project


def test_long_work_speaks_in_a_log_file():
    log = io.StringIO()
    hook = ProgressHook(Console(file=log, force_terminal=False, width=200), plain_every=0.0)

    class Stage:
        name = "train"

    hook.before_pipeline(None)
    hook.before_stage(None, Stage)
    for epoch in (1, 2):
        hook.stage_progress(None, Stage, epoch, 8, f"epoch {epoch}/8")
    hook.after_pipeline(None)
    lines = [line for line in log.getvalue().splitlines() if line.startswith("train:")]
    assert len(lines) == 2 and "epoch 2/8  25.0%" in lines[1] and "ETA" in lines[1]
    assert plain_line("train", 2, 8, "epoch 2/8", 60.0) == "train: epoch 2/8  25.0% in 1m0s, ETA 3m0s"


def test_a_refused_model_is_not_ticked(tmp_path):
    spec = BINARY_SPEC.replace("{metric: roc_auc, min: 0.6, min_delta: 0.0}", "{metric: roc_auc, min: 0.999}")
    log = io.StringIO()
    hook = ProgressHook(Console(file=log, force_terminal=False, width=200))
    modelfab.run(modelfab.load_spec(write_project(tmp_path, machine_table(), spec)), hooks=[hook])
    shown = {line.split()[1]: line for line in log.getvalue().splitlines() if line.strip()[:1] in ("✓", "✗", "–")}
    assert "refused" in shown["gate"] and "✗" in shown["gate"]
    assert "nothing registered" in shown["register"] and "✓" in shown["train"]
