"""`make bench` (python -m bench): every benchmark; each appends its table to BENCHMARKS.md.

`python -m bench metering` or `python -m bench consumption` runs one of them.
Sizes and request counts: see the BENCH_* variables in bench/metering.py and bench/consumption.py.
"""

import sys

which = sys.argv[1:2] or ["metering", "consumption"]
for name in ("metering", "consumption"):
    if name in which:
        if name == "metering":
            from bench.metering import main as run
        else:
            from bench.consumption import main as run
        run()
