#!/usr/bin/env python3
"""The soak test (issue 7): `python scripts/soak.py [--seconds 60] [--json]`.

Thin entry: the soak test lives in `devkit/soak.py` (see its docstring). Not part of the test suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.soak import main

if __name__ == "__main__":
    sys.exit(main())
