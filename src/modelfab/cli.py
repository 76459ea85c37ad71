"""The `modelfab` command. Errors print as one clear message and a non-zero exit; `--debug`
shows the traceback."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="modelfab: a model factory for manufacturing data.")
models_app = typer.Typer(no_args_is_help=True, help="The model registry: list, promote, roll back.")
app.add_typer(models_app, name="models")
out = Console()
err = Console(stderr=True)
STATE = {"debug": False}

SpecPath = Annotated[Path, typer.Argument(help="fab.yaml, or the folder holding it.")]


def load_spec(path):  # noqa: ANN001, ANN201 - imported on use, so `modelfab --help` stays quick
    """The project; from here on, libraries' output goes to a log file in its store."""
    from modelfab.logs import capture
    from modelfab.spec import load_spec as load

    project = load(path)
    capture(project.store_dir / "logs", sys.argv[1] if len(sys.argv) > 1 else "modelfab", STATE["debug"])
    return project


def run_pipeline(project, rerun_from: str | None = None):  # noqa: ANN001, ANN201
    from modelfab.pipelines import run

    return run(project, rerun_from=rerun_from)


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    STATE["debug"] = debug


def fail(exc: BaseException) -> None:
    from modelfab.errors import FabError

    if STATE["debug"]:
        raise exc
    code = getattr(exc, "exit_code", 1) if isinstance(exc, FabError) else 1
    message = str(exc) if isinstance(exc, FabError) else f"unexpected {type(exc).__name__}: {exc}"
    # The message holds the user's names ("Speed [rpm]"): escaped, so Rich prints them as they are.
    err.print(f"[bold red]error:[/bold red] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    if not isinstance(exc, FabError):
        err.print("run again with --debug for the traceback")
    raise typer.Exit(code)


def guarded(func):  # noqa: ANN001, ANN201
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err.print("[red]interrupted[/red]; nothing stored was lost. Run the same command again to resume.")
            raise typer.Exit(130) from None
        except Exception as exc:  # every error becomes one message; --debug shows more
            fail(exc)

    return wrapper


@app.command()
@guarded
def run(
    spec: SpecPath = Path("fab.yaml"),
    rerun_from: Annotated[Optional[str], typer.Option("--from", help="Re-run this stage and all after it.")] = None,  # noqa: UP045
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line: run id, stages, metrics.")] = False,
) -> None:
    """Run every stage: ingest, validate, clean, split, featurize, train, evaluate, gate, register."""

    started = time.perf_counter()
    project = load_spec(spec)
    result = run_pipeline(project, rerun_from=rerun_from)
    from modelfab.hooks.history import summarize

    summary = summarize(result, time.perf_counter() - started)
    if as_json:
        print(json.dumps(summary, default=str))
    else:
        print_summary(summary)


def print_summary(s: dict) -> None:
    for warning in s.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if screening := s.get("importance_screening"):
        out.print(f"importance: {screening['columns']} columns screened in {screening['groups']} groups; the "
                  f"{screening['measured']} columns of the groups that mattered most measured one by one "
                  "(evaluate.importance_max_columns)", highlight=False)
    if s.get("report"):
        out.print(f"report: {escape(s['report'])}", highlight=False, soft_wrap=True)
    if explained := s.get("explanation"):
        if "skipped" in explained:
            out.print(f"explanation: not made ({escape(explained['skipped'])})", highlight=False)
        else:
            out.print(f"explanation ({escape(explained['method'])}): {escape(', '.join(explained['top']))} move it most; "
                      f"plots in {escape(explained['path'])}/plots", highlight=False)
    if positive := s.get("positive"):
        how = {"data.positive": "set by data.positive", "the rarer class": "the rarer class; data.positive sets it"}
        said = how.get(positive["chosen"], positive["chosen"])
        out.print(f"positive class: {escape(repr(positive['class']))} ({positive['share']:.1%} of rows, {escape(said)})",
                  highlight=False)
    table = Table(title="metrics on the test rows", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in s["metrics"].items():
        table.add_row(k, f"{v:.4f}")
    out.print(table)
    v = s.get("validation")
    if v and "rmse" in v:
        out.print(f"validation units, rows within {v['horizon']:g} steps of the end: RMSE {v['rmse']:.4f}, "
                  f"MAE {v['mae']:.4f}, bias {v['bias']:+.4f} ({v['rows']} rows, {v['entities']} units)")
    elif v:
        out.print(f"validation within {v['horizon']:g} steps of the end: skipped, {v['skipped']}")
    verdict = "[green]blessed[/green]" if s["blessed"] else "[yellow]not blessed[/yellow]"
    out.print(f"gate: {verdict}: {s['gate']}")
    if s["registered"]:
        out.print(f"registered [bold]{s['model']}[/bold] version {s['model_version']} as champion")
    elif s["model_version"] and s.get("registration_cached"):
        # The registry may have moved since (a rollback): `models list` says where the alias is now.
        out.print(f"registration unchanged from an earlier run: [bold]{s['model']}[/bold] version "
                  f"{s['model_version']} (`modelfab models list` shows the champion now)")
    elif s["model_version"]:
        out.print(f"champion stays {s['model']} version {s['model_version']}")
    cached = sum(v["cached"] for v in s["stages"].values())
    out.print(f"run {s['run_id']} in {s['seconds']:.2f} s ({cached}/{len(s['stages'])} stages cached)")


@app.command()
@guarded
def init(
    data: Annotated[Path, typer.Argument(help="CSV, JSONL or Parquet file, or a folder of class subfolders of images.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict (for an image folder: its name).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the spec.")] = Path("fab.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
    budget: Annotated[str, typer.Option("--budget", help="train.time_budget: the train stage's time at most "
                                        "(120s, 5m, 2h).")] = "120s",
    time: Annotated[str | None, typer.Option("--time", help="data.time: the column of when each row's outcome is "
                                             "known; a date column recorded after it is dropped as a leak.")] = None,
) -> None:
    """Write a commented fab.yaml for DATA, inferring the task from TARGET."""
    from modelfab.pipelines.scaffold import write_spec
    from modelfab.spec.sections.train import parse_duration

    try:
        seconds = float(parse_duration(budget, "--budget"))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    written = write_spec(data, target, output, force, seconds, time)
    for kind, columns in sorted(written.kinds.items()):
        shown = ", ".join(columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
        out.print(f"columns: {kind} ({len(columns)}): {escape(shown)}", highlight=False)
    for said in written.repaired.values():
        out.print(f"clean.invalid: {escape(said)}", highlight=False)
    for column, why in written.dropped[:20]:
        out.print(f"data.drop: {escape(repr(column))}: {escape(why)}", highlight=False)
    if len(written.dropped) > 20:
        out.print(f"data.drop: and {len(written.dropped) - 20} more (see {escape(str(output))})", highlight=False)
    for found in written.combined:
        out.print(f"features.combine: {found.op} of {escape(' and '.join(map(repr, found.columns)))}: "
                  f"{escape(found.evidence)}", highlight=False)
    if written.gate:
        out.print(f"gate: {escape(written.gate)}", highlight=False)
    if written.budget:
        out.print(f"train: type auto within {written.budget:g} s (train.time_budget)", highlight=False)
    out.print(f"wrote {escape(str(output))} ({written.task} task on {escape(repr(target))}); next: modelfab run "
              f"{escape(str(output))}", highlight=False)


@app.command()
@guarded
def schema() -> None:
    """Print the JSON Schema of fab.yaml (for editors)."""
    from modelfab.spec import json_schema

    print(json_schema())


@app.command()
@guarded
def status(spec: SpecPath = Path("fab.yaml")) -> None:
    """Which stages are cached for the spec as it is now, and the champion."""
    from modelfab.pipelines.status import stage_status

    project = load_spec(spec)
    table = Table(title=f"{project.spec.name}: stages")
    for col in ("stage", "state", "outputs"):
        table.add_column(col)
    colour = {"cached": "green", "checked": "green", "to run": "yellow"}
    for row in stage_status(project):
        c = colour[row["state"]]
        table.add_row(row["stage"], f"[{c}]{row['state']}[/{c}]", ", ".join(row["outputs"]))
    out.print(table)


@app.command()
@guarded
def predict(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file with the model's input columns.")],
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@ALIAS, NAME/VERSION, or NAME (its champion).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write predictions (CSV or Parquet).")],
    spec: Annotated[Path, typer.Option("--spec", help="fab.yaml whose registry to use.")] = Path("fab.yaml"),
) -> None:
    """Batch prediction with a registered model; the input is checked against its schema."""
    from modelfab.serve.batch import predict_file

    project = load_spec(spec)
    rows, version = predict_file(project, model, data, output)
    out.print(f"wrote {rows} predictions of {version} to {output}")


class Form(StrEnum):
    served = "served"
    fp32 = "fp32"
    int8 = "int8"
    pruned = "pruned"


@app.command("export")
@guarded
def export_model(
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@ALIAS, NAME/VERSION, or NAME (its champion).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write (a .json beside it).")],
    spec: Annotated[Path, typer.Option("--spec", help="fab.yaml whose registry to use.")] = Path("fab.yaml"),
    form: Annotated[Form, typer.Option("--form", help="served: the form the ONNX server loads (the fastest kept "
                                       "compressed one, else fp32); or fp32, int8, pruned.")] = "served",
) -> None:
    """Write a registered version's ONNX graph, and a JSON of its inputs and outputs."""
    from modelfab.export.files import write_export

    version, side = write_export(load_spec(spec), model, output, str(form))
    out.print(f"wrote {version} to {output} (inputs and outputs: {side})")


class Fallback(StrEnum):
    none = "none"
    previous = "previous"


@app.command()
@guarded
def report(
    spec: SpecPath = Path("fab.yaml"),
    run_id: Annotated[Optional[str], typer.Option("--run", help="A run id (default: the latest run).")] = None,  # noqa: UP045
) -> None:
    """Print the path of a run's report.html (open it in a browser)."""
    from modelfab.report.index import find

    project = load_spec(spec)
    print(find(project.store_dir, run_id))


@app.command()
@guarded
def explain(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file with the model's input columns.")],
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@ALIAS, NAME/VERSION, or NAME (its champion).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write contributions (CSV or Parquet).")],
    spec: Annotated[Path, typer.Option("--spec", help="fab.yaml whose registry and explain: section to use.")] = Path(
        "fab.yaml"),
) -> None:
    """Why each row got its prediction: each input column's contribution, the base value and the
    raw output they add up to."""
    from modelfab.serve.batch import explain_file

    project = load_spec(spec)
    rows, version, method = explain_file(project, model, data, output)
    out.print(f"wrote the contributions of {rows} rows by {escape(version)} ({method}) to {escape(str(output))}",
              highlight=False)


@app.command()
@guarded
def ui(
    spec: Annotated[Path, typer.Option("--spec", help="fab.yaml whose store, registry and prediction log to show.")] = Path(
        "fab.yaml"),
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless told).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65_535)] = 8080,
) -> None:
    """The dashboard: runs, models (promote and roll back behind the API key) and the prediction log."""
    import uvicorn

    from modelfab.serve.app import read_api_key
    from modelfab.ui.app import create_ui

    project = load_spec(spec)
    application = create_ui(project, read_api_key(project))
    err.print(f"modelfab ui for {project.spec.name} on http://{host}:{port}")
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command()
@guarded
def serve(
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@ALIAS (followed when it moves), NAME/VERSION or NAME.")],
    spec: Annotated[Path, typer.Option("--spec", help="fab.yaml whose registry, store and serve: section to use.")] = Path(
        "fab.yaml"),
    host: Annotated[Optional[str], typer.Option("--host", help="Overrides serve.host.")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option("--port", min=1, max=65_535, help="Overrides serve.port.")] = None,  # noqa: UP045, E501
    fallback: Annotated[Fallback, typer.Option(
        "--fallback", help="previous: if the model cannot be served (damaged), serve the newest earlier good version.")
    ] = Fallback.none,
    runtime: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--runtime", help="Overrides serve.runtime: python, or onnx (the version's exported graph).")] = None,
) -> None:
    """Serve a registered model over HTTP (REST and Open Inference Protocol v2); every
    prediction is logged before it is answered."""
    import uvicorn

    from modelfab.serve.app import create_app

    project = load_spec(spec)
    if runtime not in (None, "python", "onnx"):
        from modelfab.errors import FabError

        raise FabError(f"--runtime {runtime!r}: expected python or onnx")
    application = create_app(project, model, fallback=fallback.value, runtime=runtime)
    if application.state.holder.note:
        err.print(f"[yellow]warning:[/yellow] {escape(application.state.holder.note)}", highlight=False)
    cfg = project.spec.serve
    host, port = host or cfg.host, port or cfg.port
    served = application.state.holder.current
    err.print(f"serving {served.name} version {served.version} on http://{host}:{port} "
              f"(docs at /docs, prediction log {application.state.log.where})")
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command()
@guarded
def monitor(
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@ALIAS, NAME/VERSION or NAME (its champion).")],
    spec: Annotated[Path, typer.Option("--spec", help="fab.yaml whose registry, log and monitor: section to use.")] = Path(
        "fab.yaml"),
    last: Annotated[Optional[int], typer.Option("--last", help="Only the newest N logged predictions.")] = None,  # noqa: UP045
    hours: Annotated[Optional[float], typer.Option("--hours", help="Only the last H hours.")] = None,  # noqa: UP045
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Report folder.")] = None,  # noqa: UP045
    fail_on: Annotated[Optional[str], typer.Option("--fail-on", help="Exit 3 at this status or worse: warn or drift.")] = None,  # noqa: UP045
) -> None:
    """Drift, data quality and performance of the logged predictions against the training
    reference: report.json, report.html with plots, and a status (ok, warn, drift)."""
    from modelfab.errors import SpecError
    from modelfab.monitor.run import STATUS_ORDER
    from modelfab.monitor.run import monitor as run_monitor

    if fail_on not in (None, "warn", "drift"):
        raise SpecError([f"--fail-on: got {fail_on!r}; expected warn or drift"], "command line")
    project = load_spec(spec)
    folder = output or project.store_dir / "monitor" / time.strftime("%Y%m%d-%H%M%S")
    report = run_monitor(project, model, folder, last=last, hours=hours)
    colour = {"ok": "green", "warn": "yellow", "drift": "red"}[report["status"]]
    out.print(f"{report['model']} version {report['version']}: [{colour}]{report['status']}[/{colour}] "
              f"over {report['rows']} logged predictions")
    for line in report["reasons"] + report["warnings"]:
        out.print(f"  - {line}")
    out.print(f"report: {folder / 'report.html'}")
    if fail_on and STATUS_ORDER[report["status"]] >= STATUS_ORDER[fail_on]:
        raise typer.Exit(3)


@app.command()
@guarded
def retrain(
    spec: SpecPath = Path("fab.yaml"),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="The model whose log to use; the spec's champion by default.")] = None,  # noqa: UP045, E501
) -> None:
    """Train a challenger on the original data plus labelled logged predictions, gate it against
    the champion on the newest labelled rows, and promote it only if the gate blesses it."""
    from modelfab.monitor.retrain import retrain as run_retrain

    result = run_retrain(load_spec(spec), model)
    print_retrain(result)


