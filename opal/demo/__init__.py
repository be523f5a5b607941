"""`opal demo-export`: a synthetic but realistic nightly export (see export-format.md)."""

from opal.demo.generator import SCALES, generate

__all__ = ["SCALES", "generate"]
