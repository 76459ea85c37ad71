"""Write data/train.csv and data/test.csv for the casting images (../shared/datasets/casting:
cast pump impellers, `casting_data/{train,test}/{def_front,ok_front}`): one row per image with
its path (relative to the manifest) and its label.

The official test folder holds 64 files byte-identical to training files (SOURCE.md): they are
left out of data/test.csv by content hash, so the test is of parts the detector never saw.

Usage: python prepare.py [--per-class N]   (at most N images per class and folder, for a quick run)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2] / "shared" / "datasets" / "casting" / "casting_data"
LABELS = {"ok_front": "ok", "def_front": "defective"}


def rows(folder: Path, out: Path, per_class: int | None) -> list[tuple[str, str, str]]:
    found = []
    for name, label in LABELS.items():
        files = sorted((folder / name).glob("*.jpeg"))[:per_class]
        found += [(os.path.relpath(p, out.parent), label, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=None)
    args = parser.parse_args()
    out = HERE / "data" / "train.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    train = rows(ROOT / "train", out, args.per_class)
    seen = {digest for _, _, digest in train}
    test = rows(ROOT / "test", out, args.per_class)
    kept = [r for r in test if r[2] not in seen]
    for path, table in ((out, train), (HERE / "data" / "test.csv", kept)):
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label"])
            writer.writerows((p, label) for p, label, _ in table)
    print(f"wrote {len(train)} training images and {len(kept)} test images "
          f"({len(test) - len(kept)} byte-identical to a training image left out)")


if __name__ == "__main__":
    main()
