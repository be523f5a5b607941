"""The parameter form, built from a report definition: one input per declared parameter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from opal.catalogue import ParamDef, ReportDefinition
from opal.labels import PARAM_DOMAINS, choices
from opal.params import default_value


@dataclass(frozen=True)
class Field:
    """One form input: its HTML kind, current value, bounds, options and error text."""

    name: str
    label: str
    kind: str  # number | date | month | select
    value: str
    min: str | None = None
    max: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    optional: bool = False


def _shown_default(param: ParamDef, as_of: date | None) -> str:
    """Return the default as the input shows it ('' when there is none)."""
    if as_of is None:
        return "" if not isinstance(param.default, int) or param.type == "bool" else \
            str(param.default)
    found = default_value(param, as_of)
    if found is None or found[1] is None:
        return ""
    shown = found[1]
    if isinstance(shown, bool):
        return "ja" if shown else "nein"
    return str(shown)


def build_fields(definition: ReportDefinition, args: Mapping[str, str],
                 errors: Mapping[str, str], as_of: date | None,
                 staff: Mapping[str, str] | None = None,
                 offices: list[tuple[str, str]] | None = None) -> list[Field]:
    """Return the form fields with the values given (or the defaults) and their errors;
    ``staff`` (id -> display name) are the case managers a ``staff`` field offers, an
    ``office`` field offers ``offices`` (id, name) by name."""
    fields = []
    for p in definition.params:
        value = args[p.name] if p.name in args else _shown_default(p, as_of)
        options: list[tuple[str, str]] = []
        kind = {"int": "number", "date": "date", "month": "month"}.get(p.type, "select")
        if p.type == "bool":
            options = [("ja", "ja"), ("nein", "nein")]
        elif p.type == "staff":
            options = [("", "(alle)"), *(staff or {}).items()]
        elif p.type == "code":
            if p.name in PARAM_DOMAINS:
                options = choices(PARAM_DOMAINS[p.name], p.choices)
            else:
                labels = list(p.labels) if p.labels else list(p.choices)
                options = list(zip(p.choices, labels, strict=False))
            if p.optional:
                options.insert(0, ("", "(alle)"))
        elif p.type == "office":
            options = [("", "(gesamter Kreis)"), *(offices or [])]
        fields.append(Field(
            name=p.name, label=p.label, kind=kind, value=value,
            min=None if p.min is None else str(p.min), max=None if p.max is None else str(p.max),
            options=options, error=errors.get(p.name), optional=bool(p.optional)))
    return fields


def other_errors(definition: ReportDefinition, errors: Mapping[str, str]) -> dict[str, str]:
    """Return the errors that belong to no form field (unknown or reserved arguments)."""
    names = {p.name for p in definition.params}
    return {k: v for k, v in errors.items() if k not in names}
