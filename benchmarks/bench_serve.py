"""Serving benchmark: single-row predictions of the AI4I LightGBM model over HTTP on loopback.

    python benchmarks/bench_serve.py                # latency (1 client) and throughput (1, 8, 64 clients)
    python benchmarks/bench_serve.py --load 60      # plus 64 clients for 60 s: errors, log rows
    python benchmarks/bench_serve.py --peers        # plus `mlflow models serve` on the same model

The server runs in its own process (`modelfab serve`, one uvicorn worker); the clients are
threads of this process with keep-alive connections, so every server is measured with the same
client. Requests are bounded in number and time and go to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ROW = {"Type": "M", "Air temperature [K]": 298.1, "Process temperature [K]": 308.6,
       "Rotational speed [rpm]": 1551, "Torque [Nm]": 42.8, "Tool wear [min]": 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def trained_example() -> Path:
    folder = ROOT / "examples" / ".bench-serve"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "examples" / "predictive-maintenance", folder, ignore=shutil.ignore_patterns(".fab"))
    subprocess.run([sys.executable, "-m", "modelfab.cli", "run", str(folder)], check=True, capture_output=True)
    return folder


def launch(command: list[str], ready_url: str, name: str, env: dict | None = None, cwd: Path | None = None,
           limit: float = 120) -> subprocess.Popen:
    """Start a server process and wait until `ready_url` answers 2xx."""
    server = subprocess.Popen(command, env=os.environ | {"OMP_NUM_THREADS": "1"} | (env or {}), cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            httpx.get(ready_url, timeout=1).raise_for_status()
            return server
        except httpx.HTTPError:
            if server.poll() is not None:
                raise SystemExit(server.stderr.read().decode()[-3000:]) from None
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"{name} did not start within {limit:.0f} s")


def start_server(folder: Path, port: int) -> subprocess.Popen:
    return launch([sys.executable, "-m", "modelfab.cli", "serve", "--model", "predictive-maintenance",
                   "--spec", str(folder), "--port", str(port)], f"http://127.0.0.1:{port}/v2/health/ready", "modelfab serve")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_mlflow(folder: Path, port: int) -> subprocess.Popen:
    """MLflow's own server over the same registered model (a pyfunc that wraps the package).
    It needs --env-manager local (no network) and this venv's bin on PATH."""
    bin_dir = Path(sys.executable).parent
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{folder / '.fab' / 'mlflow.db'}", "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return launch([str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/predictive-maintenance@champion",
                   "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1", "-w", "1"],
                  f"http://127.0.0.1:{port}/ping", "mlflow models serve", env=env)


def start_bentoml(folder: Path, port: int) -> subprocess.Popen | None:
    """BentoML from its own venv (benchmarks/peers/setup_bentoml.sh), over the champion's package."""
    bentoml = ROOT / "benchmarks" / ".work" / "peer-bentoml" / "bin" / "bentoml"
    if not bentoml.exists():
        print("(BentoML skipped: run benchmarks/peers/setup_bentoml.sh first)")
        return None
    import modelfab
    from modelfab.registry import client as registry

    project = modelfab.load_spec(folder)
    package = registry.resolve(registry.client(project.tracking_uri), "predictive-maintenance").package
    env = {"MODELFAB_PACKAGE": str(package), "BENTOML_DO_NOT_TRACK": "true", "DO_NOT_TRACK": "true"}
    return launch([str(bentoml), "serve", "bento_service:Machine", "--port", str(port), "--host", "127.0.0.1"],
                  f"http://127.0.0.1:{port}/readyz", "bentoml serve", env=env, cwd=ROOT / "benchmarks" / "peers")


def measure_peer(rows: list, name: str, url: str, body: dict) -> None:
    run_clients(url, 1, requests=200, body=body)
    rows.append([f"{name}: 1 client, 1,000 sequential", run_clients(url, 1, requests=1000, body=body)])
    for clients in (8, 64):
        rows.append([f"{name}: {clients} clients, 10 s", run_clients(url, clients, seconds=10, body=body)])


def run_clients(url: str, clients: int, seconds: float | None = None, requests: int | None = None,
                body: dict | None = None) -> dict:
    """`clients` threads, each with a keep-alive connection, until the time or count is spent."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds if seconds else None
    per_client = (requests // clients) if requests else None

    def client() -> None:
        mine, bad = [], 0
        with httpx.Client(timeout=10) as http:
            n = 0
            while (per_client is None or n < per_client) and (stop_at is None or time.perf_counter() < stop_at):
                started = time.perf_counter()
                try:
                    ok = http.post(url, json=body or ROW).status_code == 200
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - started)
                bad += not ok
                n += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors[0], "rps": len(latencies) / wall,
            "p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000}


def log_rows(folder: Path) -> int:
    from modelfab.predlog.log import PredictionLog

    return PredictionLog(folder / ".fab" / "predictions.db").count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", type=float, default=0, help="seconds of 64-client load at the end (0: none)")
    parser.add_argument("--peers", action="store_true", help="also measure `mlflow models serve`")
    args = parser.parse_args()
    folder = trained_example()
    port = free_port()
    server = start_server(folder, port)
    url = f"http://127.0.0.1:{port}/predict"
    try:
        run_clients(url, 1, requests=200)  # warm-up
        rows = [["1 client, 1,000 sequential requests", run_clients(url, 1, requests=1000)]]
        for clients in (8, 64):
            rows.append([f"{clients} clients, 10 s", run_clients(url, clients, seconds=10)])
        if args.peers:
            server.terminate()  # one server at a time: they share the 2 cores with the clients
            server.wait(timeout=10)
            peer_port = free_port()
            peer = start_mlflow(folder, peer_port)
            try:
                measure_peer(rows, "mlflow models serve", f"http://127.0.0.1:{peer_port}/invocations",
                             {"dataframe_records": [ROW]})
            finally:
                peer.terminate()
                peer.wait(timeout=10)
            peer = start_bentoml(folder, peer_port)
            if peer is not None:
                try:
                    measure_peer(rows, "BentoML", f"http://127.0.0.1:{peer_port}/predict", {"record": ROW})
                finally:
                    peer.terminate()
                    peer.wait(timeout=20)
            server = start_server(folder, port)
        print("\n### Single-row prediction over HTTP, AI4I LightGBM, loopback\n")
        print("| server and load | requests | errors | req/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|")
        for name, r in rows:
            print(f"| {name} | {r['requests']} | {r['errors']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
        if args.peers:
            ours = rows[2][1]["rps"]
            for name, r in rows[3:]:
                if name.endswith("64 clients, 10 s"):
                    print(f"\nthroughput at 64 clients: modelfab {ours:.0f} req/s, {name.split(':')[0]} "
                          f"{r['rps']:.0f} req/s: {ours / r['rps']:.1f}x")
        if args.load:
            before = log_rows(folder)
            r = run_clients(url, 64, seconds=args.load)
            time.sleep(0.5)
            logged = log_rows(folder) - before
            print(f"\nload: 64 clients for {args.load:.0f} s: {r['requests']} requests, {r['errors']} errors, "
                  f"{r['rps']:.0f} req/s; prediction log rows added {logged} "
                  f"({'equal to' if logged == r['requests'] - r['errors'] else 'NOT equal to'} acknowledged responses)")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
