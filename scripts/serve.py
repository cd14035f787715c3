"""Serve alert-processor locally, like Appwrite's Python runtime, with an Appwrite emulator when none is set.

    python scripts/serve.py [--port 3000] [--workers N] [--env-file F] [--timeout S] [--log-file F]
                            [--endpoint URL --project ID --api-key KEY] [--memory]

Works from any directory; see `devkit/runtime/serve.py` for what it does.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devkit.runtime.serve import main  # noqa: E402  (the repository root must be importable first)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], function_dir=ROOT))
