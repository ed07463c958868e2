"""``matcher serve``: uvicorn running the app factory in one or more worker processes."""

from __future__ import annotations

import uvicorn

from .logs import log_config
from .metrics import cleanup_multiprocess, prepare_multiprocess

# Import strings, not objects: every worker process builds its own app (and loads its own model)
# from MATCHER_* in its environment.
APP_FACTORY = "matcher.serve.app:create_app"
PROTOCOL = "matcher.serve.protocol:GuardedH11Protocol"  # header timeouts, a connection cap, JSON protocol errors


def run_server(host: str, port: int, workers: int, log_format: str = "text") -> None:
    """Serve until interrupted; the workers read their settings from the environment."""
    samples = prepare_multiprocess(workers)  # several workers: /metrics sums what each one counted
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers, access_log=False,
                    log_config=log_config(fmt=log_format), server_header=False, http=PROTOCOL,
                    timeout_keep_alive=5)
    finally:
        cleanup_multiprocess(samples)
