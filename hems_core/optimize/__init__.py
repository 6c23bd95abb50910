"""The MPC optimiser: one model assembled as a sparse QP, several solver backends, the Plan.

Public API (everything else is internal)::

    from hems_core.optimize import Inputs, State, Planner, solve

    plan = solve(site, inputs, state)            # one shot, default backend
    planner = Planner(site)                      # keep it for warm re-solves
    plan = planner.solve(inputs, state)          # every quarter / event; pass site=... on change
    plan.to_json()

- ``site``: :class:`hems_core.model.Site` (frozen, validated).
- ``inputs``: :class:`Inputs` — plain numpy arrays per 15-min step (prices EUR/kWh, load and PV
  kW), ``start`` (may be mid-quarter: step 0 is the rest of that quarter), at most 288 steps
  (72 h). ``Planner(site, tiers=True)`` plans them on a multi-tier grid (15 minutes for the
  first day, then 30 and 60 minutes; ``plan.dt_h`` per step, see :mod:`.tiers`).
- ``state``: :class:`State` — SoC per EV and battery, tariff state (month peak so far, energy
  already metered in the running quarter / hour, Swedish daily peaks).
- ``backend``: ``"highs"`` (the default, always installed, exact at its breakpoints) or
  ``"osqp"`` (needs the ``[qp]`` extra; less accurate on this model, see the docs).

Errors: :class:`InputError` / :class:`hems_core.model.ModelError` for bad data (``ValueError``),
:class:`SolverError` when no optimal plan exists. See ``docs/optimizer.md`` for the model.
"""

from .backends import SolverError, available_backends
from .inputs import MAX_STEPS, InputError, Inputs, State
from .plan import AssetPlan, CostSplit, Plan, SolverStats
from .planner import Planner, ReuseThreshold, solve
from .tiers import DEFAULT_TIERS, Tiers

__all__ = [
    "DEFAULT_TIERS",
    "MAX_STEPS",
    "AssetPlan",
    "CostSplit",
    "InputError",
    "Inputs",
    "Plan",
    "Planner",
    "ReuseThreshold",
    "SolverError",
    "SolverStats",
    "State",
    "Tiers",
    "available_backends",
    "solve",
]
