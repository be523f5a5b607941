"""One module per app-database revision; never edit a landed one, add the next."""
