"""The memory-lean duplicate search and split give exactly what pandas and scikit-learn give."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from modelfab.artifacts import CleanTable, DataReport, RawTable
from modelfab.data.clean import duplicate_rows
from modelfab.data.split import split
from modelfab.spec.schema import DataConfig, SplitConfig

cells = st.one_of(st.none(), st.integers(0, 2), st.sampled_from(["a", "b"]), st.sampled_from([0.5, float("nan")]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=40))
def test_duplicate_rows_is_dataframe_duplicated(rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], index=np.arange(len(rows)) * 3 + 2)
    assert duplicate_rows(frame).tolist() == frame.duplicated().tolist()


def test_stratified_split_holds_out_train_test_splits_rows(machines):
    """The benchmark rule: the test part is scikit-learn's train_test_split(stratify=y, random_state=0)."""
    frame = machines.set_index(pd.RangeIndex(2, len(machines) + 2, name="line"))
    report = DataReport({"task": "binary", "target": "Machine failure", "entity": None, "time": None})
    empty = RawTable(frame.iloc[:0])
    parts = split.func(CleanTable(frame), empty, report, SplitConfig(method="stratified", test_size=0.2, seed=0),
                       DataConfig(source="x.csv", target="Machine failure"))
    rest, test = train_test_split(frame, test_size=0.2, stratify=frame["Machine failure"], random_state=0)
    train, valid = train_test_split(rest, test_size=0.15, stratify=rest["Machine failure"], random_state=0)
    pd.testing.assert_frame_equal(parts.test, test)
    pd.testing.assert_frame_equal(parts.train, train)
    pd.testing.assert_frame_equal(parts.valid, valid)
