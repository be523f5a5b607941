"""`opal serve`: the portal under gunicorn, in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from opal import logs
from opal.catalogue import CatalogueError
from opal.cli.common import load_config
from opal.context import Context
from opal.web.app import build_app

#: access log without query strings: parameters stay out of the logs
LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def _hide_server_banner() -> None:
    """Drop gunicorn's ``Server`` header: no product or version banner on any response."""
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers
    if getattr(original, "_opal_patched", False):
        return

    def default_headers(self: Any) -> list[str]:
        return [h for h in original(self) if not h.lower().startswith("server:")]

    setattr(default_headers, "_opal_patched", True)  # noqa: B010
    wsgi.Response.default_headers = default_headers


#: threads per worker process: a request runs in one once it has fully arrived (opal.web.worker)
THREADS = 4


def default_workers() -> int:
    """gunicorn's rule of thumb, 2 x cores + 1 (at most 9): a short HTML list finds a free
    worker while others render a PDF or check a password (bench/http_load.py)."""
    return max(2, min(2 * (os.cpu_count() or 1) + 1, 9))


def _in_memory_dir(path: str) -> bool:
    """True when ``path`` is a writable directory (``/dev/shm``: tmpfs on Linux)."""
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def make_server(app: Any, host: str, port: int, workers: int) -> Any:
    """Return a gunicorn application serving the already built (checked) ``app``."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        """gunicorn with its options from here, never from a config file or argv."""

        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}", "workers": workers,
                # slow clients hold no thread until their request is in (opal.web.worker)
                "worker_class": "opal.web.worker.HeadFirstWorker", "threads": THREADS,
                "keepalive": 5, "timeout": 90, "graceful_timeout": 20, "preload_app": True,
                # control characters escaped in every line, the access log's too (opal.logs)
                "logger_class": "opal.logs.GunicornLogger",
                "accesslog": "-", "errorlog": "-", "access_log_format": ACCESS_LOG_FORMAT,
                "proc_name": "opal", "post_fork": _post_fork,
                "control_socket_disable": True,  # no socket in $HOME (gunicorn >= 24)
                # the workers' heartbeat touches a file on every loop: in memory, not on disk
                # (gunicorn's FAQ: a disk-backed file can block a worker)
                **({"worker_tmp_dir": "/dev/shm"} if _in_memory_dir("/dev/shm") else {}),
            }
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    def _post_fork(_server: Any, _worker: Any) -> None:
        """Give each worker fresh database pools (never share a socket across fork)."""
        ctx: Context = app.extensions["opal"]
        ctx.app_db.dispose(close=False)
        ctx.case_db.dispose(close=False)

    return Server()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=default_workers(), show_default=True,
              type=click.IntRange(2, 64),
              help=f"gunicorn worker processes ({THREADS} threads each)")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the portal (gunicorn) until SIGTERM/SIGINT; refuse to start when misconfigured."""

    config = load_config()
    try:
        app = build_app(config)
    except CatalogueError as exc:
        click.echo(f"opal: the report catalogue is broken, not starting:\n{exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # a missing secret, an unreachable database ...
        click.echo(f"opal: cannot start the portal: {exc}", err=True)
        sys.exit(2)
    _hide_server_banner()
    logs.install(logging.INFO, LOG_FORMAT)
    click.echo(f"OPAL portal on http://{host}:{port}/ ({workers} workers x {THREADS} threads); "
               "Ctrl+C stops it.")
    make_server(app, host, port, workers).run()


COMMANDS: list[click.Command] = [serve]
