"""The report catalogue: ``model`` (frozen definitions), ``load`` (TOML + SQL files) and
``check`` (every rule and a dry run; ``load_and_check`` is the portal's and ``opal run``'s gate).
The modules depend one way only: model <- load <- check."""

from __future__ import annotations

from opal.catalogue.check import (
    check_bundle,
    check_catalogue,
    check_definition,
    load_and_check,
    run_on_empty,
)
from opal.catalogue.load import default_dirs, load_catalogue, placeholders, split_sql
from opal.catalogue.model import (
    BUNDLE_FORMATS,
    BundleDefinition,
    BundleRun,
    Catalogue,
    CatalogueError,
    DateRange,
    ParamDef,
    ReportDefinition,
)

__all__ = ["BUNDLE_FORMATS", "BundleDefinition", "BundleRun", "Catalogue", "CatalogueError",
           "DateRange", "ParamDef", "ReportDefinition", "check_bundle",
           "check_catalogue", "check_definition", "default_dirs", "load_and_check",
           "load_catalogue", "placeholders", "run_on_empty", "split_sql"]
