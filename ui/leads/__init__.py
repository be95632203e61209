"""案源登记 — the lead register page, its table model and dialogs (register, edit, triage)."""
