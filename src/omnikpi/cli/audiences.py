"""`omnikpi audiences`: preview and save audience rules (YAML or JSON, docs/audiences.md),
build their target lists with a holdout, export a list with its purpose, and read out a
campaign against the holdout. Thin calls of `services.audiences`, run as the warehouse
owner (`Actor.cli()`); builds and exports are audited."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, render_rows

if TYPE_CHECKING:
    from datetime import date

    from omnikpi.auth import AppStateStore
    from omnikpi.services.audiences import AudienceInfo
    from omnikpi.settings import Settings

app = typer.Typer(
    help="Audiences: preview and save rules, build target lists with a holdout, export them, "
    "read out campaigns.",
    no_args_is_help=True,
)

FormatOption = typer.Option(InfoFormat.TABLE, "--format", help="table or json.")
VersionOption = typer.Option(None, "--version", min=1, help="Version (default: the latest).")
AsOfOption = typer.Option(
    None, "--as-of", help="Day the customer 360 describes, YYYY-MM-DD (default: the latest)."
)


def _settings(warehouse: Path | None) -> Settings:
    from omnikpi.settings import load_settings

    return load_settings(warehouse)


def _store(settings: Settings) -> AppStateStore:
    from omnikpi.auth import AppStateStore, app_state_path

    return AppStateStore.open(app_state_path(settings.warehouse))


def _day(value: str | None, option: str) -> date | None:
    from omnikpi.services import parse_day

    return parse_day(value, option) if value else None


def _read(path: Path) -> str:
    from omnikpi.errors import ConfigError

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the audience file {path} ({exc.strerror})") from None


def _info_rows(info: AudienceInfo) -> list[dict[str, Any]]:
    return [
        {"field": key, "value": value}
        for key, value in info.as_json().items()
        if key != "definition"
    ]


def _print_info(info: AudienceInfo, fmt: InfoFormat) -> None:
    import yaml

    from omnikpi.services.audiences import definition_data

    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=info.as_json())
        return
    render_rows(_info_rows(info), ("field", "value"), "table", title=info.audience_id)
    console.print(yaml.safe_dump(definition_data(info), sort_keys=False, allow_unicode=True))


@app.command("list")
def list_command(
    ctx: typer.Context, fmt: InfoFormat = FormatOption, warehouse: Path | None = WarehouseOption
) -> None:
    """The saved audiences, latest version of each.

    \b
    omnikpi audiences list
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import list_audiences

    hand_off(ctx, warehouse)
    infos = list_audiences(_settings(warehouse), Actor.cli())
    columns = ("audience_id", "version", "name", "channel", "as_of", "treated", "holdout")
    rows = [{c: info.as_json()[c] for c in columns} for info in infos]
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=[info.as_json() for info in infos])
        return
    render_rows(rows, columns, "table", title="Audiences")


