"""The web app: pages and JSON API over the warehouse."""
