"""`make bench` (python -m bench): every benchmark; each appends its table to BENCHMARKS.md.

`python -m bench NAME [NAME ...]` runs some of them: `metering`, `consumption`, `postgres`
(bench/pg.py), `overhead` (metrics and access-log cost, bench/overhead.py) or `ui` (every
dashboard page over HTTP at 1 M events, bench/ui.py).
Sizes and request counts: see the BENCH_* variables in each module.
"""

import sys
from importlib import import_module

MODULES = {
    "metering": "bench.metering",
    "consumption": "bench.consumption",
    "postgres": "bench.pg",
    "overhead": "bench.overhead",
    "ui": "bench.ui",
}

which = sys.argv[1:] or list(MODULES)
for name in which:
    if name not in MODULES:
        sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(MODULES)}")
    import_module(MODULES[name]).main()
