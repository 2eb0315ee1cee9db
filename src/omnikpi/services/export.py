"""Writing tables for people to download: the one CSV writer of omnikpi.

>>> write_csv(["kpi", "value"], [{"kpi": "revenue", "value": 1250.0}])
'kpi,value\\r\\nrevenue,1250.0\\r\\n'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence


def write_csv(columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> str:
    """`rows` as CSV with a header of `columns` (None is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue()
