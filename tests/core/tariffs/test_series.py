"""PriceSeries: the canonical shape, joining, slicing, local days, formula robustness."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.tariffs import FormulaTariff, PriceDataError, PriceSeries, compose
from tests.core.tariffs.helpers import AMS

T0 = datetime(2026, 10, 24, 22, tzinfo=UTC)


def _s(
    start: datetime, vals: list[float], known: list[bool] | None = None, **kw: bool
) -> PriceSeries:
    k = [True] * len(vals) if known is None else known
    return PriceSeries(start, np.array(vals), np.array(k), **kw)


def test_values_are_read_only_and_validated() -> None:
    s = _s(T0, [0.1, 0.2])
    with pytest.raises(ValueError, match="read-only"):
        s.values[0] = 1.0
    with pytest.raises(PriceDataError, match="not on a clock quarter"):
        _s(T0 + timedelta(minutes=5), [0.1])
    with pytest.raises(PriceDataError, match="not a finite number"):
        _s(T0, [0.1, float("nan")])
    with pytest.raises(PriceDataError, match="timezone-aware"):
        _s(datetime(2026, 1, 1), [0.1])


def test_extend_prefers_known_and_refuses_gaps_and_mixed_contents() -> None:
    a = _s(T0, [1.0, 1.0, 1.0], [True, True, False])
    b = _s(T0 + timedelta(minutes=30), [2.0, 2.0])
    j = a.extend(b)
    assert j.values.tolist() == [1.0, 1.0, 2.0, 2.0]
    assert j.known.all()
    with pytest.raises(PriceDataError) as err:
        a.extend(_s(T0 + timedelta(hours=2), [3.0]))
    assert err.value.kind == "gap"
    with pytest.raises(PriceDataError, match="includes VAT"):
        a.extend(_s(a.end, [3.0], includes_vat=True))


def test_slice_and_days() -> None:
    s = _s(T0, [float(i) for i in range(100)])
    assert s.complete_days(AMS) == [date(2026, 10, 25)]
    part = s.slice(T0 + timedelta(minutes=20), T0 + timedelta(minutes=50))
    assert part.start == T0 + timedelta(minutes=15)
    assert part.values.tolist() == [1.0, 2.0, 3.0]
    assert part.complete_days(AMS) == []
    assert s.to_json_dict()["start"] == "2026-10-24T22:00:00Z"


@settings(max_examples=2000, deadline=None, database=None, derandomize=True)
@given(st.text(alphabet="spot hourweekdy()+-*/<>=!0123456789.,minaxbswer _", max_size=40))
def test_formula_text_only_raises_price_data_error(text: str) -> None:
    spot = _s(T0, [0.0, 0.1, -0.2, 0.3])
    with contextlib.suppress(PriceDataError):
        compose(spot, FormulaTariff("fuzz", text, text), AMS)
