"""The web app: pages and JSON API over the warehouse."""

from omnikpi.web.app import create_app

__all__ = ["create_app"]
