"""``Forecast.inputs`` skips ``Inputs``' checks of series the forecast already checked
(issue 19): what it returns must be exactly what ``Inputs(...)`` makes of the same slices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from hems_core.control.planning import Forecast
from hems_core.optimize.inputs import InputError, Inputs

T0 = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)


def make(cap: bool) -> Forecast:
    n = 200
    rng = np.random.default_rng(3)
    return Forecast(
        T0, rng.uniform(-0.1, 0.5, n), rng.uniform(0.0, 0.1, n), rng.uniform(0.2, 3.0, n),
        rng.uniform(0.0, 5.0, n), import_cap_kw=rng.uniform(4.0, 11.0, n) if cap else None,
    )  # fmt: skip


def reference(fc: Forecast, now: datetime, steps: int) -> Inputs:
    first = (int(now.timestamp()) // 900 * 900 - int(T0.timestamp())) // 900
    cut = slice(first, first + min(steps, 200 - first))
    cap = None if fc.import_cap_kw is None else fc.import_cap_kw[cut]
    return Inputs(now, fc.import_price[cut], fc.export_price[cut], fc.load_kw[cut],
                  fc.pv_kw[cut], import_cap_kw=cap)  # fmt: skip


@pytest.mark.parametrize("cap", [False, True])
@pytest.mark.parametrize("minutes", [0, 7, 15 * 30 + 2, 15 * 190])
def test_inputs_equal_what_inputs_itself_makes(cap: bool, minutes: int) -> None:
    fc = make(cap)
    cet = timezone(timedelta(hours=1))
    now = (T0 + timedelta(minutes=minutes)).astimezone(cet)  # not UTC: Inputs converts it
    got = fc.inputs(now, 192)
    want = reference(fc, now, 192)
    assert got is not None and type(got) is Inputs
    assert got.__dict__.keys() == want.__dict__.keys()  # every field and nothing else
    for name, value in want.__dict__.items():
        mine = got.__dict__[name]
        if isinstance(value, np.ndarray):
            assert mine.dtype == value.dtype and np.array_equal(mine, value), name
            assert not mine.flags.writeable
        else:
            assert mine == value and type(mine) is type(value), name
    assert got.start.tzinfo is UTC and got.steps == want.steps
    assert got.terminal_value() == want.terminal_value()


def test_a_naive_now_is_still_refused_by_inputs() -> None:
    with pytest.raises(InputError):
        make(False).inputs(datetime(2026, 1, 13, 18, 0), 192)


def test_a_negative_import_cap_is_still_refused_by_inputs() -> None:
    fc = make(True)
    bad = fc.import_cap_kw.copy()  # type: ignore[union-attr]
    bad[50] = -1.0
    neg = Forecast(T0, fc.import_price, fc.export_price, fc.load_kw, fc.pv_kw, import_cap_kw=bad)
    assert neg.inputs(T0, 40) is not None  # the negative value is beyond these 40 steps
    with pytest.raises(InputError, match="import_cap_kw"):
        neg.inputs(T0, 192)
