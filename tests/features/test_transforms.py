import numpy as np
import pandas as pd
import pytest

from modelfab.data.repair import Cleaner
from modelfab.data.validate import build_report
from modelfab.errors import StoreError
from modelfab.features.build import build_transform
from modelfab.features.persist import forget_saved, load_transform, save_transform
from modelfab.features.rows import RowFeatures
from modelfab.spec import parse_spec


def sensor_frame():
    rng = np.random.default_rng(1)
    rows = []
    for unit in (1, 2, 3):
        for cycle in range(1, 13 + unit):
            rows.append({"unit": unit, "cycle": cycle, "s1": rng.normal(100, 5), "s2": cycle * 0.5 + rng.normal()})
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1, random_state=0)  # windows must not depend on row order


def test_windows_match_pandas_rolling():
    frame = sensor_frame()
    windows = {"columns": ["s1", "s2"], "size": 4, "stats": ["mean", "std", "min", "max", "slope"]}
    out = RowFeatures(keep=["s1"], windows=windows, entity="unit", time="cycle").fit(frame).transform(frame)
    ordered = frame.sort_values(["unit", "cycle"])
    rolled = ordered.groupby("unit")["s1"].rolling(4, min_periods=1)
    expected_mean = rolled.mean().reset_index(level=0, drop=True)
    expected_std = rolled.std(ddof=0).reset_index(level=0, drop=True)
    expected_max = rolled.max().reset_index(level=0, drop=True)
    np.testing.assert_allclose(out.loc[ordered.index, "s1 mean4"], expected_mean.loc[ordered.index], rtol=1e-9)
    np.testing.assert_allclose(out.loc[ordered.index, "s1 std4"], expected_std.loc[ordered.index], atol=1e-6)
    np.testing.assert_allclose(out.loc[ordered.index, "s1 max4"], expected_max.loc[ordered.index])
    # slope of a straight line is exact once the window is full
    line = pd.DataFrame({"unit": 1, "cycle": range(10), "s2": np.arange(10) * 2.5})
    slope = RowFeatures(keep=[], windows={"columns": ["s2"], "size": 4, "stats": ["slope"]}, entity="unit",
                        time="cycle").fit(line).transform(line)["s2 slope4"]
    np.testing.assert_allclose(slope.iloc[1:], 2.5)
    assert list(out.index) == list(frame.index)  # output keeps the input's row order


def test_combinations():
    frame = pd.DataFrame({"a": [2.0, 3.0], "b": [4.0, 0.0]})
    out = RowFeatures(keep=["a"], combine=[{"op": "product", "columns": ["a", "b"], "name": "ab"},
                                           {"op": "ratio", "columns": ["a", "b"], "name": None}]).fit(frame).transform(frame)
    assert list(out["ab"]) == [8.0, 0.0]
    assert out["a / b"].iloc[0] == 0.5 and np.isnan(out["a / b"].iloc[1])  # no division by zero


def test_cleaner_learns_on_training_rows_only():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan, 100.0], "c": ["a", "a", None, "b", "a"]})
    cleaner = Cleaner(numeric=["x"], categorical=["c"], outliers="iqr", factor=1.5).fit(train)
    assert cleaner.fill_ == {"x": 2.5, "c": "a"}
    new = pd.DataFrame({"x": [np.nan, 1000.0], "c": [None, "b"]})
    out = cleaner.transform(new)
    assert out["x"].iloc[0] == 2.5 and out["x"].iloc[1] == cleaner.bounds_["x"][1]
    assert list(out["c"]) == ["a", "b"]


def test_transform_roundtrip_through_skops(tmp_path, machines):
    spec = parse_spec("name: t\ndata: {source: d.csv, target: Machine failure, drop: [UDI]}\n"
                      "features: {select: {method: model, k: 3}, power: log, power_columns: ['Torque [Nm]']}\n")
    report = build_report(machines, spec, "d.csv")
    transform = build_transform(spec, report).fit(machines, machines["Machine failure"])
    save_transform(transform, tmp_path / "t.skops")
    forget_saved()  # parse the file, not the object this process just saved
    loaded = load_transform(tmp_path / "t.skops")
    assert loaded is not transform
    np.testing.assert_array_equal(loaded.transform(machines), transform.transform(machines))
    assert len(loaded.get_feature_names_out()) == 3


def test_untrusted_types_are_refused(tmp_path):
    from fractions import Fraction

    import skops.io as sio

    sio.dump({"x": Fraction(1, 3)}, tmp_path / "evil.skops")
    with pytest.raises(StoreError, match="does not trust"):
        load_transform(tmp_path / "evil.skops")


def test_damaged_file_is_refused(tmp_path):
    (tmp_path / "bad.skops").write_bytes(b"not a zip")
    with pytest.raises(StoreError, match="not a readable skops file"):
        load_transform(tmp_path / "bad.skops")


def test_saved_transform_bytes_are_reproducible(tmp_path, machines):
    spec = parse_spec("name: t\ndata: {source: d.csv, target: Machine failure, drop: [UDI]}\n")
    report = build_report(machines, spec, "d.csv")
    for name in ("a.skops", "b.skops"):  # two fits, two dumps: same bytes, same content address
        save_transform(build_transform(spec, report).fit(machines, machines["Machine failure"]), tmp_path / name)
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    assert load_transform(tmp_path / "a.skops").transform(machines).shape[0] == len(machines)


