import json

import pytest
from typer.testing import CliRunner

from modelfab.cli import app
from modelfab.errors import SpecError
from modelfab.spec import CURRENT_VERSION, migrations, parse_spec

BASE = "name: demo\ndata: {source: d.csv, target: y}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    return info.value.problems


def test_minimal_spec_gets_defaults():
    spec = parse_spec(BASE)
    assert spec.version == CURRENT_VERSION
    assert spec.train.type == "lightgbm"
    assert spec.split.test_size == 0.2
    assert spec.gate.rules == []


def test_unknown_key_names_line_and_suggests():
    found = problems("name: demo\ndata:\n  source: d.csv\n  target: y\n  tagret: z\n")
    assert found == [found[0]]
    assert "line 5" in found[0] and "data.tagret" in found[0] and "Did you mean 'target'" in found[0]


def test_all_problems_reported_at_once():
    text = BASE + "train: {type: lightgbm, learning_rate: -1, n_estimatrs: 3}\nsplit: {test_size: 2}\n"
    found = problems(text)
    assert len(found) == 3
    joined = "\n".join(found)
    assert "train.learning_rate: got -1" in joined
    assert "n_estimatrs" in joined and "n_estimators" in joined
    assert "split.test_size: got 2" in joined


def test_wrong_type_and_missing_key():
    found = problems("name: demo\ndata: {source: d.csv}\ntrain: {type: lightgbm, num_leaves: many}\n")
    assert any("data.target: required key is missing" in p for p in found)
    assert any("train.num_leaves: got 'many'" in p for p in found)


def test_unknown_family_suggests():
    found = problems(BASE + "train: {type: lightgmb}\n")
    assert "train" in found[0] and "lightgbm" in found[0]


def test_unknown_key_lists_the_keys_of_the_chosen_family():
    """The allowed keys are the family's own, also for a member of an ensemble or a search's model."""
    found = problems(BASE + "train: {type: ensemble, foldz: 3}\n")
    assert "train.foldz" in found[0] and "Did you mean 'folds'" in found[0] and "rounds" in found[0]
    assert "num_leaves" not in found[0]
    found = problems(BASE + "train: {type: ensemble, members: [{type: linear}, {type: extra_trees, n_estimator: 3}]}\n")
    assert "train.members[1].n_estimator" in found[0] and "max_features" in found[0] and "num_leaves" not in found[0]
    found = problems(BASE + "train: {type: search, model: {type: lightgbm, lerning_rate: 0.1}}\n")
    assert "train.model.lerning_rate" in found[0] and "Did you mean 'learning_rate'" in found[0]


def test_a_family_answering_to_several_types_lists_its_keys():
    found = problems(BASE + "train: {type: gru, hiddn: 3}\n")
    assert "train.hiddn" in found[0] and "Did you mean 'hidden'" in found[0]


def test_a_family_without_type_names_the_missing_key():
    found = problems(BASE + "train: {learning_rate: 0.1}\n")
    assert "train.type: required key is missing" in found[0] and "lightgbm" in found[0]


def test_unknown_gate_metric_suggests():
    found = problems(BASE + "gate: {rules: [{metric: acuracy, min: 0.5}]}\n")
    assert "gate.rules[0].metric" in found[0] and "Did you mean 'accuracy'" in found[0]


def test_invalid_yaml_names_line():
    found = problems("name: demo\ndata: [unclosed\n")
    assert "line" in found[0] and "not valid YAML" in found[0]


@pytest.mark.parametrize("extra, expected", [
    ("data: {source: d.csv, target: y, drop: [y]}", "data.drop: lists the target"),
    ("gate: {rules: [{metric: f1}]}", "has no threshold"),
    ("gate: {rules: [{metric: rmse, min: 3}]}", "lower-is-better"),
    ("features: {windows: {columns: [a]}}\nsplit: {method: random}", "split.method"),
    ("task: regression\ngate: {rules: [{metric: f1, min: 0.5}]}", "needs a classification task"),
    ("data: {source: d.csv, target: y, remaining_life: {cap: 100}}", "needs data.entity and data.time"),
    ("data: {source: d.csv, target: y}\nfeatures: {combine: [{op: ratio, columns: [a, y]}]}",
     "features.combine[0]: combines the target 'y'"),
])
def test_cross_field_checks(extra, expected):
    text = BASE + extra + "\n" if not extra.startswith("data:") else "name: demo\n" + extra + "\n"
    assert any(expected in p for p in problems(text))


def test_newer_version_is_refused():
    assert any("version" in p for p in problems(BASE + f"version: {CURRENT_VERSION + 1}\n"))


def test_migration_upgrades_old_spec(monkeypatch):
    monkeypatch.setattr(migrations, "CURRENT_VERSION", CURRENT_VERSION + 1)

    @migrations.migration(CURRENT_VERSION)
    def rename(raw):
        raw["name"] = raw.pop("project")
        return raw

    try:
        raw, passed = migrations.migrate({"version": CURRENT_VERSION, "project": "old"})
    finally:
        migrations.MIGRATIONS.pop(CURRENT_VERSION)
    assert passed == [CURRENT_VERSION]
    assert raw == {"version": CURRENT_VERSION + 1, "name": "old"}


def test_schema_command_prints_json_schema():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "data" in schema["properties"] and "validate" in schema["properties"]
    assert schema["additionalProperties"] is False
