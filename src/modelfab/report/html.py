"""The run report as one HTML file with nothing outside it: styles inline, plots embedded as
data URIs, no script, no font, no link to fetch. Every value a user wrote is escaped."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1a7f37}.no{color:#b42318}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}.muted{color:#666}code{background:#f4f4f4;padding:0 .2em}
"""


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{escape(name)}</h2>\n{content}\n" for name, content in sections)
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>\n{body}</body></html>\n")


def table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    lines = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{cell(v)}</td>"
                                     for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def items(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>" if lines else \
        "<p class=muted>nothing to report</p>"
