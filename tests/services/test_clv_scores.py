"""The CLV page's bins, checked by hand on tiny data."""

from __future__ import annotations

import numpy as np

from omnikpi.services.clv_scores import _p_alive_bins, histogram, nice_width


def test_bin_widths_are_round() -> None:
    assert nice_width(1234.0, 20) == 100.0  # 61.7 → 100
    assert nice_width(90.0, 20) == 5.0  # 4.5 → 5
    assert nice_width(0.9, 10) == 0.1
    assert nice_width(0.0, 10) == 1.0


def test_the_histogram_counts_each_value_once_and_keeps_the_tail_apart() -> None:
    values = np.array([0.5, 1.5, 1.7, 3.0, 9.0, np.nan])
    bins = histogram(values, bins=2, cap_quantile=None)  # 0..9: width 5, edges 0, 5, 10
    assert [(b.lower, b.upper, b.customers) for b in bins] == [(0.0, 5.0, 4), (5.0, 10.0, 1)]
    # 99th percentile of 1..100 is 99.01: width 5 up to 100, the value 100 in the open bin
    tail = histogram(np.arange(1.0, 101.0), bins=20)
    assert tail[0].customers == 4  # 1, 2, 3, 4
    assert tail[-1].upper is None
    assert tail[-1].customers == 1
    assert sum(b.customers for b in tail) == 100


def test_p_alive_falls_in_ten_bins_and_one_counts_in_the_last() -> None:
    bins = _p_alive_bins(np.array([0.0, 0.05, 0.1, 0.95, 1.0]))
    assert [b.customers for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert (bins[0].lower, bins[-1].upper) == (0.0, 1.0)
