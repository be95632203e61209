"""培训记录 — training records page, its table models and the add-records dialog."""
