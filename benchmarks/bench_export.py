"""Export benchmark (#21): the ONNX graph against the Python package, in the same process.

    python benchmarks/bench_export.py            # AI4I: batch-1 scoring in process, and over HTTP
    python benchmarks/bench_export.py --steel    # plus steel plates: the ensemble against its distilled LightGBM
    python benchmarks/bench_export.py --turbofan # plus turbofan's blend against the CNN it taught (fab.distill.yaml)
    python benchmarks/bench_export.py --compress # plus int8 and pruning of the nets (work-orders, digits,
                                                 # steel-defects, turbofan-rul's CNN; run their prepare.py first)

In process: one AI4I record scored by the package's record path (`Predictor.scores_of_records`)
and by the exported graph (`OnnxScorer.scores_of_records`: records fed straight to ONNX Runtime),
median of 3,000 calls each, interleaved. Over HTTP: `modelfab serve --runtime onnx`, `--runtime
python` and a bare FastAPI endpoint that returns a constant (the floor of the HTTP stack), one
at a time, by the same client (bench_serve's) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_serve import ROW, free_port, launch, run_clients  # noqa: E402


def example(name: str, spec: str = "fab.yaml", copy: str | None = None) -> object:
    """A run of an example's spec (a copy of its folder when `copy` names one: a fresh store)."""
    import modelfab

    folder = ROOT / "examples" / name
    if copy:
        target = ROOT / "examples" / copy
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns(".fab"))
        folder = target
    return modelfab.run(modelfab.load_spec(folder / spec), hooks=[])


def exported(run: object) -> tuple[Path, dict]:
    folder = run.store.path(run.refs["onnx"])
    return folder, json.loads((folder / "onnx.json").read_text())


def per_call_us(fn, calls: int = 3000) -> float:  # noqa: ANN001
    for _ in range(100):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def in_process(run: object) -> list[list]:
    from modelfab.export.runtime import OnnxScorer, feed_records
    from modelfab.package.predictor import Predictor

    predictor = Predictor(run.store.path(run.refs["package"]))
    predictor.warm()
    folder, info = exported(run)
    scorer = OnnxScorer(folder, info)
    records = [dict(ROW)]
    given = feed_records(records, info["inputs"])
    python = [per_call_us(lambda: predictor.scores_of_records(records), 1000) for _ in range(3)]
    onnx = [per_call_us(lambda: scorer.scores_of_records(records, predictor), 1000) for _ in range(3)]
    graph = per_call_us(lambda: scorer.session.run(["scores"], given))
    py, ox = statistics.median(python), statistics.median(onnx)
    return [["Python record path (transform + LightGBM)", py, 1.0],
            ["ONNX Runtime from the record (feed + graph)", ox, py / ox],
            ["ONNX Runtime, the graph alone", graph, py / graph]]


def over_http(run: object) -> list[list]:
    folder = run.project.spec_path.parent
    rows = []
    port = free_port()
    servers = [
        ("bare FastAPI, constant answer", [sys.executable, "-m", "uvicorn", "constant_app:app", "--port", str(port),
                                           "--log-level", "warning"], "/ready", ROOT / "benchmarks" / "peers"),
        *[(f"modelfab serve --runtime {rt}", [sys.executable, "-m", "modelfab.cli", "serve", "-m",
                                              "predictive-maintenance", "--spec", str(folder), "--port", str(port),
                                              "--runtime", rt], "/v2/health/ready", None) for rt in ("onnx", "python")],
    ]
    for name, command, ready, cwd in servers:
        server = launch(command, f"http://127.0.0.1:{port}{ready}", name, cwd=cwd)
        try:
            url = f"http://127.0.0.1:{port}/predict"
            run_clients(url, 1, requests=300)
            rows.append([name, run_clients(url, 1, requests=2000)])
        finally:
            server.terminate()
            server.wait(timeout=20)
    return rows


def steel() -> list[list]:
    """The example's ensemble against its distilled LightGBM: test accuracy, batch-1 latency."""
    from modelfab.package.predictor import Predictor

    out = []
    for spec in ("fab.yaml", "fab.distill.yaml"):
        run = example("steel-plates", spec)
        predictor = Predictor(run.store.path(run.refs["package"]))
        predictor.warm()
        test = run.load("splits").test
        records = test.drop(columns=["Fault"]).head(1).to_dict("records")
        accuracy = json.loads((run.store.path(run.refs["evaluation"]) / "metrics.json").read_text())["metrics"]["accuracy"]
        out.append([spec, accuracy, per_call_us(lambda p=predictor, r=records: p.scores_of_records(r), 500)])
    return out


def turbofan() -> list[list]:
    """The blend (0.7 x five CNNs + 0.3 LightGBM) and its distilled CNN: test RMSE, and the time
    to score the test file's rows through each package (median of 3)."""
    from modelfab.package.predictor import Predictor

    for spec in ("fab.yaml", "fab.cnn.yaml"):  # the blend's members, registered first
        example("turbofan-rul", spec)
    out = []
    for spec in ("fab.blend.yaml", "fab.distill.yaml"):
        run = example("turbofan-rul", spec)
        rmse = json.loads((run.store.path(run.refs["evaluation"]) / "metrics.json").read_text())["metrics"]["rmse"]
        predictor = Predictor(run.store.path(run.refs["package"]))
        test = run.load("splits").test
        times = []
        for _ in range(3):
            started = time.perf_counter()
            predictor.scores(test)
            times.append(time.perf_counter() - started)
        _, info = exported(run)
        out.append([spec, rmse, statistics.median(times) * 1000, len(test), info])
    return out


