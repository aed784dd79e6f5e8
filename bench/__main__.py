"""`make bench` (python -m bench): every benchmark; each appends its table to BENCHMARKS.md.

`python -m bench metering`, `python -m bench consumption` or `python -m bench overhead`
(metrics and access-log cost, bench/overhead.py) runs one of them.
Sizes and request counts: see the BENCH_* variables in bench/metering.py and bench/consumption.py.
"""

import sys
from importlib import import_module

which = sys.argv[1:2] or ["metering", "consumption", "overhead"]
for name in ("metering", "consumption", "overhead"):
    if name in which:
        import_module(f"bench.{name}").main()
