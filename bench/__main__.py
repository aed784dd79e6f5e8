"""`make bench` (python -m bench): every benchmark; each appends its table to BENCHMARKS.md.

`python -m bench metering`, `python -m bench consumption` or `python -m bench postgres` runs one.
Sizes and request counts: see the BENCH_* variables in bench/metering.py, bench/consumption.py
and bench/pg.py.
"""

import sys
from importlib import import_module

MODULES = {"metering": "bench.metering", "consumption": "bench.consumption", "postgres": "bench.pg"}

which = sys.argv[1:] or list(MODULES)
for name in which:
    if name not in MODULES:
        sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(MODULES)}")
    import_module(MODULES[name]).main()
