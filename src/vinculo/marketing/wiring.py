"""What marketing plugs into the rest of Vínculo when the app loads."""
