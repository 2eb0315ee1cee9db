"""docs/data-model.md is generated from the model and must not go stale."""

from __future__ import annotations

from pathlib import Path

from omnikpi.model import TABLES
from omnikpi.model.docs import render_data_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def test_data_model_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render_data_model(), (
        "docs/data-model.md is stale: run `make docs`"
    )


def test_doc_lists_every_table_and_column() -> None:
    text = render_data_model()
    for t in TABLES:
        assert f"### {t.name}" in text
        for column in t.columns:
            assert f"| `{column.name}` |" in text
    assert "`click_collect`" in text
