"""metering tables (filled by its issue)."""
