"""billing tables (filled by its issue)."""
