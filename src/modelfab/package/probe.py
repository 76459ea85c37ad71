"""Load a package and score its reference rows in a child process before it is trusted.

A package whose bytes match its digest can still take the process that loads it down: a
native library that aborts on a model file another version wrote, a segmentation fault in a
ctypes callback. The probe lets the child die instead of the server: the caller learns why and
keeps what it had. The child is a fresh interpreter (`python -m modelfab.package.probe`), not
a multiprocessing child: those re-run the caller's main script, which a user's script without
a `__main__` guard does not survive. A probe costs about two seconds, mostly imports, so one
that passed is remembered in the store (by the files' sizes and times and the libraries'
versions): each version is probed once per machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from modelfab.errors import StoreError

PROBE_ROWS = 64
LIBRARIES = ("lightgbm", "scikit-learn", "skops", "numpy", "torch")
_PASSED: set[str] = set()


def probe(folder: Path, what: str, memo_dir: Path | None = None, timeout: float = 300.0) -> None:
    """Raise StoreError naming `what` when loading or scoring the package fails or kills the child."""
    key = _key(Path(folder))
    if key in _PASSED or key in _recall(memo_dir):
        return
    try:
        code, error, said = _in_subprocess(Path(folder), timeout)
    except TimeoutError:
        raise StoreError(f"{what}: loading it and scoring its reference rows took over {timeout:.0f} s; "
                         "it is not served") from None
    if code != 0 or error:
        last = [line.strip() for line in said.splitlines() if line.strip()][-1:]
        why = error or f"the process loading it died ({_death(code)}{': ' + last[0][:300] if last else ''})"
        raise StoreError(f"{what} cannot be served: {why}. It was tried in a child process and is not loaded here")
    _PASSED.add(key)
    _remember(memo_dir, key)


def _in_subprocess(folder: Path, timeout: float) -> tuple[int | None, str | None, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH", "")])}
    try:
        child = subprocess.run([sys.executable, "-m", "modelfab.package.probe", str(folder)], env=env,
                               capture_output=True, encoding="utf-8", errors="replace", timeout=timeout,
                               check=False)
    except subprocess.TimeoutExpired:
        raise TimeoutError from None
    lines = child.stdout.strip().splitlines()
    answer = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return child.returncode, answer.get("error"), child.stderr


def _answer(folder: Path) -> str | None:
    """In the child: load the package and score its reference rows; the error, if any."""
    try:
        from modelfab.package.predictor import Predictor

        predictor = Predictor(folder)
        predictor.warm()
        kinds = {c["kind"] for c in predictor.meta["schema"]["columns"].values()}
        # Image paths in the reference point at the training machine's files, and a window of
        # sensor rows needs whole units: those packages are loaded only.
        flat = (predictor.meta.get("layout") or {"kind": "flat"})["kind"] == "flat"
        rows = predictor.reference_rows(PROBE_ROWS, predictor.meta["inputs"]) if flat and "image" not in kinds else None
        if rows is not None:
            predictor.predict_frame(rows, source="the package's reference rows")
        return None
    except Exception as exc:  # noqa: BLE001 - everything is reported to the parent
        return f"{type(exc).__name__}: {exc}"


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _key(folder: Path) -> str:
    stats = [(p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
             for p in sorted(folder.rglob("*")) if p.is_file()]
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return json.dumps([str(folder.resolve()), stats, versions, sys.version], separators=(",", ":"))


def _memo_path(memo_dir: Path) -> Path:
    return memo_dir / "probed.json"


def _recall(memo_dir: Path | None) -> set[str]:
    if memo_dir is None or not _memo_path(memo_dir).is_file():
        return set()
    try:
        return set(json.loads(_memo_path(memo_dir).read_text()))
    except ValueError:
        return set()


def _remember(memo_dir: Path | None, key: str) -> None:
    if memo_dir is None:
        return
    from modelfab.artifacts.store import atomic_write_text

    known = sorted(_recall(memo_dir) | {key})[-200:]
    atomic_write_text(_memo_path(memo_dir), json.dumps(known))


if __name__ == "__main__":
    print(json.dumps({"error": _answer(Path(sys.argv[1]))}))
