"""Open a page in Debian's chromium, driven by Playwright (never its own browser download), inside
a loopback-only network namespace where the machine allows one, with every host lookup refused.
What comes back: the images that did not load, the console's errors, and every request that left
file:// or data:."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_LOOKUPS = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def _netns_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def needs_browser():  # noqa: ANN201
    """Skip (saying why) where chromium or Playwright is missing; `.ci/run` installs both."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return pytest.mark.skip(reason="playwright is not installed (pip install -e '.[dev]')")
    return pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                              "(apt-get install --no-install-recommends chromium; .ci/run does)")


@dataclass
class Page:
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)


def launcher(folder: Path) -> str:
    """The browser to start: chromium itself, or a script that starts it with only loopback."""
    if not _netns_works():
        return str(CHROMIUM)
    script = folder / "chromium-netns"
    script.write_text(f'#!/bin/sh\nexec unshare -n -- {CHROMIUM} "$@"\n')
    script.chmod(0o755)
    return str(script)


def open_file(path: Path, work: Path) -> Page:
    from playwright.sync_api import sync_playwright

    seen = Page()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=launcher(work), args=["--no-sandbox", NO_LOOKUPS])
        try:
            page = browser.new_page()
            page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(("file://", "data:")) else seen.outside.append(r.url))
            page.goto(path.resolve().as_uri(), wait_until="load")
            found = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('alt') || e.src.slice(0, 40), e.complete && e.naturalWidth > 0])")
            seen.images = len(found)
            seen.broken_images = [name for name, ok in found if not ok]
            seen.headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
        finally:
            browser.close()
    return seen


def assert_opens(report: Path, work: Path, at_least: int = 1) -> Page:
    page = open_file(report, work)
    assert page.images >= at_least, f"{report}: {page.images} images"
    assert not page.broken_images, f"{report}: images that did not load: {page.broken_images}"
    assert not page.errors, f"{report}: console errors: {page.errors}"
    assert not page.outside, f"{report}: requests outside file://: {page.outside}"
    return page
