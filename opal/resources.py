"""Where the files OPAL ships live: ``templates/``, ``reports/``, ``sql/`` and ``static/``.

In the repository they sit at the top level (the design card's layout); the wheel maps them into
the package at build time (``[tool.hatch.build.targets.wheel.sources]`` in pyproject.toml),
so an installed OPAL finds them beside its modules and a checkout finds them one level up.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: the directories shipped with OPAL (static files live in the package in both layouts)
SHIPPED = ("templates", "reports", "sql")


def resource_dir(name: str) -> Path:
    """The directory ``name`` of the installed package, else of the source checkout."""
    if name not in SHIPPED:
        raise ValueError(f"not a shipped directory: {name}")
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name
