"""The fast per-solve numbers equal the from-scratch ones, bit for bit (issue 19).

``Structure.numbers`` starts from a cached template and writes only what the inputs and
state move; ``Structure.numbers_scratch`` builds every entry. A backtest calls the former
every quarter on a sliding window, so the sequences below slide, pad, re-price, re-trip and
re-plug as a backtest does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from hems_core.model import Site, Trip
from hems_core.optimize import Inputs, State
from hems_core.optimize.backends import HighsBackend, _member
from hems_core.optimize.planner import _merged
from hems_core.optimize.problem import Numbers, Structure, _clip
from hems_core.optimize.tiers import DEFAULT_TIERS, aggregate
from hems_core.scenario import (
    DEFAULT_START,
    case_a_site,
    case_b_site,
    case_state,
    receding_inputs,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _assert_same(fast: Numbers, ref: Numbers) -> None:
    for name in fast.__dataclass_fields__:
        assert _same(getattr(fast, name), getattr(ref, name)), name


def _with_trips(site: Site, trips: tuple[Trip, ...]) -> Site:
    return replace(site, evs=(replace(site.evs[0], trips=trips), *site.evs[1:]))


def _sequence(site: Site, n: int, quarters: int) -> list[tuple[Site, Inputs, State]]:
    """A backtest-like sequence: the window slides a quarter each time and shrinks (the
    horizon ends at the last price), a price spike arrives, a trip is added and one removed,
    the car is unplugged, the SoC and the month peak move, a cap and temperatures appear."""
    out = []
    state = case_state(site)
    ev = site.evs[0]
    for k in range(quarters):
        inputs = receding_inputs(DEFAULT_START, n - k, k)
        if k == 3:  # a changed price
            price = inputs.import_price.copy()
            price[5:9] += 0.4
            inputs = replace(inputs, import_price=price)
        if k == 5:  # an import cap, a temperature factor and a peak margin
            inputs = replace(
                inputs,
                import_cap_kw=np.full(inputs.steps, 6.0),
                temperature_factor=np.linspace(0.8, 1.3, inputs.steps, dtype=np.float64),
                peak_margin_kw=np.linspace(1.5, 0.2, inputs.steps, dtype=np.float64),
            )
        site_k = site
        if k == 4:  # a new trip leaving soon (a changed site)
            t0 = inputs.start + timedelta(hours=1)
            extra = Trip(depart=t0, arrive=t0 + timedelta(hours=1.5), energy_kwh=30.0,
                         target_soc=0.95)  # fmt: skip
            site_k = _with_trips(site, (*ev.trips, extra))
        if k == 6:  # every trip removed
            site_k = _with_trips(site, ())
        soc = {e.name: 0.25 + 0.05 * k for e in site.evs}
        plugged = {ev.name: False} if k == 7 else {}
        st = replace(state, ev_soc=soc, ev_plugged=plugged, month_peak_kw=3.0 + 0.4 * k,
                     quarter_import_kwh=0.0 if k % 2 else 0.3)  # fmt: skip
        out.append((site_k, inputs, st))
    return out


@pytest.mark.parametrize("site_fn", [case_a_site, case_b_site])
def test_fast_numbers_equal_scratch_numbers_over_a_sliding_padded_sequence(site_fn: object) -> None:
    assert callable(site_fn)
    site = site_fn(DEFAULT_START)
    s = Structure(site, 96)
    for site_k, inputs, state in _sequence(site, 96, 9):
        _assert_same(s.numbers(site_k, inputs, state), s.numbers_scratch(site_k, inputs, state))


def test_fast_numbers_equal_scratch_numbers_with_a_trip_now_and_mid_quarter_starts() -> None:
    """A trip covering now (plugged back early or not), a partial first quarter."""
    site = case_a_site(DEFAULT_START)
    s = Structure(site, 48)
    now = DEFAULT_START + timedelta(minutes=7, seconds=30)
    trip = Trip(depart=now - timedelta(hours=1), arrive=now + timedelta(hours=1),
                energy_kwh=5.0, target_soc=None)  # fmt: skip
    site_k = _with_trips(site, (trip, *site.evs[0].trips))
    base = receding_inputs(DEFAULT_START, 40, 0)
    inputs = replace(base, start=now)
    for plugged in (None, True, False):
        state = replace(case_state(site), ev_plugged={} if plugged is None else {"ev": plugged})
        _assert_same(s.numbers(site_k, inputs, state), s.numbers_scratch(site_k, inputs, state))


def test_fast_numbers_equal_scratch_numbers_on_a_multi_tier_grid() -> None:
    site = case_a_site(DEFAULT_START)
    layout = DEFAULT_TIERS.layout(288)
    s = Structure(site, len(layout), layout)
    for site_k, inputs, state in _sequence(site, 288, 5):
        if inputs.steps != 288:
            inputs = receding_inputs(DEFAULT_START, 288, 0)
        agg = aggregate(inputs, layout)
        _assert_same(s.numbers(site_k, agg, state), s.numbers_scratch(site_k, agg, state))


def test_the_template_is_not_changed_by_a_solve() -> None:
    """Numbers are copies: writing into one (as the MILP fallback's bounds do) leaves the
    next call's numbers exact."""
    site = case_a_site(DEFAULT_START)
    s = Structure(site, 48)
    seq = _sequence(site, 48, 3)
    first = s.numbers(*seq[0])
    for vec in (first.q, first.lb, first.ub, first.l, first.u):
        vec[:] = 123.0
    _assert_same(s.numbers(*seq[1]), s.numbers_scratch(*seq[1]))


def test_sorted_membership_equals_isin() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.integers(0, 50, 30)
        b = rng.integers(0, 50, int(rng.integers(0, 30)))
        assert np.array_equal(_member(a, b), np.isin(a, b))


def test_the_ring_permutation_and_its_inverse_match_the_block_rotation() -> None:
    site = case_a_site(DEFAULT_START)
    s = Structure(site, 24)
    b = HighsBackend(s)
    for rot in (0, 1, 7, 23):
        pos = b._perm(s.var_series, s.nvar, rot)
        ref = np.arange(s.nvar)
        for start, length in s.var_series:
            if length == s.steps:
                ref[start : start + length] = start + (np.arange(length) + rot) % length
        assert np.array_equal(pos, ref)
        inv = b._inv_perm(s.var_series, s.nvar, rot)
        assert np.array_equal(inv[pos], np.arange(s.nvar))
        rpos = b._perm(s.row_series, s.nrow, rot)
        assert np.array_equal(b._inv_perm(s.row_series, s.nrow, rot)[rpos], np.arange(s.nrow))


def test_clip_is_numpys_clip_bit_for_bit() -> None:
    """Signed zeros and infinities included: ties must pick the same operand."""
    rng = np.random.default_rng(2)
    vals = np.array([0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, 0.5])
    x, lo, hi = (rng.choice(vals, 5000) for _ in range(3))
    assert _clip(x, lo, hi).tobytes() == np.clip(x, lo, hi).tobytes()
    assert _clip(x, 0.0, hi).tobytes() == np.clip(x, 0.0, hi).tobytes()


@pytest.mark.parametrize(("by", "steps"), [(1, 95), (3, 90), (16, 80), (2, 94)])
def test_tail_equals_a_shift_with_its_padding(by: int, steps: int) -> None:
    """The shifted reuse's start: the solution moved ``by`` steps, levels held and flows
    zero beyond ``steps`` (what the planner did block by block before)."""
    site = case_a_site(DEFAULT_START)
    s = Structure(site, 96)
    x = np.random.default_rng(by).normal(size=s.nvar)
    ref = s.shift(x, by)
    levels = {sl.start for sl in s.levels}
    for start, length in s.var_series:
        if length != s.steps:
            continue
        fill = ref[start + steps - 1] if start in levels else 0.0
        ref[start + steps : start + length] = fill
    assert s.tail(x, by, steps).tobytes() == ref.tobytes()


def test_merged_joins_only_adjacent_ranges() -> None:
    got = _merged([slice(4, 6), slice(0, 2), slice(2, 4), slice(8, 9)])
    assert got == [slice(0, 6), slice(8, 9)]
