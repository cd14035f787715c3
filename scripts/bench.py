#!/usr/bin/env python3
"""The performance benchmark (issue 6): `python scripts/bench.py [--json] [--quick] [--latency-ms 10]`.

Thin entry: the benchmark lives in `devkit/bench/` (see its package docstring).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
