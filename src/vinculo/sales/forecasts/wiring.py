"""What sales forecasts plugs into the rest of Vínculo when the app loads: automation subjects and
triggers, importers, merge relations, privacy sections, search providers, event subscribers and
periodic jobs."""
