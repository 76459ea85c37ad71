"""The dashboard's HTML: a layout with the navigation, tables whose cells are escaped unless
they are markup this module made (`Raw`), pagers, and a metric's trend drawn as an SVG line."""

from __future__ import annotations

import time
from html import escape
from urllib.parse import urlencode

NAV = (("/", "Runs"), ("/models", "Models"), ("/predictions", "Prediction log"))


class Raw(str):
    """Markup made here (a link, a form): a table cell that is not escaped again."""


def layout(title: str, body: str, here: str = "/") -> str:
    links = "".join(f'<a href="{href}"{" class=here" if href == here else ""}>{escape(name)}</a>'
                    for href, name in NAV)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · modelfab</title>'
            f'<link rel="stylesheet" href="/static/style.css"></head><body><nav>{links}</nav>'
            f"<main><h1>{escape(title)}</h1>\n{body}</main></body></html>\n")


def link(href: str, text: object) -> Raw:
    return Raw(f'<a href="{escape(href)}">{escape(str(text))}</a>')


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return Raw('<span class=ok>yes</span>') if value else Raw('<span class=no>no</span>')
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    if not rows:
        return "<p class=muted>nothing yet</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{cell(v)}</td>" for i, v in enumerate(row))
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def query_string(query: dict) -> str:
    """The filters that are set, as a URL's query."""
    return urlencode({k: v for k, v in query.items() if v not in (None, "")})


def pager(path: str, query: dict, offset: int, limit: int, total: int, more: bool = False) -> str:
    """Links to the previous and next page, keeping the filters."""
    def to(start: int) -> str:
        return f"{path}?{query_string({**query, 'offset': start, 'limit': limit})}"

    of = f"more than {total - 1:,}" if more else f"{total:,}"
    shown = f"{offset + 1}-{min(offset + limit, total)} of {of}" if total else "0 of 0"
    back = link(to(max(offset - limit, 0)), "previous") if offset > 0 else ""
    ahead = link(to(offset + limit), "next") if offset + limit < total else ""
    return f"<p class=pager><span>{shown}</span> {back} {ahead}</p>"


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def trend(points: list[tuple[float, float]], name: str, width: int = 640, height: int = 160) -> str:
    """A metric over runs as an SVG polyline (no script, nothing fetched)."""
    if len(points) < 2:
        return "<p class=muted>fewer than two runs with this metric</p>"
    values = [v for _, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    xy = " ".join(f"{8 + i * (width - 16) / (len(values) - 1):.1f},{height - 8 - (v - low) / span * (height - 16):.1f}"
                  for i, v in enumerate(values))
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(name)} over runs">'
            f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{xy}"/></svg>'
            f"<p class=muted>{escape(name)} over the last {len(values)} runs: {low:.4g} to {high:.4g}</p>")
