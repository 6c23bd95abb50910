"""Price inputs to a canonical 15-minute PriceSeries, tariff composition and capacity tariffs."""
