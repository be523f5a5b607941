"""Log lines nobody can forge: control, format and line-separator characters are escaped.

A request path with ``%0a`` would otherwise write a whole fake line into the access log, and
``%1b`` terminal escapes into an operator's terminal (issue 20). ``SafeFormatter`` escapes the
message of every record (``\\x0a``, ``\\x1b``, ``\\u202e``); a traceback keeps its lines, each
escaped and indented, so that no line of it can pass for a log line of its own. ``opal serve``
puts it on the root logger and, through ``GunicornLogger``, on gunicorn's error and access logs.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from gunicorn.glogging import Logger

#: C0 and C1 controls, DEL, soft hyphen, invisible and bidi formatting characters, line and
#: paragraph separators, the byte order mark, lone surrogates
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
                    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every unsafe character written as ``\\xNN`` or ``\\uNNNN``."""
    return UNSAFE.sub(_escaped, text)


class SafeFormatter(logging.Formatter):
    """A Formatter whose output has exactly one line per record, plus indented traceback lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _indented(super().formatStack(stack_info))

    @classmethod
    def like(cls, other: logging.Formatter | None) -> SafeFormatter:
        """A SafeFormatter with ``other``'s format and date format."""
        if other is None:
            return cls()
        return cls(other._fmt, other.datefmt)


def _indented(text: str) -> str:
    return "\n".join("  " + escape_controls(line) for line in text.split("\n"))


class GunicornLogger(Logger):
    """gunicorn's logger with ``SafeFormatter`` on its handlers (error and access log)."""

    def _set_handler(self, log: logging.Logger, output: Any, fmt: logging.Formatter,
                     stream: Any = None) -> None:
        super()._set_handler(log, output, SafeFormatter.like(fmt), stream)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        """The atoms the access log's format names; the path as the UTF-8 it was sent in (WSGI
        hands it over as Latin-1 bytes), so that ``ü`` logs as ``ü`` and U+202E as ``\\u202e``
        (the formatter escapes it). A format of only the plain atoms below gets just those:
        gunicorn's own table adds every request header, response header and environ entry,
        a few per cent of a short download's time (bench/README.md, "fifth pass")."""
        if _named_atoms(self.cfg.access_log_format) <= _PLAIN:
            status = resp.status
            if isinstance(status, str):
                status = status.split(None, 1)[0]
            found = {"h": environ.get("REMOTE_ADDR", "-"), "t": self.now(),
                     "m": environ.get("REQUEST_METHOD"), "U": environ.get("PATH_INFO"),
                     "s": status, "B": getattr(resp, "sent", None),
                     "M": request_time.seconds * 1000 + request_time.microseconds // 1000}
        else:
            found = super().atoms(resp, req, environ, request_time)
        path = found.get("U")
        if isinstance(path, str):
            try:
                found["U"] = path.encode("latin-1").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:
                pass
        return found


#: the atoms ``GunicornLogger.atoms`` computes itself (as gunicorn does)
_PLAIN = frozenset({"h", "t", "m", "U", "s", "B", "M"})


@lru_cache(maxsize=8)
def _named_atoms(fmt: str) -> frozenset[str]:
    """The atoms an access-log format names (``%(h)s`` -> ``h``)."""
    return frozenset(re.findall(r"%\(([^)]*)\)", fmt))


def install(level: int = logging.INFO, fmt: str | None = None) -> None:
    """Log the portal's own records (the root logger) through a SafeFormatter on stderr."""
    logging.basicConfig(level=level, format=fmt or logging.BASIC_FORMAT)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setFormatter(SafeFormatter.like(handler.formatter))
