"""The house's floors: every import of modelfab by modelfab runs down, but for the few listed in
docs/architecture.md, and no files import each other in a circle."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "modelfab"

# Bottom first. A room (a folder of src/modelfab, or a top-level module) may import the rooms on
# its own floor or below.
FLOORS = [
    ("errors", "version", "logs"),
    ("tasks",),
    ("spec",),
    ("artifacts", "predlog"),
    ("pipeline",),
    ("runners", "nn"),
    ("data",),
    ("features",),
    ("models",),
    ("package",),
    ("registry",),
    ("hooks",),
    ("train", "evaluate", "explain", "export"),
    ("report",),
    ("pipelines",),
    ("monitor",),
    ("serve",),
    ("ui",),
    ("cli",),
    ("__init__",),  # the facade: modelfab.load_spec, modelfab.run
]
# The imports that run up a floor, each with its reason (docs/architecture.md lists them too).
UPWARD = {
    ("src/modelfab/models/package.py", "modelfab.package.predictor"):
        "kept for registered models: their logged pyfunc code imports Predictor from here",
    ("src/modelfab/models/package.py", "modelfab.package.format"): "the same module: PACKAGE_FILE, as it had",
}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path) -> list[tuple[str, int]]:
    """Every `modelfab...` module this file imports, anywhere in it but under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    hidden = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
              for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(n, node.lineno) for n in names if n == "modelfab" or n.startswith("modelfab.")]
    return found


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor_of(name: str) -> int:
    return next(i for i, rooms in enumerate(FLOORS) if name in rooms)


def test_every_room_has_a_floor():
    assert {room(m) for m in modules()} <= {r for rooms in FLOORS for r in rooms}


def test_imports_run_down_but_for_the_listed_few():
    known, upward = modules(), []
    for module, path in known.items():
        for target, line in imports(path):
            if target not in known or room(target) == room(module):
                continue
            if floor_of(room(target)) > floor_of(room(module)):
                upward.append((str(path.relative_to(SRC.parents[1])), target, line))
    unlisted = [u for u in upward if (u[0], u[1]) not in UPWARD]
    assert not unlisted, unlisted
    assert len(UPWARD) <= 5


def test_no_files_import_each_other_in_a_circle():
    known = modules()
    graph = {m: {t for t, _ in imports(p) if t in known and t != m and not _is_parent(t, m)} for m, p in known.items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the circle


def _is_parent(package: str, module: str) -> bool:
    """`from modelfab.x import y` names package x from its own module x.y: not a circle by itself."""
    return module.startswith(package + ".")