@app.command("show")
def show_command(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id, e.g. win-back-skincare."),
    version: int | None = VersionOption,
    fmt: InfoFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """One audience version: its settings, last build and definition (as YAML to edit).

    \b
    omnikpi audiences show win-back-skincare --version 2
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import show_audience

    hand_off(ctx, warehouse)
    _print_info(show_audience(_settings(warehouse), Actor.cli(), audience_id, version), fmt)


@app.command("preview")
def preview_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Audience definition, YAML or JSON.", dir_okay=False),
    as_of: str | None = AsOfOption,
    fmt: InfoFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """How many customers a definition selects (its channel's consent required).

    \b
    omnikpi audiences preview winback.yaml
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import preview_audience, read_definition

    hand_off(ctx, warehouse)
    settings = _settings(warehouse)
    definition = read_definition(settings, _read(path))
    preview = preview_audience(settings, Actor.cli(), definition, as_of=_day(as_of, "--as-of"))
    document = {
        "size": preview.size,
        "as_of": preview.as_of.isoformat(),
        "channel": preview.channel,
    }
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=document)
        return
    console.print(
        f"{definition.name}: {preview.size:,} customers as of {preview.as_of} "
        f"(channel {preview.channel})"
    )


@app.command("save")
def save_command(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Audience definition, YAML or JSON.", dir_okay=False),
    fmt: InfoFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Save a definition: a new version of its audience when it changed.

    \b
    omnikpi audiences save winback.yaml
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import read_definition, save_audience

    hand_off(ctx, warehouse)
    settings = _settings(warehouse)
    actor = Actor.cli()
    info = save_audience(settings, actor, read_definition(settings, _read(path)))
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=info.as_json())
        return
    console.print(f"{info.audience_id} version {info.version} (of {info.versions}) saved")


@app.command("build")
def build_command(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id."),
    version: int | None = VersionOption,
    as_of: str | None = AsOfOption,
    replace: bool = typer.Option(
        False, "--replace", help="Rebuild a version built before (its list may have been sent)."
    ),
    fmt: InfoFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Select the audience's customers and draw its holdout (audited).

    \b
    omnikpi audiences build win-back-skincare --as-of 2025-06-30
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import build_audience

    hand_off(ctx, warehouse)
    settings = _settings(warehouse)
    built = build_audience(
        settings,
        _store(settings),
        Actor.cli(),
        audience_id,
        version=version,
        as_of=_day(as_of, "--as-of"),
        replace=replace,
    )
    document = {
        "audience_id": built.audience_id,
        "version": built.version,
        "as_of": built.as_of.isoformat(),
        "treated": built.treated,
        "holdout": built.holdout,
    }
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=document)
        return
    console.print(
        f"{built.audience_id} version {built.version} as of {built.as_of}: "
        f"{built.treated:,} treated, {built.holdout:,} held out (audited)"
    )


def _contacts(path: Path | None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(row, e-mail) and (row, phone) pairs of a contact list CSV with an `email` and/or a
    `phone` column."""
    from omnikpi.errors import ConfigError

    if path is None:
        return [], []
    reader = csv.DictReader(io.StringIO(_read(path)))
    names = {name.strip().lower(): name for name in reader.fieldnames or ()}
    if "email" not in names and "phone" not in names:
        raise ConfigError(
            f"the contact list {path} needs an email or a phone column (it has: "
            f"{', '.join(names) or 'no header'})"
        )
    emails: list[tuple[str, str]] = []
    phones: list[tuple[str, str]] = []
    for number, row in enumerate(reader, start=2):
        if "email" in names and row.get(names["email"]):
            emails.append((str(number), row[names["email"]]))
        if "phone" in names and row.get(names["phone"]):
            phones.append((str(number), row[names["phone"]]))
    return emails, phones


@app.command("export")
def export_command(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id."),
    purpose: str = typer.Option(
        ..., "--purpose", help="Why the list leaves (kept in the audit log)."
    ),
    group: str = typer.Option("treated", "--group", help="treated or holdout."),
    kind: str = typer.Option(
        "ids", "--kind", help="ids (customer_id) or hashed (SHA-256 e-mail/phone for ads)."
    ),
    contacts: Path | None = typer.Option(
        None,
        "--contacts",
        dir_okay=False,
        help="For --kind hashed: the CRM's contact list (CSV with email and/or phone).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="CSV file to write (default: print it)."
    ),
    version: int | None = VersionOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Export a built audience's treated or holdout list as CSV (audited with its purpose).

    \b
    omnikpi audiences export win-back-skincare --purpose "CRM send 2025-07" -o list.csv
    """
    import os

    from omnikpi.auth.audit import Actor
    from omnikpi.cli.output import error_console
    from omnikpi.services.audiences import export_audience

    hand_off(ctx, warehouse)
    settings = _settings(warehouse)
    emails, phones = _contacts(contacts)
    export = export_audience(
        settings,
        _store(settings),
        Actor.cli(),
        audience_id,
        purpose=purpose,
        version=version,
        group=group,
        kind=kind,
        emails=emails,
        phones=phones,
        hash_key=os.environ.get("OMNIKPI_PSEUDONYM_KEY"),
    )
    if output is None:
        console.file.write(export.csv)
    else:
        output.write_text(export.csv, encoding="utf-8")
    unmatched = f"; {export.unmatched:,} members without a contact" if export.unmatched else ""
    where = f" to {output}" if output else ""
    error_console.print(f"{export.rows:,} rows exported{where} (audited){unmatched}")


@app.command("profile")
def profile_command(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id."),
    version: int | None = VersionOption,
    fmt: InfoFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """A built audience in aggregate: sizes, means of its customer 360, segment mix.

    \b
    omnikpi audiences profile win-back-skincare
    """
    from dataclasses import asdict

    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import audience_profile

    hand_off(ctx, warehouse)
    profile = audience_profile(_settings(warehouse), Actor.cli(), audience_id, version)
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=asdict(profile))
        return
    means = [{k: _short(v) for k, v in row.items()} for row in profile.means]
    render_rows(means, tuple(profile.means[0]) if means else (), "table", title="Members")
    render_rows(profile.segments, ("group", "segment", "customers"), "table", title="Segments")


def _short(value: Any) -> Any:
    return f"{value:,.2f}" if isinstance(value, float) else value


@app.command("readout")
def readout_command(
    ctx: typer.Context,
    audience_id: str = typer.Argument(..., help="Audience id."),
    start: str = typer.Option(..., "--start", help="First day of the campaign, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", help="Last day of the campaign, YYYY-MM-DD."),
    cost: float | None = typer.Option(None, "--cost", help="What the campaign cost (for ROI)."),
    version: int | None = VersionOption,
    fmt: InfoFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Treated against holdout over the campaign window: conversion, revenue and orders
    per customer with 95 % intervals, incremental revenue and ROI.

    \b
    omnikpi audiences readout win-back-skincare --start 2025-07-01 --end 2025-07-14
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.audiences import campaign_readout

    hand_off(ctx, warehouse)
    from omnikpi.services import parse_day

    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    readout = campaign_readout(
        _settings(warehouse), Actor.cli(), audience_id, start=first, end=last, version=version,
        cost=cost,
    )  # fmt: skip
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=readout.as_json())
        return
    rows = [{k: _short(v) for k, v in row.items()} for row in readout.rows()]
    columns = ("measure", "holdout", "treated", "difference", "difference_ci_low",
               "difference_ci_high", "lift", "lift_ci_low", "lift_ci_high", "p_value")  # fmt: skip
    render_rows(
        rows,
        columns,
        "table",
        title=f"{audience_id}: {readout.treated:,} treated, {readout.holdout:,} held out, "
        f"{first} to {last}",
    )
    revenue = readout.incremental_revenue
    line = f"incremental revenue {_short(revenue.value)}"
    if revenue.ci_low is not None and revenue.ci_high is not None:
        line += f" (95 % CI {_short(revenue.ci_low)} to {_short(revenue.ci_high)})"
    if readout.roi is not None:
        line += f"; ROI {_short(readout.roi.value)} on a cost of {_short(readout.cost)}"
    console.print(line)
