"""What sales forecasts plugs into the rest of Vínculo when the app loads: the subscriber that
keeps each deal's last activity current and the daily stalled-deal alerts."""

from vinculo.sales.forecasts import periodic, subscribers  # noqa: F401
