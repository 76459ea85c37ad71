"""The PyTorch trainer: optimizers, schedules, penalties, early stopping, precision, and
checkpoints that resume a killed run to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from torch import nn

from modelfab.errors import CheckpointError, FabError
from modelfab.nn.checkpoint import load_checkpoint, save_checkpoint
from modelfab.nn.modules import DropConnectLinear
from modelfab.nn.trainer import Trainer
from modelfab.spec.sections.nets import MLPConfig


def data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X[: n * 3 // 4], y[: n * 3 // 4], X[n * 3 // 4:], y[n * 3 // 4:]


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(DropConnectLinear(6, 16, 0.1), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def config(**kw):
    base = dict(epochs=8, batch_size=32, optimizer={"name": "adam", "lr": 0.01})
    return MLPConfig(**(base | kw))


def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "adagrad", "rmsprop"])
@pytest.mark.parametrize("schedule", ["none", "step", "cosine", "onecycle"])
def test_every_optimizer_and_schedule_learns(optimizer, schedule):
    X, y, Xv, yv = data()
    lr = {"sgd": 0.1, "adagrad": 0.1}.get(optimizer, 0.01)
    c = config(optimizer={"name": optimizer, "lr": lr, "nesterov": True},
               schedule={"name": schedule, "warmup_epochs": 1, "step_epochs": 3})
    model = net()
    result = Trainer(c, "binary").fit(model, X, y, Xv, yv)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert accuracy(model, Xv, yv) > 0.85


def test_warmup_and_cosine_shape_the_rate():
    X, y, _, _ = data()
    c = config(epochs=4, optimizer={"name": "sgd", "lr": 0.1}, schedule={"name": "cosine", "warmup_epochs": 1, "min_lr": 0.0})
    rates = [r["lr"] for r in Trainer(c, "binary").fit(net(), X, y).history]
    assert rates[0] > rates[1] > rates[2] > rates[3]  # after the first (warm-up) epoch, the rate decays to 0
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)


def test_seeded_runs_are_identical():
    X, y, Xv, yv = data()
    a, b = net(), net()
    Trainer(config(), "binary").fit(a, X, y, Xv, yv)
    Trainer(config(), "binary").fit(b, X, y, Xv, yv)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_early_stopping_restores_the_best_epoch():
    X, y, Xv, yv = data(n=120)
    c = config(epochs=60, optimizer={"name": "adam", "lr": 0.05}, early_stopping={"metric": "loss", "patience": 3})
    model = net()
    trainer = Trainer(c, "binary")
    result = trainer.fit(model, X, y, Xv, yv)
    losses = [r["valid_loss"] for r in result.history]
    assert result.stopped_early and len(losses) < 60
    assert result.best_epoch == int(np.argmin(losses)) + 1
    final = trainer.evaluate(model, Xv, yv, nn.CrossEntropyLoss())["valid_loss"]
    assert final == pytest.approx(min(losses), rel=1e-5)


def test_l1_shrinks_weights_and_clipping_bounds_steps():
    X, y, _, _ = data()
    plain, sparse = net(), net()
    Trainer(config(), "binary").fit(plain, X, y)
    Trainer(config(l1=0.01), "binary").fit(sparse, X, y)
    assert sparse[0].weight.abs().mean() < 0.5 * plain[0].weight.abs().mean()

    model = net()
    before = [p.detach().clone() for p in model.parameters()]
    c = config(epochs=1, batch_size=300, optimizer={"name": "sgd", "lr": 1.0, "momentum": 0.0}, clip_grad_norm=1e-4)
    Trainer(c, "binary").fit(model, X, y)
    moved = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True)))
    assert moved <= 1e-4 * 1.01


def test_drop_connect_is_random_in_training_only():
    layer = DropConnectLinear(8, 8, 0.5)
    x = torch.randn(4, 8)
    layer.train()
    assert not torch.equal(layer(x), layer(x))
    layer.eval()
    assert torch.equal(layer(x), layer(x))


def test_bf16_autocast_on_cpu_learns():
    X, y, Xv, yv = data()
    model = net()
    Trainer(config(precision="bf16"), "binary").fit(model, X, y, Xv, yv)
    assert accuracy(model, Xv, yv) > 0.85


def test_fp16_on_cpu_is_refused_clearly():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(FabError, match="fp16.*CUDA"):
        Trainer(config(precision="fp16"), "binary")


def test_progress_and_metrics_are_reported():
    X, y, Xv, yv = data()
    epochs, notes = [], []
    Trainer(config(epochs=3), "binary", log_metrics=lambda m, step: epochs.append((step, m)),
            progress=lambda done, total, note: notes.append(note)).fit(net(), X, y, Xv, yv)
    assert [s for s, _ in epochs] == [1, 2, 3]
    assert {"train_loss", "valid_loss", "valid_accuracy", "valid_f1_macro", "lr", "samples_per_s"} <= set(epochs[0][1])


# --- checkpoints -------------------------------------------------------------------------------

RUN = textwrap.dedent("""
    import sys, torch
    from torch import nn
    sys.path.insert(0, {tests!r})
    from train.test_trainer import data, net, config
    from modelfab.nn.trainer import Trainer
    from pathlib import Path
    torch.set_num_threads(1)
    X, y, Xv, yv = data(n=6000)
    c = config(epochs=25, batch_size=16, early_stopping={{"patience": None}})
    Trainer(c, "binary", checkpoint=Path({path!r}), fingerprint="spec-a").fit(net(), X, y, Xv, yv)
    print("finished")
