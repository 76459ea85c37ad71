"""Write data/work-orders.csv from the excavator maintenance work orders in
../shared/datasets/maintenance-text/excavators (Hodkiewicz & Ho 2016): the free text, and its
labelled `MajorSystem` (the top systems kept, the rest "other"), which the clustering never
learns from: it only measures how well the themes found agree with it.

Usage: python prepare.py [--top 7] [--limit N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "datasets" / "maintenance-text" / "excavators" / "excavators-cleaned.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=7)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "data" / "work-orders.csv")
    args = parser.parse_args()
    frame = pd.read_csv(SOURCE, keep_default_na=False, usecols=["OriginalShorttext", "MajorSystem"])
    label = frame["MajorSystem"].replace({"NA": "none", "": "none"})  # "NA" is a label here, not a gap
    top = label.value_counts().index[: args.top]
    frame = pd.DataFrame({"text": frame["OriginalShorttext"], "system": label.where(label.isin(top), "other")})
    frame = frame.head(args.limit) if args.limit else frame
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out}:\n{frame['system'].value_counts().to_string()}")


if __name__ == "__main__":
    main()
