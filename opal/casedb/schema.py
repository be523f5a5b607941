"""The case database: the export's tables (one declaration for generator, validator and DDL)
plus the derived layer the report SQL reads.

Conventions every report relies on:
- every date column ``x_date`` is stored as DATE and as an integer day number ``x_day``
  (``date.toordinal()``; ``valid_from`` -> ``valid_from_day``), so SQL does integer arithmetic;
- booleans are integers 0/1; ``fte`` is stored as ``fte_e4`` (ten-thousandths) and ``cost`` as
  ``cost_cents``: exact sums without binary floats;
- text columns sort by code point (``COLLATE "C"`` on PostgreSQL, BINARY on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.types import TypeEngine

# ---------------------------------------------------------------------------------------------
# The export format (../shared/spec/export-format.md), declared once.
# ---------------------------------------------------------------------------------------------

WZ_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRSTU")


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export table.

    ``kind`` is one of ``id`` (text key or reference), ``text``, ``code``, ``date``, ``month``
    (``YYYY-MM``), ``bool``, ``decimal``, ``country``; ``codes`` lists a code column's values;
    ``ref`` names the ``table.column`` a reference must resolve to; ``scale`` is the largest
    number of decimals.
    """

    name: str
    kind: str
    nullable: bool = False
    codes: tuple[str, ...] = ()
    ref: str | None = None
    min: float | None = None
    max: float | None = None
    scale: int = 0
    personal: bool = False  # never shown in a rejection message (names)


@dataclass(frozen=True)
class ExportTable:
    """One export table; ``since`` is the first ``format_version`` that carries it."""

    name: str
    columns: tuple[ExportColumn, ...]
    key: tuple[str, ...]
    since: int = 1

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ExportColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, kind: str, **kw: object) -> ExportColumn:
    return ExportColumn(name, kind, **kw)  # type: ignore[arg-type]


FOCUS = ("U25", "UE25", "FM")
FUNCTIONS = ("FALLMANAGEMENT", "ARBEITSVERMITTLUNG", "TEAMLEITUNG", "LEISTUNG")
CASE_MANAGER_FUNCTIONS = ("FALLMANAGEMENT", "ARBEITSVERMITTLUNG")
BG_TYPES = ("SINGLE", "ALLEINERZIEHEND", "PAAR_OHNE_KIND", "PAAR_MIT_KIND", "SONSTIGE")
BG_END_REASONS = ("ERWERBSEINKOMMEN", "SONST_EINKOMMEN", "UMZUG", "VORRANGIGE_LEISTUNG",
                  "SONSTIGES")
BG_ROLES = ("HAUPTPERSON", "PARTNER", "KIND", "SONSTIGE")
SEXES = ("M", "W", "D")
RESIDENCE = ("DEUTSCH", "EU", "GESTATTUNG", "AE_FLUCHT", "DULDUNG", "UKRAINE_24", "SONSTIGE")
FLUCHT = ("GESTATTUNG", "AE_FLUCHT", "DULDUNG", "UKRAINE_24")
SCHOOL = ("OHNE", "HAUPT", "MITTLERE_REIFE", "ABITUR", "AUSLAND")
VOCATIONAL = ("OHNE", "BETRIEBLICH", "HOCHSCHULE")
BENEFIT_STATUS = ("ELB", "NEF")
UNEMPLOYMENT_STATUS = ("ARBEITSLOS", "ARBEITSUCHEND")
PROFILE_GROUPS = ("A", "B", "C")
PLAN_TYPES = ("EGV", "KOOPERATIONSPLAN")
PLAN_STATUS = ("AKTIV", "ABGELAUFEN", "ERSETZT")
CHANNELS = ("PERSOENLICH", "TELEFON", "VIDEO", "SCHRIFTLICH", "GRUPPE")
OUTCOMES = ("WAHRGENOMMEN", "NICHT_ERSCHIENEN", "ABGESAGT", "OFFEN")
LEGAL_BASES = ("P16_AVGS", "P16_MAT", "P16_FBW", "P16_EGZ", "P16A", "P16B", "P16C", "P16D_AGH",
               "P16E", "P16F", "P16H", "P16I", "P16K")
