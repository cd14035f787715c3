"""Serve the local Appwrite emulator until Ctrl-C or SIGTERM.

    python scripts/emulator.py --port 8080 [--data FILE] [--api-key KEY] [--processing-seconds S]
                               [--project ID] [--access-log]

Prints one line once ready, with the `/v1` endpoint and the API key to use.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devkit.emulator import DEFAULT_API_KEY, Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local Appwrite-compatible emulator (TablesDB + Messaging).")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--data", default=None, help="SQLite file to keep data in (default: in memory)")
    parser.add_argument("--api-key", default=None, help="the API key that holds every scope")
    parser.add_argument(
        "--processing-seconds", type=float, default=0.05, help="how long new columns and indexes stay processing"
    )
    parser.add_argument("--project", default=None,
                        help="the one project ID served (others are 404 project_not_found); default: any")
    parser.add_argument("--access-log", action="store_true",
                        help="print one line per request (method, path, status, ms) to stderr")
    args = parser.parse_args(argv)

    emulator = Emulator(
        data_path=args.data,
        api_key=args.api_key or DEFAULT_API_KEY,
        processing_seconds=args.processing_seconds,
        project_id=args.project,
        access_log=args.access_log,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    emulator.start(port=args.port)
    key_note = "" if args.api_key else " (the local default)"
    print(f"Appwrite emulator ready at {emulator.endpoint} with API key {emulator.api_key}{key_note}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
