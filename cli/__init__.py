"""Command-line interface: the `dondoc` command."""