CATEGORIES = ("AKTIVIERUNG", "QUALIFIZIERUNG", "BESCHAEFTIGUNGSBEGLEITEND",
              "OEFFENTLICH_GEFOERDERT", "KOMMUNAL")
EXIT_REASONS = ("REGULAER", "ABBRUCH", "INTEGRATION", "SONSTIGES")
EMPLOYMENT_KINDS = ("SVB", "AUSBILDUNG", "SELBSTAENDIG", "GERINGFUEGIG", "OEFF_GEFOERDERT")
INTEGRATION_KINDS = ("SVB", "AUSBILDUNG", "SELBSTAENDIG")

EXPORT_TABLES: tuple[ExportTable, ...] = (
    ExportTable("office", (_c("office_id", "id"), _c("name", "text")), ("office_id",)),
    ExportTable("team", (
        _c("team_id", "id"), _c("office_id", "id", ref="office.office_id"), _c("name", "text"),
        _c("focus", "code", codes=FOCUS)), ("team_id",)),
    ExportTable("staff", (
        _c("staff_id", "id"), _c("team_id", "id", ref="team.team_id"),
        _c("display_name", "text", personal=True), _c("function", "code", codes=FUNCTIONS),
        _c("fte", "decimal", min=0.1, max=1.0, scale=4), _c("active", "bool")), ("staff_id",)),
    ExportTable("benefit_unit", (
        _c("bg_id", "id"), _c("office_id", "id", ref="office.office_id"),
        _c("bg_type", "code", codes=BG_TYPES), _c("start_date", "date"),
        _c("end_date", "date", nullable=True),
        _c("end_reason", "code", codes=BG_END_REASONS, nullable=True)), ("bg_id",)),
    ExportTable("person", (
        _c("customer_no", "id"), _c("bg_id", "id", ref="benefit_unit.bg_id"),
        _c("bg_role", "code", codes=BG_ROLES), _c("last_name", "text", personal=True),
        _c("first_name", "text", personal=True), _c("sex", "code", codes=SEXES),
        _c("birth_date", "date"), _c("citizenship", "country"),
        _c("residence_status", "code", codes=RESIDENCE),
        _c("school_degree", "code", codes=SCHOOL, nullable=True),
        _c("vocational_degree", "code", codes=VOCATIONAL, nullable=True),
        _c("severely_disabled", "bool"),
        _c("case_manager_id", "id", nullable=True, ref="staff.staff_id"),
        _c("protected", "bool")), ("customer_no",)),
    ExportTable("stand_in", (
        _c("staff_id", "id", ref="staff.staff_id"),
        _c("covers_staff_id", "id", ref="staff.staff_id"), _c("from_date", "date"),
        _c("to_date", "date", nullable=True)), ("staff_id", "covers_staff_id", "from_date")),
    ExportTable("benefit_spell", (
        _c("spell_id", "id"), _c("customer_no", "id", ref="person.customer_no"),
        _c("status", "code", codes=BENEFIT_STATUS), _c("from_date", "date"),
        _c("to_date", "date", nullable=True)), ("spell_id",)),
    ExportTable("unemployment_spell", (
        _c("spell_id", "id"), _c("customer_no", "id", ref="person.customer_no"),
        _c("status", "code", codes=UNEMPLOYMENT_STATUS), _c("from_date", "date"),
        _c("to_date", "date", nullable=True)), ("spell_id",)),
    ExportTable("profile", (
        _c("customer_no", "id", ref="person.customer_no"), _c("valid_from", "date"),
        _c("profile_group", "code", codes=PROFILE_GROUPS)), ("customer_no", "valid_from")),
    ExportTable("integration_plan", (
        _c("plan_id", "id"), _c("customer_no", "id", ref="person.customer_no"),
        _c("plan_type", "code", codes=PLAN_TYPES), _c("signed_date", "date"),
        _c("next_review_date", "date", nullable=True), _c("end_date", "date", nullable=True),
        _c("status", "code", codes=PLAN_STATUS)), ("plan_id",)),
    ExportTable("contact", (
        _c("contact_id", "id"), _c("customer_no", "id", ref="person.customer_no"),
        _c("staff_id", "id", ref="staff.staff_id"), _c("contact_date", "date"),
        _c("channel", "code", codes=CHANNELS), _c("outcome", "code", codes=OUTCOMES)),
        ("contact_id",)),
    ExportTable("measure_type", (
        _c("measure_code", "id"), _c("name", "text"),
        _c("legal_basis", "code", codes=LEGAL_BASES), _c("category", "code", codes=CATEGORIES),
        _c("counts_for_activation", "bool")), ("measure_code",)),
    ExportTable("measure_participation", (
        _c("participation_id", "id"), _c("customer_no", "id", ref="person.customer_no"),
        _c("measure_code", "id", ref="measure_type.measure_code"),
        _c("provider", "text", nullable=True), _c("entry_date", "date"),
        _c("planned_end_date", "date", nullable=True), _c("exit_date", "date", nullable=True),
        _c("exit_reason", "code", codes=EXIT_REASONS, nullable=True),
        _c("cost", "decimal", nullable=True, min=0, scale=2)), ("participation_id",)),
    ExportTable("employment_spell", (
        _c("employment_id", "id"), _c("customer_no", "id", ref="person.customer_no"),
        _c("kind", "code", codes=EMPLOYMENT_KINDS), _c("start_date", "date"),
        _c("end_date", "date", nullable=True), _c("subsidised", "bool"),
        _c("wz_section", "code", codes=WZ_SECTIONS, nullable=True), _c("full_time", "bool")),
        ("employment_id",)),
    ExportTable("benefit_payment", (
        _c("bg_id", "id", ref="benefit_unit.bg_id"), _c("month", "month"),
        _c("llu", "decimal", min=0, scale=2), _c("luh", "decimal", min=0, scale=2)),
        ("bg_id", "month"), since=2),
)

