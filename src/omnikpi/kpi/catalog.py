"""Load and validate the KPI catalog: the packaged YAML files plus users' own directories.

Users add or override KPIs, sources and dimensions by id in their own YAML files
(`--catalog DIR` or `OMNIKPI_CATALOG`); a later file replaces an earlier entry of the same id.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from omnikpi.errors import ConfigError, NotFound
from omnikpi.kpi.expressions import Expression
from omnikpi.kpi.spec import (
    STAGES,
    CatalogFile,
    DimensionSpec,
    FormulaMeasure,
    KpiSpec,
    Measure,
    RatioMeasure,
    ShareMeasure,
    SourceSpec,
)
from omnikpi.model import table, table_names

PACKAGE_CATALOG = Path(__file__).parent / "catalog"


@dataclass(frozen=True)
class Catalog:
    """Every KPI, source and dimension, validated and cross-checked."""

    kpis: dict[str, KpiSpec]
    sources: dict[str, SourceSpec]
    dimensions: dict[str, DimensionSpec]
    origin: dict[str, Path] = field(default_factory=dict)

    def get(self, kpi_id: str) -> KpiSpec:
        """The KPI `kpi_id`, or NotFound naming close matches and every valid id."""
        try:
            return self.kpis[kpi_id]
        except KeyError:
            raise NotFound(unknown_kpi_message(kpi_id, self.kpis)) from None

    def select(
        self,
        tier: str | None = None,
        stage: str | None = None,
        function: str | None = None,
        race: str | None = None,
    ) -> list[KpiSpec]:
        """KPIs matching every given filter, in catalog order.

        `tier` is `cxo`, `lead` or `member:<role>`.
        """
        return [
            k
            for k in self.kpis.values()
            if (tier is None or tier in k.tiers)
            and (stage is None or k.stage == stage)
            and (function is None or k.function == function)
            and (race is None or k.race == race)
        ]

    def source(self, source_id: str) -> SourceSpec:
        return self.sources[source_id]

    @cached_property
    def sources_digest(self) -> str:
        """A digest of the sources and dimensions (what SQL compiled from the catalog reads
        besides the atoms' own definitions, which their keys already digest)."""
        content = json.dumps(
            [
                {k: v.model_dump(mode="json") for k, v in sorted(self.sources.items())},
                {k: v.model_dump(mode="json") for k, v in sorted(self.dimensions.items())},
            ],
            sort_keys=True,
        )
        return hashlib.sha256(content.encode()).hexdigest()

    def source_customer(self, source_id: str) -> str | None:
        """The expression naming the person a source's rows are about (see
        `SourceSpec.customer`), inherited from its base source unless it summarizes rows;
        None when its rows describe no customer.

        >>> load_catalog().source_customer("purchases")  # doctest: +SKIP
        'coalesce(customer_id, order_id)'
        """
        spec = self.sources[source_id]
        if spec.customer is not None or spec.summarize is not None or spec.source is None:
            return spec.customer
        return self.source_customer(spec.source)

    def source_dimensions(self, source_id: str) -> dict[str, str]:
        """Dimension id -> expression a source offers, including those of its base source
        that it does not drop (`channel: null`)."""
        spec = self.sources[source_id]
        inherited = self.source_dimensions(spec.source) if spec.source else {}
        merged = {**inherited, **spec.dimensions}
        return {name: expression for name, expression in merged.items() if expression is not None}


def unknown_kpi_message(kpi_id: str, known: Iterable[str]) -> str:
    """`unknown KPI "x"`, with at most five close ids and where to find the others.

    >>> unknown_kpi_message("revenu", ["revenue", "visits"])
    'unknown KPI "revenu" (did you mean revenue?); see `omnikpi kpi list` for every KPI'
    """
    ids = sorted(known)
    folded = kpi_id.casefold()
    close = difflib.get_close_matches(folded, ids, n=5, cutoff=0.6)
    close += [i for i in ids if folded and folded in i and i not in close][: 5 - len(close)]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f'unknown KPI "{kpi_id}"{hint}; see `omnikpi kpi list` for every KPI'


def load_catalog(extra_dirs: Iterable[Path] = ()) -> Catalog:
    """The packaged catalog overlaid with the YAML files of `extra_dirs`, validated.

    >>> "revenue" in load_catalog().kpis
    True
    """
    return _load(tuple(Path(d) for d in extra_dirs))


@lru_cache(maxsize=8)
def _load(extra_dirs: tuple[Path, ...]) -> Catalog:
    kpis: dict[str, KpiSpec] = {}
    sources: dict[str, SourceSpec] = {}
    dimensions: dict[str, DimensionSpec] = {}
    origin: dict[str, Path] = {}
    for path in _catalog_files(extra_dirs):
        content = _read(path)
        for d in content.dimensions:
            dimensions[d.id] = d
        for s in content.sources:
            sources[s.id] = s
            origin[f"source:{s.id}"] = path
        for k in content.kpis:
            kpis.pop(k.id, None)
            kpis[k.id] = k
            origin[k.id] = path
    # Shopping-stage order (awareness ... loyalty, operations), catalog order within a stage.
    ordered = sorted(kpis.values(), key=lambda k: STAGES.index(k.stage))
    catalog = Catalog({k.id: k for k in ordered}, sources, dimensions, origin)
    _check_references(catalog)
    return catalog


def _catalog_files(extra_dirs: tuple[Path, ...]) -> Iterator[Path]:
    yield from sorted(PACKAGE_CATALOG.glob("*.yaml"))
    for folder in extra_dirs:
        if not folder.is_dir():
            raise ConfigError(f"catalog directory {folder} does not exist (check --catalog)")
        yield from sorted(folder.glob("*.y*ml"))


def _read(path: Path) -> CatalogFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with kpis, sources or dimensions")
    try:
        return CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(path, raw, exc)) from None


