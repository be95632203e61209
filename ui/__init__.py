"""SquadDesk GUI (PySide6). Calls the services in app/; never writes SQL itself."""
