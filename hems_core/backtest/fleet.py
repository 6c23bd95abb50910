"""Fleets: N seeded variations of one scenario run as independent tasks (Dask or serial).

Each home varies its household load (scale and noise), PV size, the car's trip energies and
arrival state from its seed; everything else is the base scenario. A task loads the scenario
itself from the path (only a path and a seed travel to the worker; each worker process parses
the CSVs once and keeps them), runs the controllers and returns the KPIs; results are aggregated
here. ``dask[distributed]`` is the ``fleet`` extra and is imported only when a Dask run is asked
for.

Throughput counts from the moment every worker is up *and warm* (modules imported, scenario
parsed: :func:`warm_up` runs on each worker first), so a run with more workers is not charged
their start-up. Workers run one thread each in their own process (the control core is pure
Python and holds the GIL) and without Dask's 10 ms statistical profiler, which otherwise
interrupts every task to sample its stack.
"""

from __future__ import annotations

import functools
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..scenario import Scenario, ScenarioError, load_scenario


def variant(sc: Scenario, seed: int) -> Scenario:
    """A seeded variation of a home scenario."""
    rng = np.random.default_rng(seed)
    load = sc.load_kw * rng.uniform(0.7, 1.4) * np.exp(rng.normal(0, 0.1, sc.load_kw.shape[0]))
    pv = sc.pv_kw * rng.uniform(0.5, 1.5)
    trip = rng.uniform(0.6, 1.4)
    sessions = tuple(replace(s, trip_kwh=round(s.trip_kwh * trip, 2)) for s in sc.sessions)
    evs = tuple(replace(e, soc=float(rng.uniform(0.4, 0.8))) for e in sc.evs)
    return replace(
        sc, name=f"{sc.name}#{seed}", load_kw=load, pv_kw=pv, sessions=sessions, evs=evs,
        pv_kwp=sc.pv_kwp * float(np.mean(pv) / max(float(np.mean(sc.pv_kw)), 1e-9))
        if sc.pv_kwp else 0.0,
    )  # fmt: skip


@functools.lru_cache(maxsize=4)
def _scenario(path: str) -> Scenario:
    """The base scenario, parsed once per process (a year of quarters takes about 0.2 s)."""
    return load_scenario(path)


def warm_up(path: str) -> float:
    """Import the control core and parse the scenario in this process; returns seconds taken."""
    t0 = time.perf_counter()
    from . import runner  # noqa: F401  (the import is the point: solver, forecasts, control)

    _scenario(path)
    return time.perf_counter() - t0


def run_home(
    path: str, seed: int, days: int | None, step_s: float, controllers: list[str]
) -> dict[str, Any]:
    """One fleet task: KPIs of every controller on home ``seed`` (runs on a worker)."""
    from .runner import run_backtest

    sc = _scenario(path)
    if days:
        sc = sc.with_days(days)
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_backtest(variant(sc, seed), controllers, step_s=step_s, oracle=False)
    res["wall_s"] = time.perf_counter() - t0
    res["cpu_s"] = time.process_time() - c0  # what the task really got of a core
    return res


def run_fleet(
    path: Path, n: int, *, engine: str = "dask", scheduler: str | None = None,
    workers: int | None = None, days: int | None = 7, step_s: float = 300.0, seed: int = 0,
    controllers: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Run ``n`` homes; returns aggregated KPIs and the throughput."""
    if n < 1:
        raise ScenarioError("--fleet needs at least one home")
    names = controllers or ["mpc", "dumb"]
    sc = load_scenario(path)
    days = days or sc.days
    target = str(sc.path)
    seeds = [seed + k for k in range(n)]
    t_setup = time.perf_counter()
    info: dict[str, Any] = {"engine": engine}
    if engine == "serial":
        warm_up(target)
        info["workers"] = 1
        info["startup_s"] = round(time.perf_counter() - t_setup, 2)
        t0 = time.perf_counter()
        results = [run_home(target, s, days, step_s, names) for s in seeds]
    else:
        try:
            import distributed
        except ImportError as err:
            raise ScenarioError(
                "the Dask engine needs the fleet extra: pip install 'hems-core[fleet]'"
            ) from err
        import dask

        dist: Any = distributed  # untyped package
        Client, LocalCluster = dist.Client, dist.LocalCluster
        cluster = None
        # the profiler samples every running task's stack every 10 ms (the config travels to
        # the worker processes the nannies spawn)
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            if scheduler:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(
                    n_workers=workers or 1, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=40,
                )  # fmt: skip
                client = Client(cluster)
        try:
            if workers and not scheduler:
                client.wait_for_workers(workers)
            warm = client.run(warm_up, target)  # every worker imports and parses once
            info["workers"] = len(warm)
            info["warm_up_s"] = round(max(warm.values()), 2)
            info["startup_s"] = round(time.perf_counter() - t_setup, 2)
            t0 = time.perf_counter()  # cluster start-up and warm-up are not throughput
            futures = client.map(run_home, [target] * n, seeds, [days] * n, [step_s] * n,
                                 [names] * n, pure=False)  # fmt: skip
            results = client.gather(futures)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    wall = time.perf_counter() - t0
    agg: dict[str, Any] = {}
    for name in names:
        rows = [r["controllers"][name] for r in results]
        agg[name] = {
            key: round(statistics.fmean(float(r[key]) for r in rows), 3)
            for key in ("total_cost", "energy_cost", "capacity_cost", "wear_cost", "peak_kw",
                        "evening_peak_kw", "shortfall_kwh", "switches", "ev_cycles",
                        "exported_stored_kwh", "plan_ms_median")
        }  # fmt: skip
    home_days = n * days * len(names)
    cpu = sum(float(r["cpu_s"]) for r in results)
    return {
        "scenario": sc.name,
        "days": days,
        "homes": n,
        "controllers": agg,
        "oracle": None,
        "fleet": info
        | {
            "wall_s": round(wall, 2),
            "task_s_sum": round(sum(r["wall_s"] for r in results), 2),
            "task_cpu_s_sum": round(cpu, 2),
            # cores the tasks really ran on: below the worker count, the machine was busy
            "cores_used": round(cpu / wall, 2),
        },
        "home_days_per_s": round(home_days / wall, 3),
        "home_days_per_cpu_s": round(home_days / cpu, 3) if cpu else None,
    }
