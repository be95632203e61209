"""审计日志 — audit log page and its table model."""
