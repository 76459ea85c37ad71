"""Print the clusterings of the work orders side by side: MiniLM embeddings with k-means
(fab.yaml) and with HDBSCAN (fab.hdbscan.yaml) against k-means on TF-IDF (fab.tfidf.yaml), k
chosen by silhouette for k-means, by their agreement
with the labelled systems on the test rows (ARI, NMI) and their own figures. Runs each spec
(a cache hit after `modelfab run`).

Usage: python compare.py
"""

from __future__ import annotations

import json
from pathlib import Path

import modelfab

HERE = Path(__file__).resolve().parent
SPECS = {"MiniLM embeddings + k-means": "fab.yaml", "MiniLM embeddings + HDBSCAN": "fab.hdbscan.yaml",
         "TF-IDF + k-means (baseline)": "fab.tfidf.yaml"}


def main() -> None:
    print(f"{'clustering':30} {'k':>3} {'ARI':>6} {'NMI':>6} {'silhouette':>10} {'stability':>9} {'noise':>6}")
    for name, spec in SPECS.items():
        run = modelfab.run(modelfab.load_spec(HERE / spec), hooks=[])
        record = json.loads((run.load("evaluation").path / "metrics.json").read_text())
        m = record["metrics"]
        print(f"{name:30} {record['k']:>3} {m.get('ari', float('nan')):>6.3f} {m.get('nmi', float('nan')):>6.3f} "
              f"{m.get('silhouette', float('nan')):>10.3f} {m.get('stability', float('nan')):>9.3f} "
              f"{m.get('noise', 0.0):>6.3f}")


if __name__ == "__main__":
    main()
