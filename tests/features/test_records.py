"""The record path gives the Pipeline's numbers for every transform it covers, and steps aside
for those it does not."""

import numpy as np
import pytest

from modelfab.data.validate import build_report
from modelfab.features.build import build_transform
from modelfab.features.records import RecordTransform, Unsupported
from modelfab.spec.load import parse_spec
from tests.conftest import machine_table

BASE = """
name: t
data: {source: d.csv, target: Machine failure, drop: [UDI]}
features:
  combine:
    - {op: ratio, columns: ["Torque [Nm]", "Tool wear [min]"], name: per wear}
    - {op: product, columns: ["Torque [Nm]", "Speed [rpm]"]}
"""
VARIANTS = [
    "  scale: standard\n  encode: onehot\n",
    "  scale: minmax\n  encode: ordinal\n  power: log\n  power_columns: ['Tool wear [min]']\n",
    "  scale: robust\n  encode: target\n  power: yeo-johnson\n  power_columns: ['Speed [rpm]']\n",
    "  scale: none\n  select: {method: variance, threshold: 0.01}\n",
    "  scale: standard\n  select: {method: mutual_info, k: 3}\n",
    "clean: {outliers: {method: iqr, factor: 1.0}, numeric_missing: mean}\n",
]


def frames():
    train = machine_table(400, seed=1)
    new = machine_table(60, seed=2)
    new.loc[::7, "Torque [Nm]"] = np.nan          # missing readings
    new.loc[::5, "Tool wear [min]"] = 0            # a ratio over zero
    new.loc[::9, "Type"] = None                    # a missing category
    new.loc[3, "Type"] = "X"                       # a category training never saw
    return train, new


@pytest.mark.parametrize("variant", VARIANTS)
def test_record_path_equals_the_pipeline(variant):
    spec = parse_spec(BASE + variant)
    train, new = frames()
    report = build_report(train, spec, "d.csv")
    pipeline = build_transform(spec, report)
    y = train["Machine failure"].to_numpy()
    pipeline.fit(train, y)
    expected = pipeline.transform(new).astype(np.float32)
    inputs = report["features"]
    records = new[inputs].astype(object).where(new[inputs].notna(), None).to_dict("records")
    got = RecordTransform(pipeline).transform(records)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_windows_take_the_pipeline():
    spec = parse_spec(BASE.replace("drop: [UDI]}", "drop: [], entity: UDI}")
                      + "  windows: {columns: ['Torque [Nm]'], size: 3}\n")
    train, _ = frames()
    report = build_report(train, spec, "d.csv")
    pipeline = build_transform(spec, report).fit(train, train["Machine failure"].to_numpy())
    with pytest.raises(Unsupported, match="earlier rows"):
        RecordTransform(pipeline)
