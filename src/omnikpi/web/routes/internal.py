"""The server's local endpoint for the CLI: `POST /internal/run` runs a handed-off
command (`omnikpi.cli.handoff`, given to the app as its `CommandRunner`) through the
warehouse this server owns and streams what it prints back as NDJSON. Only clients on
this machine (127.0.0.1, ::1) with the admin token of `<warehouse>.server.token` may call
it; it is not part of the public API."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from omnikpi.services.writer import HANDOFF_PATH, TOKEN_HEADER, CommandRunner
from omnikpi.web.security import requires

router = APIRouter(include_in_schema=False)
_LOCAL = frozenset({"127.0.0.1", "::1"})


@router.post(HANDOFF_PATH, openapi_extra=requires(None, csrf=False))
async def run(request: Request) -> Response:
    """Run `{"argv": [...], "env": {...}, "width": N}` and stream its output."""
    if request.client is None or request.client.host not in _LOCAL:
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    expected: str | None = getattr(request.app.state, "handoff_token", None)
    given = request.headers.get(TOKEN_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JSONResponse({"detail": "a valid admin token is required"}, status_code=403)
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    argv, env, width = (
        (body.get("argv"), body.get("env", {}), body.get("width"))
        if isinstance(body, dict)
        else (None, None, None)
    )
    if (
        not isinstance(argv, list)
        or not all(isinstance(a, str) for a in argv)
        or not isinstance(env, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        or not (width is None or (isinstance(width, int) and 20 <= width <= 1000))
    ):
        return JSONResponse(
            {"detail": 'expected {"argv": [str], "env": {str: str}, "width": int|null}'},
            status_code=400,
        )
    commands: CommandRunner = request.app.state.commands
    if not commands.allowed(argv):
        return JSONResponse(
            {"detail": f"the server does not run `omnikpi {' '.join(argv[:2])}`"},
            status_code=403,
        )
    return StreamingResponse(commands.run(argv, env, width), media_type="application/x-ndjson")
