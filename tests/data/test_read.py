import pytest

from modelfab.data.read import read_table
from modelfab.errors import DataError


def test_utf8_bom_and_line_index(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b\n1,x\n2,y\n".encode())
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b"]
    assert list(frame.index) == [2, 3]  # line numbers in the file


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_detected(tmp_path, sep):
    path = tmp_path / "d.csv"
    path.write_text(f"a{sep}b{sep}c\n1{sep}2{sep}3\n4{sep}5{sep}6\n")
    assert read_table(path).shape == (2, 3)


def test_whitespace_file_with_named_columns(tmp_path):
    path = tmp_path / "engine.txt"
    path.write_text("1 1 0.5 641.8 \n1 2 0.4 642.1 \n2 1 0.6 641.9 \n")
    frame = read_table(path, columns=["unit", "cycle", "op", "s2"])
    assert list(frame.columns) == ["unit", "cycle", "op", "s2"] and len(frame) == 3


def test_latin1_file(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("machine,temp\nPresse \xe9tage,1\nFour,2\n".encode("latin-1"))
    assert read_table(path)["machine"].iloc[0] == "Presse étage"


def test_ragged_row_names_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n")
    with pytest.raises(DataError, match=r"r.csv line 4: expected 3 fields .* found 4"):
        read_table(path)


def test_empty_file(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("")
    with pytest.raises(DataError, match="e.csv: the file is empty"):
        read_table(path)


def test_header_only(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b\n")
    with pytest.raises(DataError, match="no data rows"):
        read_table(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="data.source: file not found"):
        read_table(tmp_path / "nope.csv")


def test_duplicate_header(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,a\n1,2\n")
    with pytest.raises(DataError, match="names column 'a' twice"):
        read_table(path)


def test_parquet(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "t.parquet")
    assert list(read_table(tmp_path / "t.parquet")["a"]) == [1, 2]


def test_corrupt_parquet(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_table(tmp_path / "t.parquet")