def print_turbofan() -> None:
    print("\n### Turbofan: the blend and the CNN it taught\n")
    print("| package | test RMSE | ms to score the test rows | exported |\n|---|---|---|---|")
    rows = turbofan()
    for spec, rmse, ms, n, info in rows:
        said = "yes, parity {:.2g}".format(info["parity"]["max_abs_diff"]) if info["exported"] else info["reason"]
        print(f"| {spec} | {rmse:.3f} | {ms:.0f} ({n} rows) | {said} |")
    print(f"\ndistilled: RMSE {rows[1][1] - rows[0][1]:+.3f} against the blend, {rows[0][2] / rows[1][2]:.1f}x faster")


PRUNE = "compress: {prune: {amount: 0.5, epochs: 2}}\n"
COMPRESSED = (  # example, spec, what the bench adds to it: int8 under the defaults; digits and turbofan's
    # CNN ask for pruning in their own specs, the Transformer here
    ("work-orders", "fab.yaml", ""), ("digits", "fab.yaml", ""), ("steel-defects", "fab.yaml", ""),
    ("turbofan-rul", "fab.cnn.yaml", ""), ("turbofan-rul", "fab.transformer.yaml", PRUNE),
)


def compressed(only: set[str]) -> list[list]:
    """Each example's compressed forms (int8, pruned) as its export stage measured them."""
    out = []
    for name, spec, extra in COMPRESSED:
        if only and name not in only:
            continue
        if extra:  # a variant spec beside the example's (the same store: train stays cached)
            folder = ROOT / "examples" / name
            variant = folder / f".bench-{Path(spec).stem}-compress.yaml"
            variant.write_text((folder / spec).read_text() + extra)
            spec = variant.name
        _, info = exported(example(name, spec))
        for form in ("int8", "pruned"):
            record = info.get(form) or ({"reason": info.get("reason", "not exported")} if not info["exported"] else None)
            if record:
                out.append([f"{name}/{spec} ({info.get('family')})", form, record])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steel", action="store_true")
    parser.add_argument("--turbofan", action="store_true", help="the blend against the CNN it taught")
    parser.add_argument("--compress", action="store_true", help="int8 and pruning of the nets' examples")
    parser.add_argument("--only", default="", help="with --compress: these examples (comma-separated)")
    parser.add_argument("--skip-ai4i", action="store_true", help="only the parts asked for")
    args = parser.parse_args()
    if not args.skip_ai4i:
        ai4i()
    if args.steel:
        print_steel()
    if args.turbofan:
        print_turbofan()
    if args.compress:
        print_compressed(set(filter(None, args.only.split(","))))


def ai4i() -> None:
    run = example("predictive-maintenance", copy=".bench-export")
    _, info = exported(run)
    print(f"\nAI4I export: parity {info['parity']['max_abs_diff']:.2e} on {info['parity']['rows']} test rows, "
          f"{info['bytes']:,} bytes\n")
    print("### AI4I, one record, in process (median µs a call)\n\n| path | µs | × faster than Python |\n|---|---|---|")
    for name, us, ratio in in_process(run):
        print(f"| {name} | {us:.0f} | {ratio:.2f} |")
    print("\n### AI4I over HTTP, 1 client, 2,000 sequential requests\n")
    print("| server | p50 ms | p99 ms | req/s | p50 / bare FastAPI |\n|---|---|---|---|---|")
    rows = over_http(run)
    floor = rows[0][1]["p50_ms"]
    for name, r in rows:
        print(f"| {name} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['rps']:.0f} | {r['p50_ms'] / floor:.2f} |")


def print_steel() -> None:
    print("\n### Steel plates: the ensemble and its distilled LightGBM\n")
    print("| package | test accuracy | batch 1 µs (record path) |\n|---|---|---|")
    rows = steel()
    for spec, acc, us in rows:
        print(f"| {spec} | {acc:.4f} | {us:.0f} |")
    print(f"\ndistilled: {rows[0][2] / rows[1][2]:.1f}x faster at batch 1, "
          f"{100 * (rows[0][1] - rows[1][1]):+.2f} points of accuracy lost")


def print_compressed(only: set[str]) -> None:
    print("\n### Compressed forms of the nets (ONNX Runtime), against fp32 in the same run\n")
    print("| example | form | method | fp32 KB | small KB | fp32 ms b1 | small ms b1 | fp32 ms b64 | small ms b64 | "
          "metric fp32 | metric small | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, form, r in compressed(only):
        if "fp32" not in r:
            print(f"| {name} | {form} | | | | | | | | | | {r['reason']} |")
            continue
        a, b = r["fp32"], r[form]
        print(f"| {name} | {form} | {r['method']} | {a['bytes'] / 1e3:.0f} | {b['bytes'] / 1e3:.0f} | "
              f"{a['ms_batch_1']:.3f} | {b['ms_batch_1']:.3f} | {a['ms_batch_64']:.3f} | {b['ms_batch_64']:.3f} | "
              f"{a['metric']:.4f} | {b['metric']:.4f} | {r['reason']} |")


if __name__ == "__main__":
    main()
