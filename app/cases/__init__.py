"""Case handling (案件办理) from lead to archive."""
