"""Write data/train.csv and data/test.csv from NASA's C-MAPSS FD001 in
../shared/datasets/cmapss-fd001: every engine's cycles with its cycles left (`rul`) and a state,
`healthy` while more than --healthy cycles are left (125, where FD001's degradation is commonly
taken to start) and `degrading` after. The test engines stop before failure; their cycles left
come from RUL_FD001.txt (the value at each engine's last cycle).

Usage: python prepare.py [--healthy 125]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "datasets" / "cmapss-fd001"
COLUMNS = ["unit", "cycle", "setting1", "setting2", "setting3", *[f"s{k}" for k in range(1, 22)]]


def engines(name: str, at_end: list[float] | None = None) -> pd.DataFrame:
    frame = pd.read_csv(SOURCE / name, sep=r"\s+", header=None, names=COLUMNS)
    last = frame.groupby("unit")["cycle"].transform("max")
    left = last - frame["cycle"]
    if at_end is not None:  # a test engine stopped with at_end[unit - 1] cycles still to run
        left = left + frame["unit"].map(dict(enumerate(at_end, start=1)))
    return frame.assign(rul=left.astype(float))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--healthy", type=float, default=125.0)
    args = parser.parse_args()
    labels = [float(v) for v in (SOURCE / "RUL_FD001.txt").read_text().split()]
    out = HERE / "data"
    out.mkdir(exist_ok=True)
    for name, frame in (("train", engines("train_FD001.txt")), ("test", engines("test_FD001.txt", labels))):
        frame = frame.assign(state=(frame["rul"] > args.healthy).map({True: "healthy", False: "degrading"}))
        frame.to_csv(out / f"{name}.csv", index=False)
        print(f"wrote {len(frame)} rows of {frame['unit'].nunique()} engines to {out / f'{name}.csv'}: "
              f"{(frame['state'] == 'healthy').mean():.0%} healthy")


if __name__ == "__main__":
    main()
