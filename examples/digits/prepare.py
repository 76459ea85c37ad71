"""Write MNIST (from ../shared/datasets/mnist, IDX files) as class-per-folder PNG trees:
data/train/<digit>/<index>.png (60,000) and data/test/<digit>/<index>.png (10,000).

The training images come in three parts (each under 4 MiB) to concatenate before gunzip.
Usage: python prepare.py [--limit N]   (N images per split, for a quick run)
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MNIST = HERE.parents[2] / "shared" / "datasets" / "mnist"


def idx(data: bytes) -> np.ndarray:
    magic = int.from_bytes(data[:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def write(images: np.ndarray, labels: np.ndarray, folder: Path, limit: int | None) -> None:
    for i, (image, label) in enumerate(zip(images[:limit], labels[:limit], strict=True)):
        target = folder / str(label) / f"{i:05d}.png"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(target)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    parts = sorted(MNIST.glob("train-images-idx3-ubyte.gz.part*"))
    train_images = idx(gzip.decompress(b"".join(p.read_bytes() for p in parts)))
    train_labels = idx(gzip.decompress((MNIST / "train-labels-idx1-ubyte.gz").read_bytes()))
    test_images = idx(gzip.decompress((MNIST / "t10k-images-idx3-ubyte.gz").read_bytes()))
    test_labels = idx(gzip.decompress((MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    write(train_images, train_labels, args.out / "train", args.limit)
    write(test_images, test_labels, args.out / "test", args.limit)
    print(f"wrote {min(len(train_images), args.limit or 10**9)} training and "
          f"{min(len(test_images), args.limit or 10**9)} test images under {args.out}")


if __name__ == "__main__":
    main()
