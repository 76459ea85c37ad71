"""The run report in a real browser: every image loads, the console is quiet, nothing is fetched
from anywhere, for a table model, a CNN's heat maps, a text net's tokens and a sensor net's steps."""

from __future__ import annotations

import modelfab
from tests.browser import assert_opens, needs_browser
from tests.conftest import BINARY_SPEC, machine_table, write_project
from tests.train.test_modalities import (
    CNN,
    TEXT_NET,
    engines,
    image_spec,
    image_tree,
    sequence_spec,
    text_spec,
    text_table,
)

pytestmark = needs_browser()


def report_of(run) -> object:  # noqa: ANN001
    return run.store.path(run.refs["run_report"]) / "report.html"


def test_a_table_models_report_opens_with_every_image_and_no_request(tmp_path):
    run = modelfab.run(modelfab.load_spec(write_project(tmp_path, machine_table(), BINARY_SPEC)), hooks=[])
    page = assert_opens(report_of(run), tmp_path, at_least=4)
    assert {"Data", "Metrics on the test rows", "The gate", "Lineage"} <= set(page.headings)


def test_the_nets_reports_open_with_heat_maps_tokens_and_time_steps(tmp_path):
    image_tree(tmp_path / "img" / "images", n=30)
    text_table().to_csv((tmp_path / "txt").mkdir() or tmp_path / "txt" / "orders.csv", index=False)
    engines().to_csv((tmp_path / "seq").mkdir() or tmp_path / "seq" / "engines.csv", index=False)
    specs = {"explain_images.png": image_spec(tmp_path / "img", train=CNN),
             "explain_tokens.png": text_spec(tmp_path / "txt", "tokens",
                                             f"{{type: gru, hidden: 16, layers: 1, embedding_dim: 8, {TEXT_NET}}}"),
             "explain_steps.png": sequence_spec(tmp_path / "seq")}
    for plot, spec in specs.items():
        run = modelfab.run(modelfab.load_spec(spec), hooks=[])
        report = report_of(run)
        assert plot.removesuffix(".png") in report.read_text(encoding="utf-8")
        assert_opens(report, tmp_path, at_least=3)


def test_the_browser_check_sees_a_missing_image_a_fetch_and_a_console_error(tmp_path):
    """The check itself can fail: a page that fetches from a host, shows a missing file and throws."""
    from tests.browser import open_file

    page = tmp_path / "bad.html"
    page.write_text('<h2>x</h2><img alt="far" src="http://example.com/a.png"><img alt="gone" src="gone.png">'
                    "<script>throw new Error('boom')</script>")
    seen = open_file(page, tmp_path)
    assert seen.outside == ["http://example.com/a.png"]
    assert set(seen.broken_images) == {"far", "gone"}
    assert any("boom" in e for e in seen.errors)
