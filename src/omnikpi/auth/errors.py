"""The error raised when a request needs a signed-in user and has none."""

from __future__ import annotations

from omnikpi.errors import OmnikpiError


class NotAuthenticated(OmnikpiError):
    """No valid session or API token: pages send the browser to sign in, the API says 401."""

    http_status = 401
