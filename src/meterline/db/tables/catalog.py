"""catalog tables (filled by its issue)."""
