import pytest

from modelfab.artifacts import Blessing, DataReport, RawTable
from modelfab.errors import StageError
from modelfab.pipeline import Pipeline, stage
from modelfab.pipeline.cache import cache_key
from modelfab.pipelines.tables import PIPELINE as TABLE_PIPELINE


@stage("make", outputs={"raw": RawTable})
def make(ctx):
    ...


@stage("report", outputs={"report": DataReport})
def report(raw: RawTable):
    ...


@stage("judge", outputs={"blessing": Blessing})
def judge(report: DataReport):
    ...


def test_inputs_come_from_annotations():
    assert report.inputs == {"raw": RawTable}
    assert make.wants_ctx and not report.wants_ctx


def test_valid_pipeline_orders_stages():
    assert Pipeline((judge, report, make)).names() == ["make", "report", "judge"]


def test_missing_producer():
    with pytest.raises(StageError, match="needs 'raw', which no stage produces"):
        Pipeline((report, judge)).check()


def test_two_producers():
    other = stage("other", outputs={"raw": RawTable})(lambda: None)
    with pytest.raises(StageError, match="produced by both 'make' and 'other'"):
        Pipeline((make, other, report)).check()


def test_type_mismatch():
    wrong = stage("wrong", outputs={"raw": DataReport})(lambda: None)
    with pytest.raises(StageError, match="needs 'raw' as RawTable"):
        Pipeline((wrong, report)).check()


def test_cycle():
    @stage("a", outputs={"raw": RawTable})
    def a(blessing: Blessing): ...

    with pytest.raises(StageError, match="cycle"):
        Pipeline((a, report, judge)).check()


def test_unknown_parameter_is_refused_at_definition():
    with pytest.raises(StageError, match="parameter 'threshold'"):
        stage("bad", outputs={"raw": RawTable})(lambda threshold: None)


def test_downstream():
    assert TABLE_PIPELINE.downstream("train") == {"train", "evaluate", "export", "explain", "champion", "gate",
                                                  "register", "report"}
    assert TABLE_PIPELINE.downstream("register") == {"register", "report"}


def test_table_pipeline_is_valid():
    TABLE_PIPELINE.check()
    assert TABLE_PIPELINE.names()[0] == "ingest" and TABLE_PIPELINE.names()[-1] == "report"


def test_cache_key_changes_with_config_inputs_and_external():
    from modelfab.artifacts import Ref

    base = cache_key(report, {"x": 1}, {"raw": Ref("raw_table", "a" * 64)})
    assert base == cache_key(report, {"x": 1}, {"raw": Ref("raw_table", "a" * 64)})
    assert base != cache_key(report, {"x": 2}, {"raw": Ref("raw_table", "a" * 64)})
    assert base != cache_key(report, {"x": 1}, {"raw": Ref("raw_table", "b" * 64)})
    assert base != cache_key(report, {"x": 1}, {"raw": Ref("raw_table", "a" * 64)}, external="champion/2")
