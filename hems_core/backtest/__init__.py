"""Closed-loop runs of controllers over scenarios, baselines and KPIs."""
