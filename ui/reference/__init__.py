"""执法事项与裁量基准 — the reference-data page (catalog, discretion tiers, thresholds) and its editors."""
