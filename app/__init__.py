"""SquadDesk domain layer: pure Python services, one package per area. Never imports Qt."""
