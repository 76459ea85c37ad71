"""The dashboard in a real browser (Debian's chromium, driven by Playwright), with the server and
the browser together in a loopback-only network namespace: every page opens, links are followed,
promote is refused with a wrong key and done with the right one, roll back undoes it, the
console is quiet and no request leaves 127.0.0.1. Screenshots are kept beside the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from modelfab.registry import client as registry
from tests.browser import _netns_works, needs_browser
from tests.ui.test_ui import KEY, project  # noqa: F401 - the module's project fixture

pytestmark = needs_browser()


def test_every_page_opens_and_the_forms_work_with_only_loopback(project, tmp_path):  # noqa: F811
    c = registry.client(project.tracking_uri)
    champion = registry.champion(c, "machines").version
    browse = [sys.executable, "-m", "tests.ui.browse", str(project.root / "fab.yaml"), str(tmp_path), KEY]
    if _netns_works():
        command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *browse]
    else:
        command = browse  # chromium still makes no lookup (--host-resolver-rules)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=os.getcwd(),
                          env={**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads((tmp_path / "seen.json").read_text())
    pages = seen["pages"]
    assert all(pages[name]["status"] == 200 for name in ("runs", "run", "report", "models", "predictions"))
    assert pages["missing"]["status"] == 404 and seen["followed"].startswith("/runs/")
    assert seen["next"].startswith("21-40 of")
    assert "nothing was changed" in pages["promote-wrong-key"]["text"]
    assert pages["promote"]["url"] == "/models" and pages["rollback"]["url"] == "/models"
    assert registry.champion(c, "machines").version == champion  # promoted, then rolled back
    assert not seen["errors"], seen["errors"]
    assert not seen["outside"], seen["outside"]
    assert all((tmp_path / f"{name}.png").stat().st_size > 1000 for name in ("runs", "run", "models", "predictions"))
