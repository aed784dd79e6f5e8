"""`make bench` (python -m bench): metering benchmarks; the table is appended to BENCHMARKS.md.

`python -m bench consumption` runs only the consumption endpoint benchmark (bench/consumption.py).
"""

import sys

if sys.argv[1:2] == ["consumption"]:
    from bench.consumption import main as consumption

    consumption()
else:
    from bench.metering import main

    main()
