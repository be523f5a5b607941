"""The renderer registry: one module per format, one contract (``render(result) -> Rendered``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from opal.result import Result


@dataclass(frozen=True)
class Rendered:
    """A rendered report: server-made file name, MIME type and the bytes."""

    filename: str
    mimetype: str
    body: bytes


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
