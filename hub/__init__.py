"""Infrastructure of the hub: configuration, database, embedded PostgreSQL, CLI, demo data."""
