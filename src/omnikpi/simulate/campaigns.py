"""The marketing plan: always-on paid media by quarter, brand flights, and CRM sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from omnikpi.simulate.arrays import make_ids, money
from omnikpi.simulate.calendar import SALE_EVENTS, Calendar

PAID_CHANNELS = ("search", "display", "social", "affiliate")
#: Click-through rate and cost per click (won) of paid channels.
PAID_CTR = {"search": 0.045, "display": 0.0045, "social": 0.011, "affiliate": 0.02}
PAID_CPC = {"search": 1500, "display": 800, "social": 1100, "affiliate": 1000}
#: Send cost per message in won.
SEND_COST = {"email": 2, "sms": 22, "app_push": 1}
#: Traffic source of a session that came from each marketing channel.
TRAFFIC_SOURCE_OF = {
    "search": "paid_search",
    "display": "display",
    "social": "paid_social",
    "affiliate": "affiliate",
    "email": "email",
    "sms": "sms",
    "app_push": "app_push",
}
REACTIVATION_HOLDOUT = 0.2
REACTIVATION_EFFECT = 0.06
REACTIVATION_WINDOW_DAYS = 14


@dataclass(frozen=True)
class Send:
    """One CRM send: which campaign, on which day, through which channel, to whom."""

    campaign: int
    day: int
    channel: str
    audience: str  # "newsletter", "sale" or "reactivation"


@dataclass
class CampaignPlan:
    ids: pa.Array
    names: list[str]
    channel: list[str]
    objective: list[str]
    start_day: np.ndarray
    end_day: np.ndarray
    daily_budget: list[int | None]
    holdout: list[float | None]
    sends: list[Send] = field(default_factory=list)
    brand_campaign: int = -1
    reactivation: int = -1

    def active_paid(self, channel: str, days: int) -> np.ndarray:
        """Per day, the campaign index of `channel`'s always-on campaign (or -1)."""
        out = np.full(days, -1)
        for i, ch in enumerate(self.channel):
            if ch == channel and self.objective[i] != "brand":
                out[self.start_day[i] : self.end_day[i] + 1] = i
        return out

    def table(self, calendar: Calendar, currency: str) -> pa.Table:
        n = len(self.names)
        budget = np.array([b if b is not None else 0 for b in self.daily_budget])
        budget_mask = np.array([b is None for b in self.daily_budget])
        return pa.table(
            {
                "campaign_id": self.ids,
                "name": self.names,
                "channel": self.channel,
                "objective": self.objective,
                "start_date": calendar.to_date(self.start_day),
                "end_date": calendar.to_date(self.end_day),
                "daily_budget": pa.array(
                    money(budget).to_pylist(), pa.decimal128(18, 2), mask=budget_mask
                ),
                "currency": [currency] * n,
                "holdout_share": pa.array(
                    [h if h is not None else np.nan for h in self.holdout],
                    mask=np.array([h is None for h in self.holdout]),
                ),
            }
        )


def plan_campaigns(calendar: Calendar) -> CampaignPlan:
    """Quarterly always-on paid campaigns, a brand flight, newsletters and event pushes."""
    names: list[str] = []
    channel: list[str] = []
    objective: list[str] = []
    start: list[int] = []
    end: list[int] = []
    budget: list[int | None] = []
    holdout: list[float | None] = []

    def add(
        name: str, ch: str, obj: str, s: int, e: int, b: int | None, h: float | None = None
    ) -> int:
        names.append(name)
        channel.append(ch)
        objective.append(obj)
        start.append(max(0, s))
        end.append(min(calendar.days - 1, e))
        budget.append(b)
        holdout.append(h)
        return len(names) - 1

    first = calendar.start
    last = first + timedelta(days=calendar.days - 1)
    quarter_start = date(first.year, 3 * ((first.month - 1) // 3) + 1, 1)
    while quarter_start <= last:
        month = quarter_start.month + 3
        next_q = date(quarter_start.year + (month > 12), (month - 1) % 12 + 1, 1)
        s, e = (quarter_start - first).days, (next_q - first).days - 1
        label = f"Q{(quarter_start.month - 1) // 3 + 1} {quarter_start.year}"
        add(f"Search always-on {label}", "search", "acquisition", s, e, 900_000)
        add(f"Retargeting display {label}", "display", "retention", s, e, 350_000)
        add(f"Instagram prospecting {label}", "social", "acquisition", s, e, 500_000)
        add(f"Affiliate network {label}", "affiliate", "acquisition", s, e, 200_000)
        quarter_start = next_q

    plan_sends: list[Send] = []
    # Monthly newsletter on the first Tuesday.
    for day in range(calendar.days):
        d = first + timedelta(days=day)
        if d.weekday() == 1 and d.day <= 7:
            c = add(f"Newsletter {d:%Y-%m}", "email", "retention", day, day + 6, None)
            plan_sends.append(Send(c, day, "email", "newsletter"))
    # Sale events: e-mail, SMS and push on the first day.
    for day in np.nonzero(np.diff(np.concatenate([[-1], calendar.sale_index])) != 0)[0].tolist():
        k = calendar.sale_index[day]
        if k < 0:
            continue
        label = f"{SALE_EVENTS[k].name} {(first + timedelta(days=int(day))).year}"
        length = SALE_EVENTS[k].length
        for ch in ("email", "sms", "app_push"):
            c = add(f"{label} {ch}", ch, "retention", int(day), int(day) + length - 1, None)
            plan_sends.append(Send(c, int(day), ch, "sale"))
    brand_start = int(calendar.days * 0.45)
    brand = add("Brand film flight", "display", "brand", brand_start, brand_start + 41, 1_200_000)
    react_day = int(calendar.days * 0.62)
    react = add(
        "Win-back reactivation",
        "email",
        "reactivation",
        react_day,
        react_day + REACTIVATION_WINDOW_DAYS - 1,
        None,
        REACTIVATION_HOLDOUT,
    )
    plan_sends.append(Send(react, react_day, "email", "reactivation"))
    return CampaignPlan(
        ids=make_ids("CMP", np.arange(1, len(names) + 1), 4),
        names=names,
        channel=channel,
        objective=objective,
        start_day=np.array(start),
        end_day=np.array(end),
        daily_budget=budget,
        holdout=holdout,
        sends=sorted(plan_sends, key=lambda s: (s.day, s.campaign)),
        brand_campaign=brand,
        reactivation=react,
    )
