"""German text order (DIN 5007-1), the same on SQLite and PostgreSQL because Python decides it.

A letter with diacritics sorts as its base letter (Unicode canonical decomposition, marks
dropped), ß as ss, case ignored; equal keys then by code point (``text_key``), and the caller
breaks remaining ties by the row's first id column. SQL keeps its portable ``ORDER BY`` on ids
and numbers; where reports.md orders by a text, the engine re-sorts the (small) result here.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=65536)
def din5007(text: str) -> str:
    """The DIN 5007-1 key: NFD with combining marks dropped, ß -> ss, case folded."""
    decomposed = unicodedata.normalize("NFD", text.replace("ß", "ss").replace("ẞ", "SS"))
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base.casefold()


def text_key(value: Any) -> tuple[str, str]:
    """Sort key of a text cell: DIN 5007-1, then code point."""
    text = str(value)
    return din5007(text), text
