"""Every run writes one self-contained report.html: nothing fetched (no http, no script, plots
embedded as PNG data that decodes), users' names escaped, the sections a plant engineer reads;
`modelfab report` prints its path, the latest or a given run's."""

from __future__ import annotations

import base64
import json
import re

from typer.testing import CliRunner

from modelfab.cli import app
from tests.conftest import BINARY_SPEC, machine_table, write_project


def cli(*args):  # noqa: ANN001, ANN201
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_run_writes_a_self_contained_report_and_says_where(tmp_path):
    frame = machine_table().rename(columns={"Type": "Type <b>&"})
    path = write_project(tmp_path, frame, BINARY_SPEC)
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    page = open(summary["report"], encoding="utf-8").read()
    for section in ("Data", "Metrics on the test rows", "The gate", "Why the model says what it says", "Lineage"):
        assert f"<h2>{section}</h2>" in page
    assert "Type &lt;b&gt;&amp;" in page and "Type <b>&" not in page  # a user's name is text, not markup
    assert not re.search(r"(src|href)=\"(?!data:)", page) and "<script" not in page and "http" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    # confusion matrix, ROC/PR, calibration, importance, three explanation plots, train beside test
    assert len(images) == 8
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "blessed" in page and "registered machines version 1" in page
    assert "95% interval" in page and "the first run in this store" in page
    assert re.search(r"<td class=n>0\.\d+ – 0\.\d+</td>", page)  # an interval beside a metric
    assert cli("report", path).stdout.strip() == summary["report"]
    assert cli("report", path, "--run", summary["run_id"][:6]).stdout.strip() == summary["report"]
    missing = cli("report", path, "--run", "nope")
    assert missing.exit_code == 3 and "no report for run 'nope'" in missing.output


def test_the_next_report_says_what_changed_since_the_last_different_run(tmp_path):
    def run() -> tuple[dict, str]:
        result = cli("run", path, "--json")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        return summary, open(summary["report"], encoding="utf-8").read()

    path = write_project(tmp_path, machine_table(), BINARY_SPEC)
    first, _ = run()
    again, _ = run()
    assert again["report"] == first["report"]
    assert all(s["cached"] for name, s in again["stages"].items() if name not in ("members", "champion"))
    path.write_text(path.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    changed, page = run()
    assert "spec train.learning_rate: 0.1 -&gt; 0.05" in page
    assert "package: a different artifact" in page and "metric roc_auc:" in page
    path.write_text(path.read_text().replace("learning_rate: 0.05", "learning_rate: 0.1"))
    back, page = run()  # compared with the run in between, not with itself
    assert back["report"] != first["report"] and "spec train.learning_rate: 0.05 -&gt; 0.1" in page
