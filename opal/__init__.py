"""OPAL: open reporting and list portal for German Jobcenter (SGB II)."""
