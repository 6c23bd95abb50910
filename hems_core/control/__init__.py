"""The runtime: planner loop, fast tracking loop, arbitration, fail-safes, boost, backup/island."""
