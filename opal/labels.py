"""Every code's German label in one place: HTML, PDF, XLSX, CSV and the form show labels, JSON
keeps the codes (reports.md, "Every output").

A column shows labels when its key names a code domain (``COLUMN_DOMAINS``); R12's ``group``
column takes the domain of its ``group_by``. A parameter's value is labelled by its name
(``PARAM_DOMAINS``). Depends on nothing but the Result's shape, so every renderer can use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from opal.result import SUPPRESSED, ParamValue, Result
from opal.roles import ROLES

PLAN_STATUS = {"FEHLT": "fehlt", "UEBERFAELLIG": "überfällig", "FAELLIG": "fällig"}
PLAN_TYPE = {"EGV": "Eingliederungsvereinbarung", "KOOPERATIONSPLAN": "Kooperationsplan"}
LEGAL_BASIS = {
    "P16_AVGS": "§ 45 SGB III (AVGS)",
    "P16_MAT": "§ 45 SGB III (Maßnahme bei einem Träger)",
    "P16_FBW": "§§ 81 ff. SGB III (berufliche Weiterbildung)",
    "P16_EGZ": "§ 88 SGB III (Eingliederungszuschuss)",
    "P16A": "§ 16a SGB II (kommunale Eingliederungsleistungen)",
    "P16B": "§ 16b SGB II (Einstiegsgeld)",
    "P16C": "§ 16c SGB II (Eingliederung von Selbständigen)",
    "P16D_AGH": "§ 16d SGB II (Arbeitsgelegenheiten)",
    "P16E": "§ 16e SGB II (Eingliederung von Langzeitarbeitslosen)",
    "P16F": "§ 16f SGB II (freie Förderung)",
    "P16H": "§ 16h SGB II (schwer zu erreichende junge Menschen)",
    "P16I": "§ 16i SGB II (Teilhabe am Arbeitsmarkt)",
    "P16K": "§ 16k SGB II (ganzheitliche Betreuung)",
}
TEAM_FOCUS = {"U25": "U25 (unter 25 Jahre)", "UE25": "Ü25 (ab 25 Jahre)",
              "FM": "Fallmanagement"}
SEX = {"M": "männlich", "W": "weiblich", "D": "divers"}
#: the sections of the Klassifikation der Wirtschaftszweige (WZ 2008), short names
WZ_SECTION = {code: f"{code} – {name}" for code, name in (
    ("A", "Land- und Forstwirtschaft, Fischerei"),
    ("B", "Bergbau und Gewinnung von Steinen und Erden"),
    ("C", "Verarbeitendes Gewerbe"),
    ("D", "Energieversorgung"),
    ("E", "Wasserversorgung, Abwasser- und Abfallentsorgung"),
    ("F", "Baugewerbe"),
    ("G", "Handel, Instandhaltung und Reparatur von Kraftfahrzeugen"),
    ("H", "Verkehr und Lagerei"),
    ("I", "Gastgewerbe"),
    ("J", "Information und Kommunikation"),
    ("K", "Finanz- und Versicherungsdienstleistungen"),
    ("L", "Grundstücks- und Wohnungswesen"),
    ("M", "Freiberufliche, wissenschaftliche und technische Dienstleistungen"),
    ("N", "Sonstige wirtschaftliche Dienstleistungen"),
    ("O", "Öffentliche Verwaltung, Verteidigung, Sozialversicherung"),
    ("P", "Erziehung und Unterricht"),
    ("Q", "Gesundheits- und Sozialwesen"),
    ("R", "Kunst, Unterhaltung und Erholung"),
    ("S", "Sonstige Dienstleistungen"),
    ("T", "Private Haushalte"),
    ("U", "Exterritoriale Organisationen und Körperschaften"),
)}
PROFILE_GROUP = {"A": "A", "B": "B", "C": "C"}
#: the 15 key figures of § 48a SGB II (R17's names; R18's ``figure`` parameter)
FIGURE = {code: f"{code} – {name}" for code, name in (
    ("K1", "Veränderung der Summe der Leistungen zum Lebensunterhalt"),
    ("K1E1", "Veränderung der Summe der Leistungen für Unterkunft und Heizung"),
    ("K1E2", "Veränderung der Zahl der eLb"),
    ("K1E3", "Durchschnittliche Zugangsrate der eLb"),
    ("K1E4", "Durchschnittliche Abgangsrate der eLb"),
    ("K2", "Integrationsquote"),
    ("K2E1", "Quote der Eintritte in geringfügige Beschäftigung"),
    ("K2E2", "Quote der Eintritte in öffentlich geförderte Beschäftigung"),
    ("K2E3", "Kontinuierliche Beschäftigung nach Integration"),
    ("K2E4", "Integrationsquote der Alleinerziehenden"),
    ("K3", "Veränderung des Bestands an Langzeitleistungsbeziehenden"),
    ("K3E1", "Integrationsquote der LZB"),
    ("K3E2", "Aktivierungsquote der LZB"),
    ("K3E3", "Durchschnittliche Zugangsrate der LZB"),
    ("K3E4", "Durchschnittliche Abgangsrate der LZB"),
)}
GROUP_BY = {"office": "Dienststelle", "sex": "Geschlecht", "fluchtkontext": "Fluchtkontext",
            "alleinerziehend": "alleinerziehend"}

#: the portal's own codes on the pages (roles, audit log, refresh runs)
#: the role labels are the role table's (opal.roles): one place names a role
ROLE = {r.name: r.label for r in ROLES.values()}
AUDIT_ACTION = {"run": "Bericht", "login": "Anmeldung", "logout": "Abmeldung",
                "admin": "Verwaltung", "purge": "Löschung"}
AUDIT_OUTCOME = {"ok": "erfolgreich", "denied": "abgelehnt", "invalid": "ungültig",
                 "error": "Fehler"}
REFRESH_STATUS = {"running": "läuft", "ok": "erfolgreich", "published": "veröffentlicht",
                  "failed": "fehlgeschlagen", "rejected": "abgelehnt"}

#: domain name -> (code -> label, label of a missing value or None)
DOMAINS: dict[str, tuple[Mapping[str, str], str | None]] = {
    "plan_status": (PLAN_STATUS, None),
    "plan_type": (PLAN_TYPE, None),
    "legal_basis": (LEGAL_BASIS, None),
    "team_focus": (TEAM_FOCUS, None),
    "sex": (SEX, None),
    "wz_section": (WZ_SECTION, "ohne Wirtschaftsabschnitt"),
    "profile_group": (PROFILE_GROUP, "ohne Profillage"),
    "group_by": (GROUP_BY, None),
    "figure": (FIGURE, None),
    "role": (ROLE, "ohne Rolle"),
    "audit_action": (AUDIT_ACTION, None),
    "audit_outcome": (AUDIT_OUTCOME, None),
    "refresh_status": (REFRESH_STATUS, None),
}
#: column key -> domain (the keys reports.md gives these codes)
COLUMN_DOMAINS = {"plan_status": "plan_status", "plan_type": "plan_type",
                  "legal_basis": "legal_basis", "focus": "team_focus", "sex": "sex",
                  "wz_section": "wz_section", "profile_group": "profile_group"}
#: parameter name -> domain
PARAM_DOMAINS = {"legal_basis": "legal_basis", "profile_group": "profile_group", "sex": "sex",
                 "group_by": "group_by", "figure": "figure"}
#: an empty cell with a meaning the report gives it (reports.md: R02 never contacted is "nie")
EMPTY_MEANINGS = {("R02", "last_contact"): "nie"}
#: the first-column label of a total row; never relabelled
TOTAL = "Gesamt"

MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


def label(domain: str, code: Any) -> Any:
    """Return the German label of ``code`` in ``domain``; an unknown code is shown as it is."""
    table, missing = DOMAINS[domain]
    if code is None:
        return missing
    if code is SUPPRESSED or not isinstance(code, str) or code == TOTAL:
        return code
    return table.get(code, code)


def choices(domain: str, codes: tuple[str, ...]) -> list[tuple[str, str]]:
    """Return (code, label) for a form's options, in the order given."""
    return [(c, str(label(domain, c))) for c in codes]


