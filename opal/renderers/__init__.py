"""The renderer registry: one module per format, one contract (``render(result) -> Rendered``)."""

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

    @property
    def body(self) -> bytes:
        """The whole file as one object, for callers that need it (tests, small formats)."""
        return self.content if isinstance(self.content, bytes) else b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The file in pieces, to send or write without holding it whole."""
        if isinstance(self.content, bytes):
            return iter((self.content,))
        return iter(self.content())


#: rows per chunk of a streamed format: a big export is sent in pieces, never held as one string
BATCH = 1000


def utf8_stream(texts: Callable[[], Iterable[str]]) -> Callable[[], Iterator[bytes]]:
    """``Rendered.content`` for a format written as text pieces: each piece as UTF-8."""
    def chunks() -> Iterator[bytes]:
        for text in texts():
            yield text.encode("utf-8")
    return chunks


class Renderer(Protocol):
    fmt: str
    mimetype: str

    def render(self, result: Result) -> Rendered: ...


RENDERERS: dict[str, Renderer] = {}


def register(renderer: Renderer) -> Renderer:
    """Add a renderer to the registry under its format."""
    RENDERERS[renderer.fmt] = renderer
    return renderer


def get_renderer(fmt: str) -> Renderer:
    """Return the renderer for ``fmt``; importing the format modules registers them."""
    _load_all()
    return RENDERERS[fmt]


def available_formats() -> tuple[str, ...]:
    _load_all()
    return tuple(RENDERERS)


def _load_all() -> None:
    import importlib

    for name in ("json", "csv", "xlsx", "pdf", "html"):
        try:
            importlib.import_module(f"opal.renderers.{name}")
        except ModuleNotFoundError as exc:  # a format module not written yet
            if exc.name != f"opal.renderers.{name}":
                raise
