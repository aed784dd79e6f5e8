"""`make bench`: benchmarks write their tables to BENCHMARKS.md (filled by the metering issues)."""

print("no benchmarks yet")
