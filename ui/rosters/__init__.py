"""值班排班 — the duty-roster page, its grid and the set-up dialogs (班次、需求、请假)."""
