"""Run inside a loopback-only network namespace (see test_browser.py): start the dashboard on
127.0.0.1, open every page in Debian's chromium through Playwright, follow the links, promote
and roll back through the page's forms with and without the key, and write what was seen
(console errors, requests that left 127.0.0.1, statuses, load times) as JSON; one screenshot a page.

    python -m tests.ui.browse SPEC OUT KEY
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn

import modelfab
from modelfab.ui.app import create_ui
from tests.browser import CHROMIUM, NO_LOOKUPS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(spec: Path, key: str) -> tuple[str, uvicorn.Server]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_ui(modelfab.load_spec(spec), key), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def main(spec: Path, out: Path, key: str) -> None:
    from playwright.sync_api import sync_playwright

    base, server = serve(spec, key)
    seen: dict = {"errors": [], "outside": [], "pages": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", NO_LOOKUPS])
        page = browser.new_page()
        page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" and "401" not in m.text
                and "404" not in m.text else None)
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(base) else seen["outside"].append(r.url))

        def visit(name: str, url: str) -> None:
            started = time.perf_counter()
            response = page.goto(url, wait_until="load")
            seen["pages"][name] = {"status": response.status, "ms": round(1000 * (time.perf_counter() - started), 1),
                                   "title": page.title(), "links": len(page.query_selector_all("a"))}
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)

        visit("runs", base + "/")
        run = page.query_selector("a[href^='/runs/']").get_attribute("href")
        page.click("a[href^='/runs/']")
        page.wait_for_load_state("load")
        seen["followed"] = page.url.removeprefix(base)
        visit("run", base + run)
        visit("report", base + run + "/report")
        visit("models", base + "/models")
        visit("predictions", base + "/predictions?limit=20")
        page.click("text=next")
        page.wait_for_load_state("load")
        seen["next"] = page.inner_text("p.pager span")
        visit("missing", base + "/runs/nothere")
        # Promote a version that is not the champion through its form, with a wrong key, then the right one.
        for name, given in (("promote-wrong-key", "wrong"), ("promote", key)):
            page.goto(base + "/models")
            form = page.locator("tbody tr").filter(has_not_text="champion").first.locator("form")
            form.locator("input[name=key]").fill(given)
            with page.expect_navigation():
                form.locator("button").click()
            seen["pages"][name] = {"url": page.url.removeprefix(base), "text": page.inner_text("main")[:300]}
        page.fill("form[action='/models/rollback'] input[name=key]", key)
        with page.expect_navigation():
            page.click("form[action='/models/rollback'] button")
        seen["pages"]["rollback"] = {"url": page.url.removeprefix(base), "text": page.inner_text("main")[:300]}
        browser.close()
    server.should_exit = True
    (out / "seen.json").write_text(json.dumps(seen, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
