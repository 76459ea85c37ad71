import pandas as pd
import pytest

from modelfab.artifacts import ArtifactStore, DataReport, RawTable
from modelfab.errors import StoreError


def test_roundtrip_and_content_address(tmp_path):
    store = ArtifactStore(tmp_path)
    table = RawTable(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=pd.Index([2, 3], name="line")), {"n": 2})
    ref = store.put(table)
    again = store.put(RawTable(table.frame.copy(), {"n": 2}))
    assert ref == again  # same content, same address, stored once
    loaded = store.get(ref)
    pd.testing.assert_frame_equal(loaded.frame, table.frame)
    assert loaded.info == {"n": 2}
    assert store.put(RawTable(table.frame.assign(a=[1, 3]), {"n": 2})) != ref


def test_kind_is_part_of_the_address(tmp_path):
    store = ArtifactStore(tmp_path)
    other = type("Other", (DataReport,), {"kind": "blessing"})
    assert store.put(DataReport({"a": 1})).digest != store.put(other({"a": 1})).digest


def test_failed_write_leaves_nothing_behind(tmp_path):
    class Broken(DataReport):
        def save(self, folder):
            (folder / "half.json").write_text("{")
            raise OSError("disk full")

    store = ArtifactStore(tmp_path)
    with pytest.raises(OSError):
        store.put(Broken({}))
    assert not store.objects.exists() or not any(store.objects.rglob("*.json"))
    assert not any(store.tmp.iterdir())


def test_missing_artifact_is_a_clear_error(tmp_path):
    store = ArtifactStore(tmp_path)
    ref = store.put(DataReport({"a": 1}))
    import shutil

    shutil.rmtree(store.path(ref))
    with pytest.raises(StoreError, match="missing"):
        store.get(ref)


def test_cache_entry_ignored_when_its_artifact_is_gone(tmp_path):
    store = ArtifactStore(tmp_path)
    ref = store.put(DataReport({"a": 1}))
    store.cache_put("k", {"outputs": {"report": ref.to_dict()}})
    assert store.cache_get("k")
    import shutil

    shutil.rmtree(store.path(ref))
    assert store.cache_get("k") is None


def test_file_digest_follows_content(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    first = store.file_digest(data)
    assert store.file_digest(data) == first
    data.write_text("a\n2\n")
    assert store.file_digest(data) != first


def test_splits_roundtrip_in_one_file_or_three(tmp_path):
    import pandas as pd

    from modelfab.artifacts import Splits

    def frame(n, start, dtype):
        return pd.DataFrame({"a": pd.array(range(n), dtype=dtype), "b": ["x"] * n},
                            index=pd.RangeIndex(start, start + n, name="line"))

    same = Splits(frame(5, 2, "int64"), frame(2, 7, "int64"), frame(3, 9, "int64"), {"method": "random"})
    mixed = Splits(frame(5, 2, "int64"), frame(2, 7, "int64"), frame(3, 2, "float64"), {"method": "random"})
    for name, splits, files in (("same", same, {"parts.parquet"}), ("mixed", mixed, {"test.parquet"})):
        folder = tmp_path / name
        folder.mkdir()
        splits.save(folder)
        assert files <= {p.name for p in folder.iterdir()}
        back = Splits.load(folder)
        for part in Splits.PARTS:
            pd.testing.assert_frame_equal(getattr(back, part), getattr(splits, part))
        assert back.info == splits.info


def test_feature_set_holds_train_and_valid_and_reads_one_stored_with_test_rows(tmp_path):
    import pandas as pd

    from modelfab.artifacts import FeatureSet, Splits

    def frame(n, start):
        return pd.DataFrame({"f": [float(i) for i in range(n)], "__target__": [0] * n},
                            index=pd.RangeIndex(start, start + n, name="line"))

    features = FeatureSet(frame(4, 2), frame(2, 6), {"features": ["f"]})
    features.save(tmp_path)
    back = FeatureSet.load(tmp_path)
    pd.testing.assert_frame_equal(back.train, features.train)
    pd.testing.assert_frame_equal(back.valid, features.valid)
    assert not hasattr(back, "test")
    older = tmp_path / "older"  # written before the test part was dropped: its test rows are ignored
    older.mkdir()
    Splits(frame(4, 2), frame(2, 6), frame(3, 8), {"features": ["f"]}).save(older)
    back = FeatureSet.load(older)
    pd.testing.assert_frame_equal(back.valid, features.valid)
