"""A self-contained HTML report (opens offline): KPI tables and inline SVG plots.

No scripts, fonts or images are fetched: every plot is an inline ``<svg>`` polyline drawn
here — prices, grid import per controller (peaks), each car's SoC, and the MPC's plan at noon
of the first day against what happened.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..scenario import Scenario

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def svg_lines(
    title: str, series: Sequence[tuple[str, Sequence[float]]], unit: str,
    width: int = 900, height: int = 220,
) -> str:  # fmt: skip
    """One line plot as an inline SVG with a legend."""
    pad = 40
    vals = [v for _, s in series for v in s if np.isfinite(v)]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    n = max((len(s) for _, s in series), default=1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'role="img"><title>{html.escape(title)}</title>',
             f'<text x="{pad}" y="14" font-size="13">{html.escape(title)} ({unit})</text>',
             f'<text x="2" y="{pad}" font-size="10">{hi:.2f}</text>',
             f'<text x="2" y="{height}" font-size="10">{lo:.2f}</text>',
             f'<rect x="{pad}" y="{pad - 20}" width="{width - pad - 10}" '
             f'height="{height - pad + 20}" fill="none" stroke="#ccc"/>']  # fmt: skip
    for k, (name, s) in enumerate(series):
        pts = " ".join(
            f"{pad + i * (width - pad - 10) / max(n - 1, 1):.1f},"
            f"{height - (float(v) - lo) / (hi - lo) * (height - pad):.1f}"
            for i, v in enumerate(s)
        )
        c = COLOURS[k % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1" points="{pts}"/>')
        parts.append(f'<text x="{pad + 120 * k}" y="{height + 22}" font-size="11" fill="{c}">'
                     f"{html.escape(name)}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: dict[str, dict[str, Any]]) -> str:
    keys = ["total_cost", "energy_cost", "capacity_cost", "wear_cost", "peak_kw",
            "evening_peak_kw", "self_consumption", "exported_stored_kwh", "ev_cycles",
            "shortfall_kwh", "switches", "plan_ms_median"]  # fmt: skip
    head = "".join(f"<th>{k}</th>" for k in keys)
    body = "".join(
        f"<tr><td>{html.escape(n)}</td>" + "".join(f"<td>{r.get(k)}</td>" for k in keys) + "</tr>"
        for n, r in rows.items()
    )
    return f"<table><tr><th>controller</th>{head}</tr>{body}</table>"


def write_report(folder: Path, sc: Scenario, result: dict[str, Any], keep: dict[str, Any]) -> Path:
    """Write ``index.html`` into ``folder``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    n = sc.days * 96
    i0 = sc.index(sc.start_s)
    rows = dict(result["controllers"])
    if result.get("oracle"):
        rows["oracle"] = result["oracle"]
    prices: list[tuple[str, list[float]]] = [
        ("import", [float(v) for v in sc.import_eur_kwh[i0 : i0 + n]]),
        ("export", [float(v) for v in sc.export_eur_kwh[i0 : i0 + n]]),
    ]
    plots = [svg_lines("All-in import price", prices, "EUR/kWh")]
    grid = [(name, (home.meters.import_kwh * 4).tolist()) for name, (home, _) in keep.items()]
    plots.append(svg_lines("Grid import (peaks)", grid, "kW"))
    for ev in sc.evs[:3]:
        socs = [(name, home.meters.soc[ev.name].tolist()) for name, (home, _) in keep.items()]
        plots.append(svg_lines(f"SoC of {ev.name}", socs, "0..1"))
    mpc = keep.get("mpc")
    if mpc is not None and getattr(mpc[1], "plans", None):
        t_s, plan = mpc[1].plans[0]
        q = int((t_s - sc.start_s) // 900)
        actual = (mpc[0].meters.import_kwh - mpc[0].meters.export_kwh) * 4
        steps = len(plan.grid_import_kw)
        planned = [a - b for a, b in zip(plan.grid_import_kw, plan.grid_export_kw, strict=True)]
        plots.append(svg_lines("MPC plan at noon vs actual grid exchange",
                               [("plan", planned), ("actual", actual[q : q + steps].tolist())],
                               "kW"))  # fmt: skip
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Backtest {html.escape(sc.name)}</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "font-size:12px}</style></head><body>"
        f"<h1>Backtest: {html.escape(sc.name)}</h1><p>{sc.days} days, fast loop every "
        f"{result.get('step_s')} s, {result.get('home_days_per_s')} home-days/s.</p>"
        f"{_table(rows)}" + "".join(f"<div>{p}</div>" for p in plots) + "</body></html>"
    )
    out = folder / "index.html"
    out.write_text(doc)
    return out
