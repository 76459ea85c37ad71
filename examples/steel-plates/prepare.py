"""Rebuild data/steel-plates-faults.csv from UCI's original files (Faults.NNA, Faults27x7_var).

The original holds 27 features and 7 one-hot fault columns per line, tab-separated (in our copy
each line is wrapped in quotes). modelfab wants one labelled table, so the one-hot columns become
one `Fault` column. Usage: python prepare.py ../../../shared/datasets/steel-plates-faults
"""

import sys
from pathlib import Path

import pandas as pd

source = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/datasets/steel-plates-faults")
names = (source / "Faults27x7_var").read_text().split()
rows = [line.strip().strip('"').split("\t") for line in (source / "Faults.NNA").read_text().splitlines() if line.strip()]
frame = pd.DataFrame(rows, columns=names).apply(pd.to_numeric)
faults = names[27:]
frame["Fault"] = frame[faults].idxmax(axis=1)
frame.drop(columns=faults).to_csv(Path(__file__).parent / "data" / "steel-plates-faults.csv", index=False)
print(frame["Fault"].value_counts().to_string())
