"""The renderer contract: a format's own declaration (``Format``), ``Rendered`` and streaming."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from opal.result import Result


@dataclass(frozen=True)
class Rendered:
    """A rendered report: server-made file name, MIME type and the bytes, whole or streamed.

    ``content`` is the bytes, or a callable that yields them in chunks each time it is called,
    so that a big export never exists as one object; ``chunks()`` serves both kinds.
    """

    filename: str
    mimetype: str
    content: bytes | Callable[[], Iterable[bytes]]
    rows: int = 0  # the report rows it holds

    @property
    def body(self) -> bytes:
        """The whole file as one object, for callers that need it (tests, small formats)."""
        return self.content if isinstance(self.content, bytes) else b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The file in pieces, to send or write without holding it whole."""
        if isinstance(self.content, bytes):
            return iter((self.content,))
        return iter(self.content())


@dataclass(frozen=True)
class Format:
    """What the portal, the CLI and the catalogue check know of a format: one entry each."""

    name: str  # the file suffix and the ``formats`` value in a report definition
    label: str  # the German download link text
    mimetype: str
    download: bool  # offered as a file on the report page (``/reports/Rnn.<name>``)
    streams: bool  # ``Rendered.content`` comes in chunks

    def rendered(self, result: Result, content: bytes | Callable[[], Iterable[bytes]], *,
                 filename: str | None = None) -> Rendered:
        """Wrap ``content`` under a server-made file name (``Result.file_stem()`` unless the
        format makes its own): no user input reaches it."""
        return Rendered(filename or f"{result.file_stem()}.{self.name}", self.mimetype, content,
                        result.row_count)


class Renderer(Protocol):
    """One format's code: its declaration and ``render``."""

    format: Format

    def render(self, result: Result) -> Rendered: ...


#: rows per chunk of a streamed format: a big export is sent in pieces, never held as one string
BATCH = 1000


def utf8_stream(texts: Callable[[], Iterable[str]]) -> Callable[[], Iterator[bytes]]:
    """``Rendered.content`` for a format written as text pieces: each piece as UTF-8."""
    def chunks() -> Iterator[bytes]:
        for text in texts():
            yield text.encode("utf-8")
    return chunks
