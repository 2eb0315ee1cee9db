"""`omnikpi customers top` and `omnikpi customers affinity`: the top customers by gross
profit with their profile against the rest (or, audited, their list and the lookalike
scores of the others), and co-purchase rules or the next-best category per segment. Thin
calls of `omnikpi.services.customer_insights`, run as the warehouse owner
(`Actor.cli()`); `register_insights` adds them to the `customers` group (called by
`omnikpi.cli.customers`, which this module does not import: no cycle)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import OutputFormat, console, error_console, render_rows

WindowOption = typer.Option(
    None,
    "--window",
    help="12m, 2y, 90d (ending on the latest day with data) or YYYY-MM-DD..YYYY-MM-DD "
    "(default: 12m).",
)
FormatOption = typer.Option(OutputFormat.TABLE, "--format", help="table, csv or json.")
#: The columns of a rule a table shows (the basket counts are in JSON and CSV).
TABLE_RULE_COLUMNS = frozenset(
    {
        "antecedent",
        "consequent",
        "antecedent_name",
        "consequent_name",
        "both_baskets",
        "support",
        "confidence",
        "lift",
        "suppressed",
    }
)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _show(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if "share" in name or name in ("support", "confidence", "difference") or "_support" in name:
            return f"{value:.1%}" if name != "difference" else f"{value:+.1%}"
        if "score" in name or name in ("lift", "holdout_auc"):
            return f"{value:.3f}"
        return f"{value:,.2f}"
    return str(value)


def _render(
    title: str,
    summary: dict[str, Any],
    columns: tuple[str, ...],
    rows: list[dict[str, Any]],
    fmt: OutputFormat,
    minimum: int | None,
    withheld: int,
) -> None:
    """Rows as asked: JSON carries the summary too; a table prints it above the rows."""
    document = {
        **{k: _plain(v) for k, v in summary.items()},
        "min_cell_customers": minimum,
        "withheld": withheld,
        "rows": rows,
    }
    if fmt is OutputFormat.TABLE:
        for name, value in summary.items():
            console.print(f"{name}: {_show(_plain(value), name)}")
        shown = [{c: _show(r.get(c), c) for c in columns} for r in rows]
        render_rows(shown, columns, fmt, title=title)
        if minimum is not None and withheld:
            error_console.print(
                f"{withheld} cells describing fewer than {minimum} customers "
                "(or giving one back) are withheld."
            )
    else:
        render_rows(rows, columns, fmt, json_document=document)


def _store(warehouse: Path) -> Any:
    from omnikpi.auth import AppStateStore, app_state_path

    return AppStateStore.open(app_state_path(warehouse))


def top_command(
    ctx: typer.Context,
    share: float = typer.Option(
        0.2, "--share", min=0.01, max=0.99, help="Share of buyers that are top (0.2: 20%)."
    ),
    window: str | None = WindowOption,
    show_list: bool = typer.Option(
        False, "--list", help="List the top customers instead of their profile (audited)."
    ),
    lookalikes: bool = typer.Option(
        False,
        "--lookalikes",
        help="List the other customers by lookalike score, with the holdout AUC (audited).",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Most customers listed (--lookalikes: 1,000 by default)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the lookalike model's holdout split."),
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """The top customers by gross profit: their profile against the rest (default), their
    list (--list) or lookalikes among the others (--lookalikes).

    \b
    omnikpi customers top --share 0.2 --window 2y
    omnikpi customers top --lookalikes --limit 500 --format csv
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services import customer_insights as insights
    from omnikpi.settings import load_settings

    if show_list and lookalikes:
        raise typer.BadParameter("choose --list or --lookalikes, not both")
    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    if show_list:
        answer = insights.top_customer_list(
            settings,
            _store(settings.warehouse),
            Actor.cli(),
            window=window,
            share=share,
            limit=limit,
        )
        title = "Top customers"
    elif lookalikes:
        answer = insights.lookalike_list(
            settings,
            _store(settings.warehouse),
            Actor.cli(),
            window=window,
            share=share,
            limit=limit or 1000,
            seed=seed,
        )
        title = "Lookalikes of the top customers"
    else:
        answer = insights.top_customer_profile(settings, Actor.cli(), window=window, share=share)
        title = "Top customers against the rest"
    period = f"{answer.window.start}..{answer.window.end}"
    _render(
        f"{title} ({period})",
        answer.summary,
        answer.columns,
        answer.rows,
        fmt,
        answer.minimum,
        answer.withheld,
    )


def affinity_command(
    ctx: typer.Context,
    level: str = typer.Option("category", "--level", help="category or product."),
    basis: str = typer.Option(
        "order", "--basis", help="order (bought in one order) or customer (by one customer)."
    ),
    min_support: float = typer.Option(
        0.01, "--min-support", min=0.0, max=1.0, help="Fewest baskets with both, as a share."
    ),
    min_baskets: int = typer.Option(1, "--min-baskets", min=1, help="Fewest baskets with both."),
    next_best: bool = typer.Option(
        False, "--next-best", help="The next-best category per lifecycle segment instead."
    ),
    rank_by: str = typer.Option("confidence", "--rank-by", help="--next-best: confidence or lift."),
    window: str | None = WindowOption,
    limit: int | None = typer.Option(None, "--limit", min=1, help="Most rules shown."),
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Co-purchase rules (support, confidence, lift) between categories or products, or
    the next-best category per segment (--next-best).

    \b
    omnikpi customers affinity --level product --min-support 0.002 --limit 20
    omnikpi customers affinity --next-best --rank-by lift
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services import customer_insights as insights
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    if next_best:
        answer = insights.next_best_category(
            settings, Actor.cli(), min_support=min_support, rank_by=rank_by, window=window
        )
        title = "Next-best category per segment"
    else:
        answer = insights.co_purchase_rules(
            settings,
            Actor.cli(),
            level=level,
            basis=basis,
            min_support=min_support,
            min_baskets=min_baskets,
            window=window,
            limit=limit,
        )
        items = "categories" if level == "category" else "products"
        title = f"Co-purchase of {items} over {basis}s"
    period = f"{answer.window.start}..{answer.window.end}"
    summary = {"window_start": answer.window.start, "window_end": answer.window.end}
    columns = answer.columns
    if fmt is OutputFormat.TABLE and not next_best:  # the counts are in JSON and CSV
        columns = tuple(c for c in columns if c in TABLE_RULE_COLUMNS)
    _render(
        f"{title} ({period})",
        {**summary, **answer.summary},
        columns,
        answer.rows,
        fmt,
        answer.minimum,
        answer.withheld,
    )


def register_insights(app: typer.Typer) -> None:
    """Add `top` and `affinity` to the `customers` group's app."""
    app.command("top")(top_command)
    app.command("affinity")(affinity_command)