def month_label(key: str) -> str:
    """``2026-11`` -> ``November 2026``."""
    found = _MONTH.match(key)
    if not found or not 1 <= int(found[2]) <= 12:
        return key
    return f"{MONTHS[int(found[2]) - 1]} {found[1]}"


def param_text(param: ParamValue) -> str | None:
    """Return the German text of a parameter's code or month value, or None if it has none."""
    value = param.value
    if not isinstance(value, str):
        return None
    domain = PARAM_DOMAINS.get(param.name)
    if domain is not None and value:
        return str(label(domain, value))
    if _MONTH.match(value):
        return month_label(value)
    return None


def column_domains(result: Result) -> dict[str, str]:
    """Return column key -> domain for the columns of ``result`` that show labels."""
    found = {c.key: COLUMN_DOMAINS[c.key] for c in result.columns if c.key in COLUMN_DOMAINS}
    group_by = next((p.value for p in result.params if p.name == "group_by"), None)
    if group_by == "sex" and any(c.key == "group" for c in result.columns):
        found["group"] = "sex"  # R12 by sex: the group label is the sex
    return found


def labeller(result: Result) -> dict[str, Callable[[Any], Any]]:
    """Return column key -> function turning a stored value into the value to show."""
    out: dict[str, Callable[[Any], Any]] = {}
    for key, domain in column_domains(result).items():
        out[key] = _domain_fn(domain)
    for (code, key), text in EMPTY_MEANINGS.items():
        if code == result.code and any(c.key == key for c in result.columns):
            inner = out.get(key)
            out[key] = _empty_fn(text, inner)
    return out


def _domain_fn(domain: str) -> Callable[[Any], Any]:
    def show(value: Any) -> Any:
        return label(domain, value)
    return show


def _empty_fn(text: str, inner: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def show(value: Any) -> Any:
        if value is None:
            return text
        return inner(value) if inner is not None else value
    return show


def shown_row(row: Mapping[str, Any], keys: list[str],
              labels: Mapping[str, Callable[[Any], Any]]) -> list[Any]:
    """Return the row's values in ``keys`` order, labelled where a column has labels."""
    return [labels[k](row.get(k)) if k in labels else row.get(k) for k in keys]
