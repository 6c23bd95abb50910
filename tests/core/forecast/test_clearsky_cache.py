"""ClearSkyPv.step_kw's per-array table: grown both ways, it equals the direct computation."""

from __future__ import annotations

import numpy as np

from hems_core.forecast import pv
from hems_core.forecast.pv import ClearSkyPv


def test_cached_clear_sky_equals_the_direct_computation() -> None:
    model = ClearSkyPv(52.09, 5.12, 35.0, 180.0, 5.0)
    pv._CLEAR.pop(model, None)
    day = 86400
    t0 = 1_735_686_000  # 2025-01-01 local midnight in Amsterdam (a clock quarter)
    for start, steps in [(t0, 192), (t0 - 31 * day, 31 * 96), (t0 + 3 * day, 96), (t0 + 900, 5)]:
        got = model.step_kw(start, steps)
        want = model._step_kw(start, steps)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    first, table = pv._CLEAR[model]
    assert first == (t0 - 31 * day) // 900
    assert table.shape[0] == 31 * 96 + 4 * 96
    off = model.step_kw(t0 + 450, 3)  # not a clock quarter: computed directly
    np.testing.assert_allclose(off, model._step_kw(t0 + 450, 3))
    got = model.step_kw(t0, 4)
    got[:] = -1.0  # callers get a copy
    assert np.all(model.step_kw(t0, 4) >= 0.0)
