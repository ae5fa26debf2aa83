"""Entry point: `python -m benchmarks` (see benchmarks/driver.py for the options)."""

import sys

from benchmarks.driver import main

sys.exit(main())
