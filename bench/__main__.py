"""`make bench` (python -m bench): metering benchmarks; the table is appended to BENCHMARKS.md."""

from bench.metering import main

main()
