"""案件办理 — the case list and the case workspace."""