""")


def test_killed_run_resumes_to_identical_weights(tmp_path):
    X, y, Xv, yv = data(n=6000)
    c = config(epochs=25, batch_size=16, early_stopping={"patience": None})
    path = tmp_path / "ckpt.safetensors"
    tests = os.path.dirname(os.path.dirname(__file__))
    proc = subprocess.Popen([sys.executable, "-c", RUN.format(tests=tests, path=str(path))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ | {"OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if path.is_file():
            time.sleep(0.05)  # let it get into a later epoch, mid-step
            break
        time.sleep(0.005)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(path, "spec-a")["epoch"]
    assert 1 <= killed_at < 25

    resumed = net()
    result = Trainer(c, "binary", checkpoint=path, fingerprint="spec-a").fit(resumed, X, y, Xv, yv)
    assert result.resumed_from == killed_at
    straight = net()
    reference = Trainer(c, "binary").fit(straight, X, y, Xv, yv)
    for (k, a), b in zip(resumed.state_dict().items(), straight.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    strip = lambda h: [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in h]  # noqa: E731
    assert strip(result.history) == strip(reference.history)


def test_checkpoint_of_another_spec_is_refused(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    X, y, _, _ = data()
    Trainer(config(epochs=2), "binary", checkpoint=path, fingerprint="spec-a").fit(net(), X, y)
    with pytest.raises(CheckpointError, match="another spec.*refusing"):
        Trainer(config(epochs=4), "binary", checkpoint=path, fingerprint="spec-b").fit(net(), X, y)


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(1000)}, "spec-a")
    path.write_bytes(path.read_bytes()[:-1500])
    with pytest.raises(CheckpointError, match="damaged or truncated.*delete it"):
        load_checkpoint(path, "spec-a")
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="damaged or truncated"):
        load_checkpoint(path, "spec-a")


def test_checkpoint_roundtrip_keeps_types(tmp_path):
    state = {"epoch": 3, "opt": {"state": {0: {"step": torch.tensor(5.0)}}, "param_groups": [{"betas": (0.9, 0.99)}]},
             "best": None, "rng": torch.get_rng_state()}
    save_checkpoint(tmp_path / "c.safetensors", state, "k")
    back = load_checkpoint(tmp_path / "c.safetensors", "k")
    assert back["epoch"] == 3 and back["best"] is None
    assert list(back["opt"]["state"]) == [0] and back["opt"]["param_groups"][0]["betas"] == (0.9, 0.99)
    assert torch.equal(back["rng"], state["rng"])


def test_ema_weights_are_the_ones_kept_and_resume_exactly(tmp_path):
    X, y, Xv, yv = data()
    plain, averaged = net(), net()
    Trainer(config(epochs=6, early_stopping={"patience": None}), "binary").fit(plain, X, y, Xv, yv)
    c = config(epochs=6, ema=0.9, early_stopping={"patience": None})
    straight = Trainer(c, "binary").fit(averaged, X, y, Xv, yv)
    assert not torch.equal(plain[0].weight, averaged[0].weight)

    path = tmp_path / "ckpt.safetensors"
    Trainer(config(epochs=3, ema=0.9, early_stopping={"patience": None}), "binary",
            checkpoint=path, fingerprint="f").fit(net(), X, y, Xv, yv)
    resumed = net()
    result = Trainer(c, "binary", checkpoint=path, fingerprint="f").fit(resumed, X, y, Xv, yv)
    assert result.resumed_from == 3
    for (k, a), b in zip(resumed.state_dict().items(), averaged.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    drop = ("seconds", "samples_per_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in result.history] == \
        [{k: v for k, v in r.items() if k not in drop} for r in straight.history]


def test_seeds_average_nets_that_differ_and_rerun_identically(tmp_path):
    from modelfab.models import make_model
    from modelfab.models.net_family import TrainContext

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.1, size=300)
    c = config(epochs=6, seeds=3, hidden=[16], refit_full=True, early_stopping={"metric": "rmse", "patience": 3})
    path = tmp_path / "key.safetensors"

    logged = set()

    def fit():
        context = TrainContext(checkpoint=path, fingerprint="key", log_metrics=lambda m, step: logged.update(m))
        model = make_model(c, "regression", 0, layout={"kind": "flat"}, context=context)
        return model.fit(X[:200], y[:200], X[200:], y[200:])

    model = fit()
    assert {"valid_rmse", "m2_valid_rmse", "refit_train_loss", "refit_m1_train_loss"} <= logged
    assert len(model.nets_) == 3
    first, second = (next(net.parameters()) for net in model.nets_[:2])
    assert not torch.equal(first, second)  # each its own seed
    mean, std = model.target_scale_
    alone = [net(torch.from_numpy(X[200:])).detach().double() * std + mean for net in model.nets_]
    np.testing.assert_allclose(model.predict_scores(X[200:]), torch.stack(alone).mean(0).numpy(), rtol=1e-6)
    # Only the first net's file is left (the train stage removes it once the package is stored).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.safetensors"]
    assert all(any(r.get("refit") for r in h) for h in model.histories_)

    again = fit()  # the first net resumes from its finished checkpoint, the others train again
    np.testing.assert_array_equal(again.predict_scores(X[200:]), model.predict_scores(X[200:]))
    (tmp_path / "pkg").mkdir()
    model.save(tmp_path / "pkg")
    assert {p.name for p in (tmp_path / "pkg").iterdir()} >= {"weights.safetensors", "weights.2.safetensors"}


class _SecondOfTwo:
    """A stand-in for one rank of two: half of each epoch's rows, and not the main process."""

    is_main = False

    def __init__(self):
        from modelfab.nn.strategy import Local

        self.local, self.device, self.seen = Local("cpu"), torch.device("cpu"), []

    def prepare(self, module):
        return self.local.prepare(module)

    def shard(self, order):
        self.seen.append(len(order))
        return order[1::2]

    def total(self, value):
        return value * 2  # the other rank's share, as an all-reduce would add it


def test_the_strategy_decides_rows_checkpoints_and_reports(tmp_path):
    """The one seam a distributed strategy enters by: its share of the rows, and no checkpoint
    or metrics from a process that is not the main one."""
    X, y, Xv, yv = data()
    strategy, logged = _SecondOfTwo(), []
    c = config(epochs=2, checkpoint_every=1)
    result = Trainer(c, "binary", strategy=strategy, checkpoint=tmp_path / "c.safetensors",
                     log_metrics=lambda m, step: logged.append(step)).fit(net(), X, y, Xv, yv)
    assert set(strategy.seen) == {len(X)} and len(result.history) == 2
    assert all(np.isfinite(r["train_loss"]) for r in result.history)
    assert not logged and not (tmp_path / "c.safetensors").exists()