def test_saved_file_holds_what_skops_dump_writes(tmp_path, machines):
    # save_transform builds skops' state itself, to skip the indented JSON that dump writes.
    import json
    import zipfile

    import skops.io as sio

    from modelfab.features.persist import _canonical_ids

    spec = parse_spec("name: t\ndata: {source: d.csv, target: Machine failure, drop: [UDI]}\n"
                      "features: {encode: onehot, scale: robust}\n")
    transform = build_transform(spec, build_report(machines, spec, "d.csv")).fit(machines, machines["Machine failure"])
    save_transform(transform, tmp_path / "ours.skops")
    sio.dump(transform, tmp_path / "theirs.skops")
    with zipfile.ZipFile(tmp_path / "theirs.skops") as theirs:
        schema = json.loads(theirs.read("schema.json"))
        arrays = {name: theirs.read(name) for name in theirs.namelist() if name != "schema.json"}
    numbers = _canonical_ids(schema)
    with zipfile.ZipFile(tmp_path / "ours.skops") as ours:
        assert json.loads(ours.read("schema.json")) == schema
        assert len(ours.namelist()) == len(arrays) + 1
        for name, data in arrays.items():
            stem, suffix = name.rsplit(".", 1)
            assert ours.read(f"{numbers[stem]}.{suffix}") == data


def test_encode_target_codes_labels_in_report_order_and_names_an_unseen_one() -> None:
    from modelfab.errors import DataError
    from modelfab.features.featurize import encode_target

    report = {"task": "multiclass", "classes": ["0", "1", "10"]}
    y = pd.Series([10, 0, 1, 10, 1])
    assert encode_target(y, report).tolist() == [2, 0, 1, 2, 1]
    assert encode_target(pd.Series(["b", "a"]), {"task": "binary", "classes": ["a", "b"]}).tolist() == [1, 0]
    with pytest.raises(DataError, match="'7' was not among"):
        encode_target(pd.Series(["0", "7"]), report)
    with pytest.raises(DataError, match="nan was not among"):
        encode_target(pd.Series([0.0, np.nan]), {"task": "binary", "classes": ["0.0", "1.0"]})


def test_a_transform_saved_here_is_not_parsed_again_unless_its_bytes_changed(tmp_path, machines):
    spec = parse_spec("name: t\ndata: {source: d.csv, target: Machine failure, drop: [UDI]}\n")
    transform = build_transform(spec, build_report(machines, spec, "d.csv")).fit(machines, machines["Machine failure"])
    save_transform(transform, tmp_path / "t.skops")
    assert load_transform(tmp_path / "t.skops") is transform
    import shutil
    import zipfile

    shutil.copy(tmp_path / "t.skops", tmp_path / "copy.skops")
    assert load_transform(tmp_path / "copy.skops") is transform  # same bytes, same object
    with zipfile.ZipFile(tmp_path / "t.skops", "a") as z:  # any change of bytes: parsed and audited
        z.writestr("extra.txt", "x")
    reloaded = load_transform(tmp_path / "t.skops")
    assert reloaded is not transform
    np.testing.assert_array_equal(reloaded.transform(machines), transform.transform(machines))


def test_skops_is_imported_without_torch_and_trusts_the_same_types():
    import subprocess
    import sys

    code = ("import sys\nfrom modelfab.features.persist import skops_io\nskops_io()\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names\n"
            "import torch\nassert torch.ones(2).sum().item() == 2\nprint(len(names))\n")
    blocked = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    plain = subprocess.run([sys.executable, "-c", "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES "
                            "as names\nprint(len(names))"], capture_output=True, text=True, check=True).stdout
    assert int(blocked) == int(plain) > 100


def test_auto_encoding_one_hots_few_categories_and_target_encodes_many(tmp_path, machines):
    from tests.data.test_validate import many_valued

    frame = many_valued(machines)
    spec = parse_spec("name: t\ndata: {source: d.csv, target: Machine failure, drop: [UDI]}\n"
                      "features: {text: {column: note, method: tfidf, vocab_size: 30}}\n")
    report = build_report(frame, spec, "d.csv")
    transform = build_transform(spec, report)
    matrix = transform.fit_transform(frame, frame["Machine failure"])
    names = list(transform.get_feature_names_out())
    assert [n for n in names if n.startswith("Type")] == ["Type_H", "Type_L", "Type_M"]
    assert "part" in names and not any(n.startswith("part_") for n in names)  # one target-encoded column
    assert any(n.startswith("note#") for n in names) and matrix.shape[1] == len(names)
    save_transform(transform, tmp_path / "t.skops")
    forget_saved()
    np.testing.assert_allclose(load_transform(tmp_path / "t.skops").transform(frame), transform.transform(frame))
    onehot = parse_spec("name: t\ndata: {source: d.csv, target: Machine failure, drop: [UDI, note]}\n"
                        "features: {encode: onehot, onehot_max: 10}\n")
    wide = build_transform(onehot, build_report(frame, onehot, "d.csv")).fit(frame, frame["Machine failure"])
    assert sum(n.startswith("part_") for n in wide.get_feature_names_out()) == 11  # the rarer ones as one
