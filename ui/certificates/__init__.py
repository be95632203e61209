"""执法证台账 — certificate ledger page, its table models and dialogs."""
