"""The performance benchmark of alert-processor (issue 6): `python scripts/bench.py [--json] [--quick]`.

It serves the function through the local runtime host against the in-memory emulator with an injected
Appwrite round trip, and the same for a per-alert baseline (`baseline/src/main.py`), then reports wall
time, Appwrite calls by kind, CPU and peak memory per delivery, the cold-start import cost, the CPU cost of
the pure path, and a PASS/MISS line for every target of the issue.

Modules, each with one job:
  machine    what the figures were measured on
  workload   the payloads of each phase, and the calls and messages the function should make for them
  procstat   CPU time and resident memory of a worker process, from /proc
  coldstart  the import cost of the entrypoint against the SDK's own modules, and its network use
  purepath   CPU per alert of parse + plan + render, in-process, without I/O
  proxy      a counting HTTP relay that shows how many Appwrite calls are in flight at once
  deliveries driving deliveries through the host and the emulator, one fresh worker per size
  targets    the issue's targets, judged on the measurements
  report     the table and the JSON document
  cli        the command line (`scripts/bench.py` is a thin entry)
"""