def print_retrain(result: dict) -> None:
    out.print(f"challenger trained on {result['trained_on_logged']} logged rows (+ the original data), judged on "
              f"the newest {result['held_out']}")
    if result["registered"]:
        out.print(f"[green]promoted[/green]: version {result['version']} replaces version {result['champion_before']}")
    else:
        out.print(f"[yellow]champion kept[/yellow] (version {result['champion_before']}): {result['reason']}")


def seconds_of(every: str) -> float:
    from modelfab.errors import SpecError

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(every[:-1]) * units[every[-1]] if every[-1] in units else float(every)
    except (ValueError, IndexError):
        raise SpecError([f"--every: got {every!r}; expected a number with s, m, h or d (30m, 1h)"], "command line") from None


@app.command()
@guarded
def watch(
    spec: SpecPath = Path("fab.yaml"),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="The model to watch; the spec's champion by default.")] = None,  # noqa: UP045, E501
    every: Annotated[str, typer.Option("--every", help="How often: 30m, 1h, 1d.")] = "1h",
    times: Annotated[Optional[int], typer.Option("--times", help="Stop after this many checks.")] = None,  # noqa: UP045
    hours: Annotated[Optional[float], typer.Option("--hours", help="Monitor the last H hours of the log.")] = None,  # noqa: UP045
) -> None:
    """Monitor on a schedule and retrain when the status reaches retrain.on (drift by default)."""
    from modelfab.errors import FabError
    from modelfab.monitor.retrain import retrain as run_retrain
    from modelfab.monitor.run import STATUS_ORDER
    from modelfab.monitor.run import monitor as run_monitor

    pause = seconds_of(every)
    project = load_spec(spec)
    ref = model or f"{project.spec.model_name}@{project.spec.register_.alias}"
    done = 0
    while times is None or done < times:
        folder = project.store_dir / "monitor" / time.strftime("%Y%m%d-%H%M%S")
        try:
            report = run_monitor(project, ref, folder, hours=hours)
            out.print(f"{time.strftime('%H:%M:%S')} {report['model']} v{report['version']}: {report['status']} "
                      f"({report['rows']} predictions; {folder / 'report.html'})")
            if STATUS_ORDER[report["status"]] >= STATUS_ORDER[project.spec.retrain.on]:
                print_retrain(run_retrain(project, ref))
        except FabError as exc:  # no traffic yet, too few labels: say so and keep watching
            out.print(f"{time.strftime('%H:%M:%S')} [yellow]skipped[/yellow]: {exc}")
        done += 1
        if times is None or done < times:
            time.sleep(pause)


