"""系统设置 — settings page: squad, options, backups, users, own account."""
