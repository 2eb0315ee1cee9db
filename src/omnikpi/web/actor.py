"""Who asks, for the audit guard: the signed-in principal of a request as an `Actor`.

Pages and API routes that return customer-level rows pass `request_actor(request)` to
`omnikpi.services.audit.customer_level`; the service never imports the web layer.
"""

from __future__ import annotations

from fastapi import Request

from omnikpi.auth.audit import Actor
from omnikpi.web.security import is_api_request, signed_in


def request_actor(request: Request) -> Actor:
    """The signed-in user of `request` as an Actor: username, role, client address, and
    `api` (with the token's scopes) or `page`.

    >>> with customer_level(store, request_actor(request), action, "customer 42") as access:
    ...     access.rows(1)  # doctest: +SKIP
    """
    principal = signed_in(request)
    return Actor(
        username=principal.user.username,
        role=principal.user.role,
        address=request.client.host if request.client else None,
        channel="api" if is_api_request(request) else "page",
        scopes=principal.scopes,
    )
