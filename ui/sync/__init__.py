"""与区局同步 — the sync page, its conflict table, and the enrollment form the first-run wizard reuses."""
