"""Admin: forget a customer on request (`/admin/customers`), the page beside
`omnikpi customers forget`; both call `omnikpi.services.forget.forget_customer`, which
checks the permission table and writes the audit entry.

Forgetting cannot be undone, so the form asks once more: a submission without
`confirm=yes` shows what is about to happen, and only the confirmed one forgets."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.errors import ConfigError, NotFound
from omnikpi.i18n import t
from omnikpi.services.forget import MAX_REASON, forget_customer
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)
_TEMPLATE = "admin/customers.html"


@router.get("/admin/customers", openapi_extra=requires(Action.FORGET_CUSTOMER))
def customers_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The form: the id of the customer to forget, and why."""
    return render(request, _TEMPLATE, {"max_reason": MAX_REASON})


@router.post("/admin/customers/forget", openapi_extra=requires(Action.FORGET_CUSTOMER))
def forget(
    request: Request,
    customer_id: str = Form(""),
    reason: str = Form(""),
    confirm: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Ask to confirm, then forget the customer and say what changed (the form again,
    with the outcome)."""
    context = web_context(request)
    locale = locale_format(request).locale
    values: dict[str, object] = {"max_reason": MAX_REASON}
    if not customer_id.strip():
        values["error"] = t("forget.no_id", locale)
        return render(request, _TEMPLATE, values, status_code=400)
    if confirm != "yes":
        values.update(confirming=True, customer_id=customer_id.strip(), reason=reason)
        return render(request, _TEMPLATE, values)
    try:
        result = forget_customer(
            context.settings,
            context.store,
            request_actor(request),
            customer_id,
            reason=reason,
            now=context.now(),
        )
    except (NotFound, ConfigError) as exc:
        values.update(error=str(exc), customer_id=customer_id, reason=reason)
        status = 404 if isinstance(exc, NotFound) else 400
        return render(request, _TEMPLATE, values, status_code=status)
    if result.already_forgotten:
        values["notice"] = t("forget.already", locale, tombstone=result.tombstone)
    else:
        values["notice"] = t("forget.done", locale, count=result.total, tombstone=result.tombstone)
        values["result"] = result
    if result.refresh_error:
        values["error"] = t("forget.refresh_failed", locale, reason=result.refresh_error)
    return render(request, _TEMPLATE, values)
