"""Plan sync: a validated plan file stored in the database."""