def _describe(path: Path, raw: dict[str, object], exc: ValidationError) -> str:
    """`file: KPI "id" field "measure.expr": message` for the first error."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and isinstance(loc[1], int) and loc[0] in ("kpis", "sources", "dimensions"):
        entries = raw.get(str(loc[0]))
        entry = entries[loc[1]] if isinstance(entries, list) and len(entries) > loc[1] else {}
        entry_id = entry.get("id", f"#{loc[1] + 1}") if isinstance(entry, dict) else loc[1]
        kind = {"kpis": "KPI", "sources": "source", "dimensions": "dimension"}[str(loc[0])]
        where = f' {kind} "{entry_id}"'
        loc = loc[2:]
    # Drop the discriminator tags pydantic adds to union locations.
    names = [str(part) for part in loc if not str(part).startswith(("function-", "tagged-"))]
    measure_types = {
        "sum",
        "count",
        "count_distinct",
        "mean",
        "percentile",
        "level",
        "last",
        "trailing_count",
        "trailing_sum",
        "funnel",
        "retention",
        "top_ratio",
        "formula",
        "ratio",
        "share",
        "str",
    }
    names = [n for n in names if n not in measure_types]
    field_name = ".".join(names) or "(entry)"
    return f'{path}:{where} field "{field_name}": {error["msg"]}'


def _check_references(catalog: Catalog) -> None:
    """Sources name tables, sources and dimensions that exist; KPIs name sources, KPIs and
    dimensions that exist; formulas do not refer to themselves."""
    tables = set(table_names())
    for source in catalog.sources.values():
        where = f'{catalog.origin.get(f"source:{source.id}", "catalog")}: source "{source.id}"'
        if source.table and source.table not in tables and not source.optional:
            raise ConfigError(
                f'{where} reads table "{source.table}", which is not a canonical table '
                "(mark the source `optional: true` if another step writes it)"
            )
        bases = [source.source] + [j.source for j in source.joins]
        for base in bases:
            if base and base not in catalog.sources:
                raise ConfigError(f'{where} uses unknown source "{base}"')
        for dim in source.dimensions:
            if dim not in catalog.dimensions:
                raise ConfigError(
                    f'{where} maps unknown dimension "{dim}" '
                    f"(declare it under dimensions: {', '.join(sorted(catalog.dimensions))})"
                )
    for dimension in catalog.dimensions.values():
        for reference in dimension.values_from:
            table_name, _, column_name = reference.partition(".")
            if table_name not in tables or not table(table_name).has_column(column_name):
                raise ConfigError(
                    f'dimension "{dimension.id}" field "values_from": "{reference}" is not a '
                    "column of the canonical model (write table.column, see docs/data-model.md)"
                )
    for kpi in catalog.kpis.values():
        where = f'{catalog.origin.get(kpi.id, "catalog")}: KPI "{kpi.id}"'
        for measure in iter_measures(kpi.measure):
            source_id = getattr(measure, "source", None)
            if source_id is not None and source_id not in catalog.sources:
                raise ConfigError(f'{where} field "measure.source": unknown source "{source_id}"')
            for ref in measure_references(measure):
                if ref not in catalog.kpis:
                    raise ConfigError(
                        f'{where} field "measure": {unknown_kpi_message(ref, catalog.kpis)}'
                    )
            if isinstance(measure, ShareMeasure) and measure.of not in catalog.dimensions:
                raise ConfigError(f'{where} field "measure.of": unknown dimension "{measure.of}"')
        for dim in (kpi.dimensions or []) + ([kpi.breakdown] if kpi.breakdown else []):
            if dim not in catalog.dimensions:
                raise ConfigError(f'{where} field "dimensions": unknown dimension "{dim}"')
    for kpi_id in catalog.kpis:
        _check_cycle(catalog, kpi_id, ())


def _check_cycle(catalog: Catalog, kpi_id: str, path: tuple[str, ...]) -> None:
    if kpi_id in path:
        chain = " -> ".join((*path, kpi_id))
        raise ConfigError(f'KPI "{path[0]}" refers to itself through {chain}')
    for measure in iter_measures(catalog.kpis[kpi_id].measure):
        for ref in measure_references(measure):
            _check_cycle(catalog, ref, (*path, kpi_id))


def iter_measures(measure: Measure | str) -> Iterator[Measure]:
    """The measure and every inline measure nested in it (KPI references excluded)."""
    if isinstance(measure, str):
        return
    yield measure
    if isinstance(measure, RatioMeasure):
        yield from iter_measures(measure.numerator)
        yield from iter_measures(measure.denominator)
    elif isinstance(measure, ShareMeasure):
        yield from iter_measures(measure.measure)


def measure_references(measure: Measure) -> list[str]:
    """KPI ids a measure refers to directly."""
    if isinstance(measure, FormulaMeasure):
        return sorted(Expression.parse(measure.expr).names)
    if isinstance(measure, RatioMeasure):
        return [p for p in (measure.numerator, measure.denominator) if isinstance(p, str)]
    if isinstance(measure, ShareMeasure) and isinstance(measure.measure, str):
        return [measure.measure]
    return []