@models_app.command("list")
@guarded
def models_list(
    name: Annotated[Optional[str], typer.Argument(help="Only this model.")] = None,  # noqa: UP045
    spec: Annotated[Path, typer.Option("--spec")] = Path("fab.yaml"),
) -> None:
    """Registered models, versions, aliases and metrics."""
    from modelfab.registry import client as registry

    project = load_spec(spec)
    c = registry.client(project.tracking_uri)
    table = Table(title="model registry")
    for col in ("model", "version", "aliases", "blessed", "metrics"):
        table.add_column(col)
    found = registry.versions(c, name)  # an unknown name is a RegistryError naming what exists
    aliases = registry.aliases(c, name)
    for v in found:
        shown = ", ".join(f"{k.split('.')[-1]}={val}" for k, val in v.tags.items() if k.startswith("modelfab.metric."))
        table.add_row(escape(v.name), str(v.version), ", ".join(aliases.get((v.name, v.version), ())),
                      "yes" if v.blessed else "no", shown)
    out.print(table)


@models_app.command("promote")
@guarded
def models_promote(
    name: str, version: int,
    spec: Annotated[Path, typer.Option("--spec")] = Path("fab.yaml"),
    alias: Annotated[str, typer.Option("--alias")] = "champion",
) -> None:
    """Give ALIAS to VERSION; refused unless the gate blessed it."""
    from modelfab.registry import client as registry

    project = load_spec(spec)
    info = registry.promote(registry.client(project.tracking_uri), name, version, alias, check=probed(project))
    out.print(f"{name} version {info.version} is now @{alias}")


@models_app.command("rollback")
@guarded
def models_rollback(
    name: str,
    spec: Annotated[Path, typer.Option("--spec")] = Path("fab.yaml"),
    alias: Annotated[str, typer.Option("--alias")] = "champion",
) -> None:
    """Give ALIAS back to the version that held it before."""
    from modelfab.registry import client as registry

    project = load_spec(spec)
    old, new = registry.rollback(registry.client(project.tracking_uri), name, alias, check=probed(project))
    out.print(f"{name}@{alias}: version {old.version if old else '-'} -> version {new.version}")


def probed(project):  # noqa: ANN001, ANN201
    """The check before an alias moves: the version is loaded and scored in a child process."""
    from modelfab.package.probe import probe

    return lambda info: probe(info.package, f"{info.name} version {info.version}", project.store_dir / "cache")


if __name__ == "__main__":
    sys.exit(app())
