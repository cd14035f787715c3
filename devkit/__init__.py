"""Development kit for alert-processor: an Appwrite-compatible emulator and a local Open Runtimes host.

Nothing in `src/` imports this package; it exists so the function can be run and tested on a machine
without an Appwrite server. Entry points live in `scripts/`.
"""
