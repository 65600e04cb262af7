"""What units submit: checking values by kind, templates and files, without a database."""
