"""Forecasts: household load, PV, EV habits and the price tail."""
