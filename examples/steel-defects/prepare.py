"""Write data/manifest.csv for NEU-CLS (../shared/datasets/neu-cls/images, 1,800 BMP files named
<class>_<n>.bmp): one row per image with its path (relative to the manifest) and its class.

Usage: python prepare.py [--per-class N]   (N images per class, for a quick run)
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE.parents[2] / "shared" / "datasets" / "neu-cls" / "images"
CLASSES = {"Cr": "crazing", "In": "inclusion", "Pa": "patches", "PS": "pitted_surface",
           "RS": "rolled-in_scale", "Sc": "scratches"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "data" / "manifest.csv")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows, seen = [], {}
    for path in sorted(IMAGES.glob("*.bmp"), key=lambda p: (p.stem.split("_")[0], int(p.stem.split("_")[1]))):
        label = CLASSES[path.stem.split("_")[0]]
        seen[label] = seen.get(label, 0) + 1
        if args.per_class is None or seen[label] <= args.per_class:
            rows.append((os.path.relpath(path, args.out.parent), label))
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "defect"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
