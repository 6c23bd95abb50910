"""The live demo (``scripts/demo``): the real runtime driving simulated devices, a day a minute.

It reuses :class:`~hems_core.sim.closed_loop.ClosedLoop` — a Quasar-style Modbus TCP wallbox
with a car behind it, a SunSpec inverter, a DSMR 5 P1 meter publishing on an MQTT broker, the
real drivers, :class:`~hems_core.control.runtime.Runtime`, core and planner — and adds what a
person watching needs: a broker that needs no root (mosquitto if installed, else the embedded
amqtt), pacing to ``--speed`` simulated seconds per real second, progress lines on stderr (what
the car, house and grid do and the plan's next steps), one Boost pressed during the day and
whether the box followed it, a JSON summary and a self-contained HTML report. SIGINT/SIGTERM stop
the run at the next step; every server, client and the broker are stopped before exit.

Run it as ``python -m hems_core.sim.live_demo [--scenario PATH] [--speed N] [--days D] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from hems_core.control.types import CommandKind, Source
from hems_core.timegrid import STEP_S

from .broker import make_broker
from .closed_loop import CAR, DEFAULT_SCENARIO, ClosedLoop, LoopOptions

_LOGGER = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass
class DemoOptions:
    """What the live demo runs (see the module docstring)."""

    scenario: Path = DEFAULT_SCENARIO
    days: float = 1.0
    #: simulated seconds per real second; 0 runs as fast as the machine goes
    speed: float = 1440.0
    meter_interval_s: float = 5.0
    #: local time of the Boost on the first day (earlier in the run when the run is shorter)
    boost_at: dtime = dtime(19, 0)
    boost_minutes: float = 45.0
    #: minutes of simulated time between progress lines
    every_min: float = 60.0
    out: Path = Path("demo-report")
    broker: str | None = None


@dataclass
class _Boost:
    """What happened to the Boost pressed during the run."""

    at: datetime | None = None
    power_before_w: float | None = None
    reached_at: datetime | None = None
    reached_w: float | None = None
    ended_at: datetime | None = None
    power_after_w: float | None = None
    source_after: str | None = None
    error: str | None = None


@dataclass
class _Quarter:
    """Per-quarter means for the report (kW, SoC, price)."""

    t: list[float] = field(default_factory=list)
    car: list[float] = field(default_factory=list)
    house: list[float] = field(default_factory=list)
    pv: list[float] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    soc: list[float] = field(default_factory=list)
    price: list[float] = field(default_factory=list)


class LiveDemo:
    """One live run: owns the broker and the closed loop, measures, reports."""

    def __init__(self, opts: DemoOptions, say: Say) -> None:
        self.opts = opts
        self.say = say
        self.boost = _Boost()
        self.q = _Quarter()
        self.e = dict.fromkeys(("import", "export", "house", "pv", "car_in", "car_out", "v2h"), 0.0)
        self.cost_eur = 0.0
        self.peak_kw = 0.0
        self.failsafe_ticks = 0
        self.events: list[str] = []
        self._acc: dict[str, float] = {}
        self._acc_n = 0
        self._quarter: int | None = None
        self._q_import_kwh = 0.0
        self.wall_s = 0.0
        self.sim_s = 0.0
        self.interrupted = False
        self.broker_kind = ""

    # -- the run -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> dict[str, Any]:
        """Start broker and loop, step to the end (or ``stop``), stop everything, summarise."""
        o = self.opts
        broker = make_broker(o.broker)
        self.broker_kind = broker.kind
        broker.start()
        try:
            lo = LoopOptions(
                scenario=o.scenario, days=o.days, meter_interval_s=o.meter_interval_s,
                mqtt=("127.0.0.1", broker.port),
            )  # fmt: skip
            loop = ClosedLoop(lo)
            self.say(
                f"{loop.sc.name}: simulators up (Modbus TCP wallbox and SunSpec inverter, "
                f"P1 on {broker.kind} 127.0.0.1:{broker.port}); {o.days:g} day(s) at "
                + (f"{o.speed:g}x" if o.speed > 0 else "full speed")
            )
            async with loop:
                await self._steps(loop, stop)
            return self.summary(loop)
        finally:
            broker.stop()

    def _boost_time(self, loop: ClosedLoop) -> float:
        start = loop.sc.start.astimezone(loop.tz)
        at = datetime.combine(start.date(), self.opts.boost_at, loop.tz)
        if at <= start:
            at += timedelta(days=1)
        span = self.opts.days * 86400.0
        t = at.timestamp()
        end = loop.t0 + span - self.opts.boost_minutes * 60.0
        return t if t <= end else loop.t0 + 0.4 * span

    async def _steps(self, loop: ClosedLoop, stop: asyncio.Event) -> None:
        o = self.opts
        end = loop.t0 + o.days * 86400.0
        boost_t = self._boost_time(loop)
        next_line = loop.t0
        wall0 = time.perf_counter()
        plugged = loop.wallbox_sim.ev.plugged_at(loop.clock())
        while loop.clock() < end - 1e-9 and not stop.is_set():
            await loop.step()
            now = loop.clock()
            self._measure(loop)
            p = loop.wallbox_sim.ev.plugged_at(now)
            if p != plugged:
                soc = loop.wallbox_sim.ev.soc_pct
                self._event(
                    loop, f"car plugged in, SoC {soc:.0f}%" if p
                    else f"car left with SoC {soc:.0f}% (target {100 * loop.opts.target_soc:.0f}%)",
                )  # fmt: skip
                plugged = p
            self._track_boost(loop, now, boost_t)
            if now >= next_line:
                self.say(self._line(loop))
                next_line += o.every_min * 60.0
            if o.speed > 0:  # pace for a person watching; never faster than asked
                ahead = (now - loop.t0) / o.speed - (time.perf_counter() - wall0)
                if ahead > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), ahead)
        self.wall_s = time.perf_counter() - wall0
        self.sim_s = loop.clock() - loop.t0
        self.interrupted = stop.is_set() and loop.clock() < end - 1e-9
        if self.interrupted:
            self._event(loop, "interrupted: stopping the runtime, simulators and broker")

    def _event(self, loop: ClosedLoop, text: str) -> None:
        local = datetime.fromtimestamp(loop.clock(), loop.tz)
        line = f"{local:%a %H:%M:%S}  ** {text}"
        self.events.append(line)
        self.say(line)

    def _track_boost(self, loop: ClosedLoop, now: float, boost_t: float) -> None:
        b = self.boost
        ev = loop.wallbox_sim.ev
        max_w = loop.sc.ev.max_charge_kw * 1000.0
        dt_now = datetime.fromtimestamp(now, UTC)
        if b.at is None and b.error is None and now >= boost_t:
            if not ev.plugged_at(now):
                return  # the button only makes sense with the car home: press it on return
            b.power_before_w = ev.power_w
            try:  # what the Boost button in Home Assistant calls
                loop.core.start_boost(
                    dt_now, CAR, duration=timedelta(minutes=self.opts.boost_minutes)
                )
            except Exception as err:  # a refused boost is a result to report, not a crash
                b.error = str(err)
                self._event(loop, f"Boost refused: {err}")
                return
            b.at = dt_now
            self._event(
                loop, f"Boost pressed ({self.opts.boost_minutes:g} min): car at "
                f"{ev.power_w / 1000:+.1f} kW, SoC {ev.soc_pct:.0f}%",
            )  # fmt: skip
            return
        if b.at is None:
            return
        sent = loop.core.status(dt_now).devices.get(CAR)
        if (
            b.reached_at is None
            and ev.power_w >= 0.95 * max_w
            and sent is not None
            and (sent.kind, sent.source) == (CommandKind.POWER, Source.BOOST)
        ):
            b.reached_at, b.reached_w = dt_now, ev.power_w
            secs = (dt_now - b.at).total_seconds()
            self._event(
                loop, f"Boost handled: the box charges at {ev.power_w / 1000:+.1f} kW "
                f"{secs:.0f} s after the press (rule: boost)",
            )  # fmt: skip
        if b.ended_at is None and CAR not in loop.core.boosts and b.reached_at is not None:
            b.ended_at = dt_now
            b.power_after_w = ev.power_w
            b.source_after = None if sent is None else str(sent.source)
            self._event(loop, "Boost over: back to the plan")

    def _measure(self, loop: ClosedLoop) -> None:
        dt = loop.opts.meter_interval_s
        now = loop.clock()
        t_mid = now - dt / 2
        grid_w = loop.runner.publishers["p1"].meter.power_w
        car_w = loop.wallbox_sim.ev.power_w
        pv_w = loop.runner.inverters["pv"].ac_w
        house_w = loop.house.load_w(t_mid)
        k = int((t_mid - loop.t0) // STEP_S)
        imp_price = float(loop.sc.import_eur_kwh[min(k, len(loop.sc.import_eur_kwh) - 1)])
        exp_price = float(loop.sc.export_eur_kwh[min(k, len(loop.sc.export_eur_kwh) - 1)])
        h = dt / 3600.0
        imp, exp = max(grid_w, 0.0) / 1000 * h, max(-grid_w, 0.0) / 1000 * h
        e = self.e
        e["import"] += imp
        e["export"] += exp
        e["house"] += house_w / 1000 * h
        e["pv"] += pv_w / 1000 * h
        e["car_in"] += max(car_w, 0.0) / 1000 * h
        e["car_out"] += max(-car_w, 0.0) / 1000 * h
        e["v2h"] += min(max(-car_w, 0.0), house_w) / 1000 * h
        self.cost_eur += imp * imp_price - exp * exp_price
        if loop.core.status(datetime.fromtimestamp(now, UTC)).failsafe:
            self.failsafe_ticks += 1
        q = int(t_mid // STEP_S)
        if self._quarter is not None and q != self._quarter:
            self._close_quarter()
        self._quarter = q
        self._q_import_kwh += imp
        for name, v in (("car", car_w), ("house", house_w), ("pv", pv_w), ("grid", grid_w),
                        ("soc", loop.wallbox_sim.ev.soc_pct), ("price", imp_price)):  # fmt: skip
            self._acc[name] = self._acc.get(name, 0.0) + v
        self._acc_n += 1

    def _close_quarter(self) -> None:
        n = max(self._acc_n, 1)
        assert self._quarter is not None
        self.q.t.append(float(self._quarter * STEP_S))
        for name in ("car", "house", "pv", "grid"):
            getattr(self.q, name).append(self._acc.get(name, 0.0) / n / 1000.0)
        self.q.soc.append(self._acc.get("soc", 0.0) / n)
        self.q.price.append(self._acc.get("price", 0.0) / n)
        self.peak_kw = max(self.peak_kw, self._q_import_kwh * 4.0)
        self._acc, self._acc_n, self._q_import_kwh = {}, 0, 0.0

    def _line(self, loop: ClosedLoop) -> str:
        now = loop.clock()
        local = datetime.fromtimestamp(now, loop.tz)
        ev = loop.wallbox_sim.ev
        sent = loop.core.status(datetime.fromtimestamp(now, UTC)).devices.get(CAR)
        why = "idle" if sent is None else str(sent.source)
        if not ev.plugged_at(now):
            car = "car away"
        else:
            doing = "V2H" if ev.power_w < -50 else "charging" if ev.power_w > 50 else "idle"
            car = f"car {ev.power_w / 1000:+5.1f} kW {doing:<8} ({why}) SoC {ev.soc_pct:3.0f}%"
        grid_w = loop.runner.publishers["p1"].meter.power_w
        house_w = loop.house.load_w(now)
        pv_w = loop.runner.inverters["pv"].ac_w
        return (
            f"{local:%a %H:%M}  {car}  house {house_w / 1000:4.1f} kW  pv {pv_w / 1000:3.1f} kW"
            f"  grid {grid_w / 1000:+5.1f} kW  | plan: {self._next_steps(loop, now)}"
        )

    @staticmethod
    def _next_steps(loop: ClosedLoop, now: float, n: int = 4) -> str:
        view = loop.core.plan
        if view is None:
            return "no plan yet"
        k = view.step_at(now)
        if k is None:
            return "plan ended (fallback)"
        plan = view.plan
        power = plan.asset(CAR).power_kw
        out = []
        for j in range(k + 1, min(k + 1 + n, len(power))):
            t = datetime.fromisoformat(plan.step_start[j]).astimezone(loop.tz)
            out.append(f"{t:%H:%M} {power[j]:+.1f}")
        reason = plan.reasons[k] if k < len(plan.reasons) else ""
        return f"{reason}; then " + ", ".join(out) + " kW"

    # -- results -----------------------------------------------------------------------------

    def summary(self, loop: ClosedLoop) -> dict[str, Any]:
        """The JSON summary of the run (energies kWh, cost EUR, peak kW, boost)."""
        if self._acc_n:
            self._close_quarter()
        e = self.e
        stats = loop.runtime.stats
        b = self.boost
        t = loop.tally

        def iso(d: datetime | None) -> str | None:
            return None if d is None else d.astimezone(loop.tz).isoformat()

        handled = (
            b.reached_at is not None
            and (b.ended_at is None or b.source_after != str(Source.BOOST))
        )  # fmt: skip
        return {
            "scenario": loop.sc.name,
            "start": loop.sc.start.astimezone(loop.tz).isoformat(),
            "simulated_days": round(self.sim_s / 86400.0, 4),
            "interrupted": self.interrupted,
            "broker": self.broker_kind,
            "meter_interval_s": loop.opts.meter_interval_s,
            "wall_s": round(self.wall_s, 1),
            "speed_achieved": round(self.sim_s / self.wall_s, 1) if self.wall_s > 0 else None,
            "energy_kwh": {k: round(v, 3) for k, v in e.items()},
            "cost_eur": round(self.cost_eur, 3),
            "peak_kw": round(self.peak_kw, 3),
            "month_peak_kw": round(loop.core.peaks.month_peak_kw, 3),
            "v2h_share_of_house_load": round(e["v2h"] / e["house"], 4) if e["house"] else 0.0,
            "boost": {
                "handled": handled,
                "pressed_at": iso(b.at),
                "minutes": self.opts.boost_minutes,
                "power_before_w": None if b.power_before_w is None else round(b.power_before_w),
                "reached_w": None if b.reached_w is None else round(b.reached_w),
                "response_s": (
                    None
                    if b.at is None or b.reached_at is None
                    else round((b.reached_at - b.at).total_seconds(), 1)
                ),
                "ended_at": iso(b.ended_at),
                "source_after": b.source_after,
                "error": b.error,
            },
            "departures": [
                {"at": iso(d), "soc": round(s, 3), "target": g} for d, s, g in t.departures
            ],
            "control": {
                "plans": stats.plans_accepted,
                "plan_failures": stats.plans_failed,
                "failsafe_ticks": self.failsafe_ticks,
                "fuse_breaches": t.fuse_breaches,
                "peak_budget_breaches": t.peak_breaches,
                "storage_export_ticks": t.storage_export_ticks,
                "storage_export_episodes": t.storage_export_episodes,
                "ticks": t.ticks,
            },
            "events": self.events,
        }


def write_report(folder: Path, summary: dict[str, Any], q: _Quarter) -> Path:
    """A self-contained ``index.html`` (inline SVG, no scripts or fetches); returns its path."""
    from hems_core.backtest.report import svg_lines

    folder.mkdir(parents=True, exist_ok=True)
    plots = [
        svg_lines("Power, quarter-hour means (car + charges, - V2H)", [
            ("car", q.car), ("house", q.house), ("pv", q.pv), ("grid", q.grid)], "kW"),
        svg_lines("Car state of charge", [("SoC", q.soc)], "%"),
        svg_lines("All-in import price", [("import", q.price)], "EUR/kWh"),
    ]  # fmt: skip
    start = html.escape(str(summary["start"]))
    rows = [
        ("simulated days", summary["simulated_days"]),
        ("energy cost", f"€{summary['cost_eur']:.2f}"),
        ("grid import / export", f"{summary['energy_kwh']['import']:.1f} / "
         f"{summary['energy_kwh']['export']:.1f} kWh"),
        ("house load", f"{summary['energy_kwh']['house']:.1f} kWh"),
        ("V2H share of the house load", f"{100 * summary['v2h_share_of_house_load']:.1f} %"),
        ("highest quarter-hour import", f"{summary['peak_kw']:.2f} kW"),
        ("boost handled", summary["boost"]["handled"]),
        ("boost response", f"{summary['boost']['response_s']} s"),
        ("plans / failsafe ticks", f"{summary['control']['plans']} / "
         f"{summary['control']['failsafe_ticks']}"),
        ("broker", summary["broker"]),
    ]  # fmt: skip
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    events = "".join(f"<li>{html.escape(e)}</li>" for e in summary["events"])
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'><title>HEMS live demo</title>"
        "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
        "</style></head><body>"
        f"<h1>HEMS live demo: {html.escape(str(summary['scenario']))}</h1><p>from {start}; the "
        "real control runtime against simulated devices over Modbus TCP and MQTT.</p>"
        f"<table>{table}</table>{''.join(plots)}<h2>Events</h2><ul>{events}</ul></body></html>"
    )
    path = folder / "index.html"
    path.write_text(doc, encoding="utf-8")
    return path


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="scripts/demo",
        description="The whole system live: the real runtime drives simulated devices "
        "(Modbus TCP wallbox and inverter, P1 on MQTT) in accelerated time, presses Boost once, "
        "and writes a JSON summary and an HTML report. scripts/demo --plan-only prints the "
        "one-window strategy table instead.",
    )
    ap.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario folder or YAML")
    ap.add_argument("--days", type=float, default=1.0, help="simulated days (default 1)")
    ap.add_argument(
        "--speed", type=float, default=1440.0,
        help="simulated seconds per real second (default 1440: a day a minute; 0: flat out)",
    )  # fmt: skip
    ap.add_argument("--meter-interval", type=float, default=5.0, help="P1 interval (s)")
    ap.add_argument("--boost-at", default="19:00", help="local time of the Boost (HH:MM)")
    ap.add_argument("--out", default="demo-report", help="folder for index.html, summary.json")
    ap.add_argument("--broker", choices=("auto", "mosquitto", "amqtt"), default=None)
    ap.add_argument("--json", action="store_true", help="print the JSON summary only on stdout")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the live demo; 0 when done, 130 when interrupted, 2 on bad input."""
    args = _parse_args(argv)
    try:
        hh, mm = (int(x) for x in args.boost_at.split(":"))
        boost_at = dtime(hh, mm)
    except ValueError:
        print(f"error: --boost-at must be HH:MM, got {args.boost_at!r}", file=sys.stderr)
        return 2
    if not 0.01 <= args.days <= 14 or args.speed < 0 or not 1.0 <= args.meter_interval <= 5.0:
        print("error: --days within 0.01..14, --speed >= 0, --meter-interval within 1..5",
              file=sys.stderr)  # fmt: skip
        return 2
    opts = DemoOptions(
        scenario=Path(args.scenario), days=args.days, speed=args.speed,
        meter_interval_s=args.meter_interval, boost_at=boost_at, out=Path(args.out),
        broker=args.broker,
    )  # fmt: skip

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    demo = LiveDemo(opts, say)

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await demo.run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        summary = asyncio.run(run())
    except (FileNotFoundError, RuntimeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    opts.out.mkdir(parents=True, exist_ok=True)
    report = write_report(opts.out, summary, demo.q)
    summary["report"] = str(report.resolve())
    (opts.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 130 if summary["interrupted"] else 0


def _print_summary(s: dict[str, Any]) -> None:
    e = s["energy_kwh"]
    b = s["boost"]
    print(f"{s['scenario']}: {s['simulated_days']} simulated day(s) in {s['wall_s']} s")
    print(f"  cost €{s['cost_eur']:.2f}; import {e['import']:.1f} kWh, export {e['export']:.1f}"
          f" kWh; highest quarter {s['peak_kw']:.2f} kW")  # fmt: skip
    print(f"  car charged {e['car_in']:.1f} kWh, powered the house with {e['car_out']:.1f} kWh"
          f" ({100 * s['v2h_share_of_house_load']:.1f} % of {e['house']:.1f} kWh)")  # fmt: skip
    print(f"  boost handled: {b['handled']} (response {b['response_s']} s)")
    print(f"  report: {s['report']}")


if __name__ == "__main__":
    sys.exit(main())
