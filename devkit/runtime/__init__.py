"""A local stand-in for Appwrite's Open Runtimes Python runtime: serves a function directory over HTTP.

`FunctionHost` starts worker processes that import `src/main.py` as `function.src.main` and run
`main(context)` for each request, with the `context`, headers, environment, logs, timeouts and error
answers of the real runtime (see `runtime.py` and `gateway.py` for what is mirrored, and how).

Modules, each with one job:
  host             FunctionHost: start, supervise and stop the worker processes
  worker           one worker process: the aiohttp server and its routes
  gateway          what Appwrite adds to a request (x-appwrite-* headers, execution IDs, schedule trigger)
  runtime          what the runtime does with it (context, import, main, timeout, response)
  context          the `context` object given to main
  loader           importing the entrypoint
  logs             formatting of context.log / context.error
  capture          capture of stdout/stderr ("native logs")
  records          per-execution records (JSON lines, terminal output)
  environment      the function's environment variables
  envfile          parsing KEY=VALUE env files
  appwrite_config  the function's ID, entrypoint and timeout from appwrite(.config).json
  control          the host <-> worker channel
  serve            the `scripts/serve.py` command

Known differences from the real runtime: `logs`/`errors` are lists of entries rather than one string;
`res.json`/`res.redirect` do not mutate the headers dict passed in; a `TimeoutError` raised by `main`
itself is reported as a traceback, not as "Execution timed out."; native output is captured per
execution (by context) rather than process-wide; caller-sent `x-appwrite-*` headers are all dropped.

Nothing in `src/` imports this package.
"""

from devkit.runtime.envfile import EnvFileError, read_env_file
from devkit.runtime.host import FunctionHost, HostError

__all__ = ["EnvFileError", "FunctionHost", "HostError", "read_env_file"]
