"""Trainer overhead: modelfab's Trainer against a hand-written PyTorch loop, same model, data,
batch size and optimizer, in one process, interleaved, median of 5 runs.

    python benchmarks/bench_trainer.py [--runs 5] [--epochs 3]

The model is the one the issue quotes PyTorch Lightning on (MLP 64 -> 256 -> 256 -> 10, batch
64): per-step overhead shows most on a small model. The hand loop is the idiomatic one (shuffled
index slicing, zero_grad / backward / step), with nothing the trainer would not also need.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from modelfab.nn.trainer import Trainer
from modelfab.spec.sections.nets import MLPConfig

N, D, K, BATCH = 20_000, 64, 10, 64


def make_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, K))


def hand_loop(net: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(X), BATCH):
            index = order[i:i + BATCH]
            loss = loss_fn(net(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return len(X) * epochs / (time.perf_counter() - started)


def trainer_loop(net: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, **options) -> float:  # noqa: ANN003
    config = MLPConfig(epochs=epochs, batch_size=BATCH, dropout=0.0, optimizer={"name": "adamw", "lr": 1e-3},
                       **options)
    ticks = []
    trainer = Trainer(config, "multiclass", progress=lambda *a: ticks.append(a), log_metrics=lambda m, s: None)
    started = time.perf_counter()
    trainer.fit(net, X, y)
    return len(X) * epochs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(N, D, generator=g)
    y = (X[:, :K] + 0.5 * torch.randn(N, K, generator=g)).argmax(1)
    hand_loop(make_net(), X, y, 1)  # warm-up: allocator, kernels
    rates: dict[str, list[float]] = {"hand-written loop": [], "Trainer": [], "Trainer, bf16 autocast": []}
    for run in range(args.runs):
        rates["hand-written loop"].append(hand_loop(make_net(run), X, y, args.epochs))
        rates["Trainer"].append(trainer_loop(make_net(run), X, y, args.epochs))
        rates["Trainer, bf16 autocast"].append(trainer_loop(make_net(run), X, y, args.epochs, precision="bf16"))
    base = statistics.median(rates["hand-written loop"])
    print(f"MLP {D}->256->256->{K}, batch {BATCH}, {N:,} rows x {args.epochs} epochs, median of {args.runs} "
          f"interleaved runs, torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| loop | samples/s (median) | runs | vs hand-written |")
    print("|---|---|---|---|")
    for name, values in rates.items():
        med = statistics.median(values)
        spread = ", ".join(f"{v:,.0f}" for v in values)
        print(f"| {name} | {med:,.0f} | {spread} | {med / base:.3f}x |")


if __name__ == "__main__":
    main()
