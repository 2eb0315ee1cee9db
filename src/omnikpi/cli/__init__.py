"""The `omnikpi` command."""

from omnikpi.cli.main import app, main

__all__ = ["app", "main"]