#: the export format versions ``opal refresh`` accepts (export-format.md)
FORMAT_VERSIONS = (1, 2)


def export_tables(format_version: int) -> tuple[ExportTable, ...]:
    """The tables an export of ``format_version`` carries (version 1: no ``benefit_payment``)."""
    return tuple(t for t in EXPORT_TABLES if t.since <= format_version)


def day_column_name(date_column: str) -> str:
    """``from_date`` -> ``from_day``, ``valid_from`` -> ``valid_from_day``."""
    if date_column.endswith("_date"):
        return date_column[: -len("_date")] + "_day"
    return date_column + "_day"


def month_column_name(month_column: str) -> str:
    """``month`` -> ``month_idx`` (``year * 12 + month - 1``, as ``d_month``)."""
    return month_column + "_idx"


def stored_column_name(col: ExportColumn) -> str:
    """The case-DB column that holds an export column's value (decimals as exact integers:
    ``fte`` -> ``fte_e4``, money -> ``<name>_cents``)."""
    if col.kind == "decimal":
        return f"{col.name}_cents" if col.scale == 2 else f"{col.name}_e{col.scale}"
    return col.name


# ---------------------------------------------------------------------------------------------
# SQLAlchemy DDL
# ---------------------------------------------------------------------------------------------


def _text_type(length: int = 200) -> TypeEngine[str]:
    """Text that sorts by code point on both databases."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


metadata = MetaData()


def _base_table(spec: ExportTable) -> Table:
    cols: list[Column[object]] = []
    for c in spec.columns:
        name = stored_column_name(c)
        primary = spec.key == (c.name,)
        if c.kind == "date":
            cols.append(Column(name, Date, nullable=c.nullable))
            cols.append(Column(day_column_name(c.name), Integer, nullable=c.nullable))
        elif c.kind == "month":
            cols.append(Column(name, String(7), nullable=c.nullable))
            cols.append(Column(month_column_name(c.name), Integer, nullable=c.nullable))
        elif c.kind in ("bool", "decimal"):
            cols.append(Column(name, Integer, nullable=c.nullable, primary_key=primary))
        else:
            cols.append(Column(name, _text_type(), nullable=c.nullable, primary_key=primary))
    if spec.name == "measure_participation":
        # measure active on D: entry_day <= D <= active_to_day (coalesce(exit, planned_end), open)
        cols.append(Column("active_to_day", Integer, nullable=False))
    return Table(spec.name, metadata, *cols)


BASE_TABLES = {spec.name: _base_table(spec) for spec in EXPORT_TABLES}

# Indexes a case load's lists rely on (a case load must not cost the county's size).
Index("ix_person_cm", BASE_TABLES["person"].c.case_manager_id)
Index("ix_person_bg", BASE_TABLES["person"].c.bg_id)
Index("ix_staff_team", BASE_TABLES["staff"].c.team_id)
Index("ix_contact_person", BASE_TABLES["contact"].c.customer_no,
      BASE_TABLES["contact"].c.outcome, BASE_TABLES["contact"].c.contact_day)
Index("ix_mp_person", BASE_TABLES["measure_participation"].c.customer_no)
Index("ix_mp_planned_end", BASE_TABLES["measure_participation"].c.planned_end_day)
Index("ix_mp_entry", BASE_TABLES["measure_participation"].c.entry_day)
Index("ix_bspell_person", BASE_TABLES["benefit_spell"].c.customer_no)
Index("ix_uspell_person", BASE_TABLES["unemployment_spell"].c.customer_no)
Index("ix_plan_person", BASE_TABLES["integration_plan"].c.customer_no)
Index("ix_profile_person", BASE_TABLES["profile"].c.customer_no,
      BASE_TABLES["profile"].c.valid_from_day)
Index("ix_emp_person", BASE_TABLES["employment_spell"].c.customer_no)

# ----- derived layer (computed by opal.refresh.derive for the generation's as_of) -------------

#: one row: the generation's data date and provenance
d_meta = Table(
    "d_meta", metadata,
    Column("as_of", Date, nullable=False),
    Column("as_of_day", Integer, nullable=False),
    Column("exported_at", String(40), nullable=False),  # ISO UTC, from the manifest
    Column("source", _text_type(), nullable=False),
    Column("format_version", Integer, nullable=False),
    Column("built_at", String(40), nullable=False),  # ISO UTC, when refresh built it
)

#: calendar months from 1900-01 to the month of as_of (month parameters resolve here)
d_month = Table(
    "d_month", metadata,
    Column("month_idx", Integer, primary_key=True),  # year * 12 + month - 1
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("first_day", Integer, nullable=False),
    Column("last_day", Integer, nullable=False),
    Column("last_date", Date, nullable=False),
)

#: merged ELB coverage per person: disjoint, non-adjacent [from_day, to_day], clipped to as_of
d_elb_interval = Table(
    "d_elb_interval", metadata,
    Column("customer_no", _text_type(), primary_key=True),
    Column("from_day", Integer, primary_key=True),
    Column("to_day", Integer, nullable=False),
)
Index("ix_elb_interval_days", d_elb_interval.c.from_day, d_elb_interval.c.to_day)

#: one row per person: static attributes plus every derived fact on as_of (reports.md)
d_person = Table(
    "d_person", metadata,
    Column("customer_no", _text_type(), primary_key=True),
    Column("name", _text_type(), nullable=False),  # "Last, First"
    Column("bg_id", _text_type(), nullable=False),
    Column("office_id", _text_type(), nullable=False),  # office of the person's BG
    Column("case_manager_id", _text_type()),
    Column("case_manager", _text_type()),  # display name of the case manager
    Column("team_id", _text_type()),  # team of the case manager (any function, active or not)
    Column("protected", Integer, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("age", Integer, nullable=False),  # full years on as_of
    Column("residence_status", String(20), nullable=False),
    Column("fluchtkontext", Integer, nullable=False),
    Column("severely_disabled", Integer, nullable=False),
    Column("bg_role", String(20), nullable=False),
    Column("bg_type", String(20), nullable=False),
    Column("bg_start_day", Integer, nullable=False),
    Column("bg_end_day", Integer, nullable=False),  # OPEN_END when open
    Column("bg_active", Integer, nullable=False),  # BG active on as_of
    Column("alleinerziehend", Integer, nullable=False),  # on as_of
    Column("is_elb", Integer, nullable=False),
    Column("is_nef", Integer, nullable=False),
    Column("u25", Integer, nullable=False),  # eLb and age < 25
    Column("elb_days_730", Integer, nullable=False),
    Column("elb_days_2555", Integer, nullable=False),
    Column("lzb", Integer, nullable=False),
    Column("al_days", Integer, nullable=False),
    Column("arbeitslos", Integer, nullable=False),
    Column("langzeitarbeitslos", Integer, nullable=False),
    Column("profile_group", String(1)),  # null: no profile row valid on as_of
    Column("last_contact", Date),  # last kept contact on or before as_of
    Column("last_contact_day", Integer),
    Column("days_since_contact", Integer),  # as_of - last_contact, null if never
    Column("elb_since", Date),  # earliest from_date of the ELB spells covering as_of
    Column("elb_since_day", Integer),
    Column("offer_since_entry", Integer, nullable=False),  # R04: plan/measure/job since elb_since
    Column("child_u18_in_bg", Integer, nullable=False),  # a KIND of the BG is under 18 on as_of
    Column("plan_id", _text_type()),  # active plan on as_of (latest signed, highest id)
    Column("plan_type", String(20)),
    Column("plan_next_review", Date),
    Column("plan_next_review_day", Integer),
)
Index("ix_d_person_cm", d_person.c.case_manager_id)
Index("ix_d_person_team", d_person.c.team_id)
Index("ix_d_person_office", d_person.c.office_id)

#: who may see a person in a named list: viewer 'S:<staff_id>' (own case load, plus
#: non-protected persons of colleagues covered by a stand-in active on as_of) or 'T:<team_id>'
#: (non-protected persons of the team's case managers)
d_list_scope = Table(
    "d_list_scope", metadata,
    Column("viewer", _text_type(), primary_key=True),
    Column("customer_no", _text_type(), primary_key=True),
)

#: integrations (reports.md "integration"): at most one per person and calendar month
d_integration = Table(
    "d_integration", metadata,
    Column("employment_id", _text_type(), primary_key=True),
    Column("customer_no", _text_type(), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("start_day", Integer, nullable=False),
    Column("month_idx", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("wz_section", String(1)),
    Column("subsidised", Integer, nullable=False),
    Column("office_id", _text_type(), nullable=False),
    Column("team_id", _text_type()),  # current team of the person's case manager
    Column("sex", String(1), nullable=False),
    Column("fluchtkontext", Integer, nullable=False),
    Column("alleinerziehend", Integer, nullable=False),  # on the start day s
    Column("lzb_prev", Integer, nullable=False),  # LZB on s - 1
    Column("bedarfsdeckend", Integer),  # 1/0 when s + 91 <= as_of, else null (unknown)
    # K2E3: employed (integration kind) at the end of each of the 12 months after month_idx;
    # null while the twelfth month end is after as_of
    Column("continued", Integer),
)
Index("ix_d_integration_month", d_integration.c.month_idx)

#: entries into GERINGFUEGIG / OEFF_GEFOERDERT employment by the integration rule (K2E1, K2E2):
#: started while eLb on s or s - 1, at most one per person, month and kind
d_entry = Table(
    "d_entry", metadata,
    Column("employment_id", _text_type(), primary_key=True),
    Column("customer_no", _text_type(), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("start_day", Integer, nullable=False),
    Column("month_idx", Integer, nullable=False),
    Column("office_id", _text_type(), nullable=False),
    Column("sex", String(1), nullable=False),
)

#: month-end stocks and flows per month and attribute cell (opal.refresh.derive_month): the
#: persons eLb / LZB / LZB in an activating measure on the month's last day, and the inflow /
#: outflow against the previous month's last day; each counted with their office, sex,
#: Fluchtkontext and alleinerziehend on that day. Only cells with a count have a row, so a month
#: before the data's history sums to 0. R12-R14 read these instead of d_elb_interval.
d_month_stock = Table(
    "d_month_stock", metadata,
    Column("month_idx", Integer, primary_key=True),
    Column("office_id", _text_type(), primary_key=True),
    Column("sex", String(1), primary_key=True),
    Column("fluchtkontext", Integer, primary_key=True),
    Column("alleinerziehend", Integer, primary_key=True),
    Column("elb", Integer, nullable=False),
    Column("lzb", Integer, nullable=False),
    Column("lzb_activated", Integer, nullable=False),
    Column("inflow", Integer, nullable=False),
    Column("outflow", Integer, nullable=False),
    Column("lzb_inflow", Integer, nullable=False),  # LZB at this month end, not at the last
    Column("lzb_outflow", Integer, nullable=False),  # LZB at the last month end, not this
)

#: every monthly fact the key figures of § 48a SGB II (R17) read, per month, office and sex:
#: the stocks and flows of d_month_stock (ae_elb: eLb alleinerziehend), the integrations of
#: d_integration by their month (lzb_integrations: LZB on s - 1; ae_integrations: alleinerziehend
#: on s; continued: K2E3's numerator by the integration's month), the entries of d_entry, and
#: the money of benefit_payment (cents; paid_bg: BG with a row that month) by the BG's office and
#: its HAUPTPERSON's sex ('' for a BG without one: in the county and office, in no sex). A figure
#: for any month and office adds up at most 36 months of one office here.
d_month_fact = Table(
    "d_month_fact", metadata,
    Column("month_idx", Integer, primary_key=True),
    Column("office_id", _text_type(), primary_key=True),
    Column("sex", String(1), primary_key=True),
    *(Column(name, Integer, nullable=False) for name in (
        "elb", "lzb", "lzb_activated", "inflow", "outflow", "lzb_inflow", "lzb_outflow",
        "ae_elb", "integrations", "lzb_integrations", "ae_integrations", "continued",
        "geringfuegig", "oeff_gefoerdert")),
    Column("llu_cents", BigInteger, nullable=False),
    Column("luh_cents", BigInteger, nullable=False),
    Column("paid_bg", Integer, nullable=False),
)

#: R16's figures per office on as_of (opal.refresh.derive_summary), so the Strukturbericht reads
#: one row per office instead of every person of the county
d_office_structure = Table(
    "d_office_structure", metadata,
    Column("office_id", _text_type(), primary_key=True),
    *(Column(name, Integer, nullable=False) for name in (
        "bg", "alleinerziehend_bg", "fluchtkontext_bg", "elb", "nef", "u25", "ue50", "lzb",
        "persons")),
)

#: the eLb on as_of per case manager (R09's Betreuungsschlüssel)
d_staff_elb = Table(
    "d_staff_elb", metadata,
    Column("staff_id", _text_type(), primary_key=True),
    Column("elb", Integer, nullable=False),
)

#: the county's eLb on as_of per profile group ('' for none) and days since their last kept
#: contact (-1: never): R10 for the county sums at most a few thousand rows for any ``days``
d_contact_age = Table(
    "d_contact_age", metadata,
    Column("profile_group", String(1), primary_key=True),
    Column("contact_age", Integer, primary_key=True),
    Column("elb", Integer, nullable=False),
)

#: R15's facts per measure and day (participations entered on or before as_of): entries and
#: their cost on their entry day, exits by reason on their exit day, and the participants' marks
#: (+1 on the entry day, -1 the day after active_to_day), so "active on D" is a running sum
d_measure_day = Table(
    "d_measure_day", metadata,
    Column("measure_code", _text_type(), primary_key=True),
    Column("day", Integer, primary_key=True),
    *(Column(name, Integer, nullable=False) for name in (
        "entries", "exits_regulaer", "exits_abbruch", "exits_integration", "exits_sonstiges",
        "active_delta")),
    Column("cost_cents", BigInteger, nullable=False),
)

DERIVED_TABLES = (d_meta, d_month, d_elb_interval, d_person, d_list_scope, d_integration,
                  d_entry, d_month_stock, d_month_fact, d_office_structure, d_staff_elb,
                  d_contact_age, d_measure_day)


def viewer_for_staff(staff_id: str) -> str:
    return f"S:{staff_id}"


def viewer_for_team(team_id: str) -> str:
    return f"T:{team_id}"
