"""The MPC optimiser: one model assembled as a sparse QP, several solver backends, the Plan."""
