"""The oracle never charges and discharges one device at once, even on negative prices."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hems_core.backtest import oracle
from hems_core.scenario import BatterySpec, Scenario, load_scenario

NEG = Path(__file__).resolve().parents[3] / "scenarios" / "negative-prices"


def _with_battery() -> Scenario:
    # An LFP home battery wears little (0.011 EUR/kWh), so on 2025-05-11 (-350 EUR/MWh spot)
    # the LP relaxation alone burns energy by cycling it (measured: 3 quarters at 5 kW).
    sc = load_scenario(NEG)
    return dataclasses.replace(
        sc, battery=BatterySpec(capacity_kwh=10.0, max_kw=5.0, efficiency=0.85, soc=0.5)
    )


def test_no_simultaneous_charge_and_discharge_on_negative_prices() -> None:
    sc = _with_battery()
    i0 = sc.index(sc.start_s)
    assert np.min(sc.import_eur_kwh[i0:]) < 0
    flows = oracle.oracle_flows(sc)
    for ch, dis in flows.values():
        assert np.all(ch >= -1e-9) and np.all(dis >= -1e-9)
        assert float(np.max(np.minimum(ch, dis))) <= oracle.COMPLEMENTARITY_TOL_KW


def test_the_relaxation_alone_would_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the binaries the LP does overlap here, so the test above tests something."""
    monkeypatch.setattr(oracle, "COMPLEMENTARITY_ROUNDS", 0)
    with pytest.raises(RuntimeError, match="at once"):
        oracle.oracle_flows(_with_battery())


def test_the_replayed_oracle_curtails_pv_when_export_pays_negative() -> None:
    """The LP curtails PV at negative feed-in prices; its replay must too, or it is no bound."""
    from hems_core.backtest.controllers import Replay
    from hems_core.backtest.runner import run_one

    sc = load_scenario(NEG)
    home, _ = run_one(sc, Replay(sc, "oracle", oracle.solve_oracle(sc)), 900.0)
    i0 = sc.index(sc.start_s)
    sell = sc.export_eur_kwh[i0 : i0 + sc.days * 96]
    assert np.any((sell < 0) & (sc.pv_kw[i0 : i0 + sc.days * 96] > 1.0))  # the case exists
    paid = float(np.sum(np.where(sell < 0, home.meters.export_kwh, 0.0)))
    assert paid < 0.01  # kWh exported while feed-in costs money
