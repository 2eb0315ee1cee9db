"""A reproducible random holdout: each customer's place in the draw is a hash of the seed
and the customer id, so the same seed gives the same groups whatever the row order, and
another seed an independent draw.

Within each stratum (e.g. lifecycle segment) the customers are ordered by
u = first 8 bytes of SHA-256("<seed>:<customer_id>") / 2⁶⁴ (uniform on [0, 1)), and the
first round(fraction × n) of its n customers are held out (halves rounded up): the
stratum's held-out share is the fraction as exactly as whole customers allow.

    >>> groups = assign_holdout(pd.DataFrame({"customer_id": ["a", "b", "c", "d"]}), 0.5, 7)
    >>> sorted(groups["group"].tolist())
    ['holdout', 'holdout', 'treated', 'treated']
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

from omnikpi.errors import InvalidChoice

__all__ = ["HOLDOUT", "TREATED", "assign_holdout", "draw_position", "holdout_size"]

TREATED = "treated"
HOLDOUT = "holdout"


def draw_position(seed: int, customer_id: str) -> float:
    """The customer's uniform position in the draw of `seed`, in [0, 1).

    >>> 0 <= draw_position(7, "C1") < 1
    True
    """
    digest = hashlib.sha256(f"{seed}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def holdout_size(customers: int, fraction: float) -> int:
    """Customers held out of a stratum of `customers`: round(fraction × n), halves up.

    >>> holdout_size(10, 0.25), holdout_size(3, 0.5), holdout_size(7, 0.0)
    (3, 2, 0)
    """
    return math.floor(fraction * customers + 0.5)


def assign_holdout(
    members: pd.DataFrame, fraction: float, seed: int, stratum: str | None = None
) -> pd.DataFrame:
    """`members` (a `customer_id` column, and `stratum` when given) with `group` (treated
    or holdout) and `stratum` (the stratum's value as text, '' without one), ordered by
    customer id."""
    if not 0 <= fraction < 1:
        raise InvalidChoice("holdout fraction", str(fraction), "a number in [0, 1), e.g. 0.1")
    frame = pd.DataFrame({"customer_id": members["customer_id"].astype(str).to_numpy()})
    frame["stratum"] = (
        members[stratum].astype("string").fillna("").to_numpy() if stratum is not None else ""
    )
    frame["_position"] = [draw_position(seed, c) for c in frame["customer_id"]]
    frame = frame.sort_values(["stratum", "_position", "customer_id"], kind="stable")
    rank = frame.groupby("stratum", sort=False).cumcount().to_numpy()
    sizes = frame.groupby("stratum", sort=False)["customer_id"].transform("size")
    held = rank < sizes.map(lambda n: holdout_size(int(n), fraction)).to_numpy()
    frame["group"] = np.where(held, HOLDOUT, TREATED)
    frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return frame[["customer_id", "group", "stratum"]]
