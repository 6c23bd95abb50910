"""The numpy-only CSC matrix used to keep scipy out of the default (HiGHS) path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.optimize.problem import Csc


def _dense(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    out = np.zeros(shape)
    np.add.at(out, (rows, cols), vals)
    return out


def _to_dense(m: Csc) -> np.ndarray:
    out = np.zeros(m.shape)
    for j in range(m.shape[1]):
        for p in range(int(m.indptr[j]), int(m.indptr[j + 1])):
            out[m.indices[p], j] += m.data[p]
    return out


@settings(max_examples=60, deadline=None)
@given(
    nrows=st.integers(1, 12),
    ncols=st.integers(1, 12),
    nnz=st.integers(0, 60),
    seed=st.integers(0, 2**31 - 1),
)
def test_coo_columns_and_dot_match_dense(nrows: int, ncols: int, nnz: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, nrows, nnz)
    cols = rng.integers(0, ncols, nnz)  # duplicates on purpose: they must be summed
    vals = rng.normal(size=nnz)
    m = Csc.from_coo(rows, cols, vals, (nrows, ncols))
    dense = _dense(rows, cols, vals, (nrows, ncols))
    assert np.allclose(_to_dense(m), dense)
    for j in range(ncols):  # sorted, unique row indices per column
        col = m.indices[m.indptr[j] : m.indptr[j + 1]]
        assert np.all(np.diff(col) > 0)
    x = rng.normal(size=ncols)
    assert np.allclose(m.dot(x), dense @ x)
    owner = rng.integers(0, ncols, rng.integers(0, 2 * ncols + 1))
    assert np.allclose(_to_dense(m.columns(owner)), dense[:, owner])


def test_diag_stores_only_nonzeros() -> None:
    m = Csc.diag(np.array([0.0, 2.0, 0.0, 3.0]))
    assert m.nnz == 2
    assert np.allclose(_to_dense(m), np.diag([0.0, 2.0, 0.0, 3.0]))


def test_default_cold_solve_does_not_import_scipy() -> None:
    code = (
        "import sys\n"
        "from hems_core.optimize import Planner\n"
        "from hems_core.scenario import DEFAULT_START, case_a_site, case_state,"
        " profile_inputs\n"
        "site = case_a_site(DEFAULT_START)\n"
        "Planner(site).solve(profile_inputs(DEFAULT_START, 8, 0), case_state(site))\n"
        "print('scipy' in sys.modules, 'osqp' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "False"]
