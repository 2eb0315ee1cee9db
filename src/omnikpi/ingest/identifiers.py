"""Personal identifiers in clear: a load refuses to store them unless an admin allowed it.

Every mapped text column that is not pseudonymised (`hash: true`) is checked once its
table is staged, before anything is written. A column is personal when

- its source column is named like one (`Email`, `E-Mail`, `Billing Phone`, `Mobile`,
  `First Name`, `Customer Name`, `이메일`, `휴대폰`, `이름`, …; see `personal_name`), or
- at least 10% of its non-empty values hold an e-mail address (the pattern is
  unambiguous, so a few guest-checkout e-mails among account numbers count), or
- at least half of its non-empty values are phone numbers: 7–15 digits written as a
  phone is (`+49 30 1234567`, `(030) 123-4567`, `010-1234-5678`, `01012345678`), not as
  an order id (`100234567`), SKU or barcode (`100-200-300`, `0012345678905`), date
  (`2024-01-15`, `15.01.2024`), amount (`1234567.89`) or postcode (`12345-6789`,
  `01310-100`) is.

Such a column is refused (`RawIdentifiers`, naming the file, the source and target
column, an example row and the fix) unless an admin allowed raw identifiers for the
source (`RawAllowance`, stored by `omnikpi.services.identifiers`); the load's summary
then says which columns it kept in clear.

    >>> personal_name("Billing Phone"), personal_name("Store Name"), personal_name("고객명")
    ('a phone number', None, "a person's name")
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omnikpi.errors import ConfigError
from omnikpi.ingest.expressions import ColumnPlan, StagePlan
from omnikpi.ingest.mapping import Mapping
from omnikpi.ingest.sql import Params, ident
from omnikpi.warehouse import Warehouse

#: Share of a column's non-empty values holding an e-mail address that makes it personal.
EMAIL_SHARE = 0.1
#: Share of a column's non-empty values written as phone numbers that makes it personal.
PHONE_SHARE = 0.5

_SEP = r"[ .\-/]"
#: An e-mail address within a value (alone, or as in `Jane Roe <jane@example.com>`).
_ADDRESS = r"[^\s@<>()\"',;:]+@[^\s@<>()\"',;:.]+(\.[^\s@<>()\"',;:.]+)+"
EMAIL_PATTERN = r"(^|.*[\s<(\"',;:])" + _ADDRESS + r"([\s>)\"',;:].*|$)"
#: The characters besides digits a phone number is written with.
PHONE_MARKS = "+() .-/"
#: The characters a phone number is written with: `[0-9+() .\-/]{7,24}`.
PHONE_CHARACTERS = "[0-9" + PHONE_MARKS.replace("-", r"\-") + "]{7,24}"
#: How phone numbers are written: international (`+…`; `00…` with a space or dash), an
#: area code in brackets, a national number of 10–11 digits with its trunk 0 (not a
#: 12–13 digit barcode), or digits in groups (the last of four or five, or the first with
#: the trunk 0). Only `+…` numbers may have fewer than 9 digits (a postcode has 5–8).
PHONE_PATTERN = "|".join(
    (
        r"\+[0-9][0-9 ().\-/]*",
        r"00[1-9][0-9]*[ ().\-/][0-9 ().\-/]*",
        r"\(\+?[0-9]{1,5}\)" + _SEP + r"?[0-9][0-9 .\-/]*",
        r"0[1-9][0-9]{8,9}",
        r"[0-9]{1,5}(" + _SEP + r"[0-9]{1,5})*" + _SEP + r"[0-9]{1,5}" + _SEP + r"[0-9]{4,5}",
        r"0[0-9]{1,4}(" + _SEP + r"[0-9]{1,5})+",
    )
)
#: Written like a phone number but not one: dates, ZIP+4 codes, signed amounts.
NOT_PHONE_PATTERN = "|".join(
    (
        r"[0-9]{4}[\-./][0-9]{1,2}[\-./][0-9]{1,2}",
        r"[0-9]{1,2}[\-./][0-9]{1,2}[\-./][0-9]{2,4}",
        r"[0-9]{5}-[0-9]{4}",
        r"[+\-]?[0-9]+[.,][0-9]{1,2}",
    )
)

_EMAIL_WORDS = frozenset({"email", "mail", "emailaddress", "mailaddress", "emails"})
_PHONE_WORDS = frozenset(
    {
        "phone",
        "phones",
        "mobile",
        "tel",
        "telephone",
        "cell",
        "cellphone",
        "fax",
        "msisdn",
        "phonenumber",
        "mobilenumber",
        "handphone",
    }
)
_NAME_WORDS = frozenset(
    {
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "givenname",
        "familyname",
        "forename",
        "middlename",
        "customername",
        "buyername",
        "contactname",
        "recipientname",
        "billingname",
        "shippingname",
    }
)
#: Words before `name` that make it a person's name (`Customer Name`, not `Store Name`).
_PERSON_WORDS = frozenset(
    {
        "first",
        "last",
        "full",
        "given",
        "family",
        "middle",
        "customer",
        "buyer",
        "contact",
        "recipient",
        "receiver",
        "billing",
        "shipping",
        "client",
        "member",
        "person",
        "holder",
        "cardholder",
    }
)
#: Words that make a personal-sounding column about the identifier, not the identifier
#: itself (`email_hash`, `Accepts Email Marketing`, `mobile_app`).
_ABOUT_WORDS = frozenset(
    {
        "hash",
        "hashed",
        "sha256",
        "sha1",
        "md5",
        "domain",
        "marketing",
        "consent",
        "optin",
        "opt",
        "accepts",
        "subscribed",
        "subscription",
        "verified",
        "status",
        "type",
        "count",
        "app",
        "device",
        "os",
        "campaign",
        "template",
        "opened",
        "clicked",
        "sent",
    }
)
_KOREAN = (
    ("이메일", "an e-mail address"),
    ("메일", "an e-mail address"),
    ("전화", "a phone number"),
    ("휴대폰", "a phone number"),
    ("핸드폰", "a phone number"),
    ("연락처", "a phone number"),
    ("이름", "a person's name"),
    ("성명", "a person's name"),
    ("고객명", "a person's name"),
    ("주문자명", "a person's name"),
    ("수령인", "a person's name"),
    ("수취인", "a person's name"),
)


def personal_name(column: str) -> str | None:
    """What a source column's name says it holds ("an e-mail address", "a phone number",
    "a person's name"), or None when the name says nothing personal.

    >>> personal_name("customer_email"), personal_name("Accepts Email Marketing")
    ('an e-mail address', None)
    """
    words = re.findall(r"[^\W_]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column).lower())
    if _ABOUT_WORDS & set(words):
        return None
    for korean, kind in _KOREAN:
        if korean in column:
            return kind
    joined = ["".join(pair) for pair in itertools.pairwise(words)]
    if _EMAIL_WORDS & {*words, *joined}:
        return "an e-mail address"
    if _PHONE_WORDS & {*words, *joined}:
        return "a phone number"
    if _NAME_WORDS & {*words, *joined}:
        return "a person's name"
    after = {words[i - 1] for i, word in enumerate(words) if word == "name" and i > 0}
    if after & _PERSON_WORDS:
        return "a person's name"
    return None


@dataclass(frozen=True)
class RawAllowance:
    """An admin's permission to store a source's identifiers raw: every column of the
    source, or the listed ones (source column names or `table.column`, any case)."""

    source: str
    columns: tuple[str, ...] = ()

    def covers(self, source: str, table: str, column: str, source_column: str) -> bool:
        """Whether this allowance keeps `source_column` (→ `table.column`) of `source` raw."""
        if self.source.lower() != source.lower():
            return False
        if not self.columns:
            return True
        wanted = {c.lower() for c in self.columns}
        return source_column.lower() in wanted or f"{table}.{column}".lower() in wanted


@dataclass(frozen=True)
class PersonalColumn:
    """A mapped text column found to hold personal identifiers, with the first row."""

    table: str
    column: str
    source_column: str
    holds: str
    reason: str
    file: str
    row: int | None

    @property
    def target(self) -> str:
        """`table.column`."""
        return f"{self.table}.{self.column}"


class RawIdentifiers(ConfigError):
    """A load would store personal identifiers in clear: refused before anything is
    written, naming the file, the column (source and target), an example row and the fix."""

    def __init__(self, found: PersonalColumn, source: str, mapping: Mapping) -> None:
        where = mapping.where("tables", found.table, "columns", found.column)
        row = f" row {found.row}" if found.row is not None else ""
        super().__init__(
            f'{found.file}{row}: column "{found.source_column}" (→ {found.target}) '
            f"{found.reason}; it would be stored in clear, so nothing was loaded. Add "
            f"`hash: true` to {where} to store a keyed hash instead, or have an admin allow "
            f"raw identifiers for this source: omnikpi sources allow-raw-identifiers {source} "
            f'--column "{found.source_column}" --reason "…"'
        )
        self.found = found
        self.source = source


def source_name(mapping: Mapping) -> str:
    """The name an admin's allowance gives a mapping's source: its `name:`, else its file
    name without the extension (a preset's name, `shopify`).

    >>> from omnikpi.ingest.mapping import parse_mapping
    >>> source_name(parse_mapping({"tables": {"reviews": {"columns": {
    ...     "review_id": "id", "created_at": "at", "rating": "stars"}}}}, "crm.yaml"))
    'crm'
    """
    return mapping.name or Path(mapping.origin).stem


def checked_columns(stage: StagePlan) -> list[ColumnPlan]:
    """The staged columns that would store source text as it is: text columns read from a
    source column, not pseudonymised, not restricted to a list of allowed values."""
    return [
        plan
        for plan in stage.columns
        if plan.column.type == "string"
        and plan.source_column is not None
        and plan.source_sql is not None
        and not plan.hashed
        and not plan.column.allowed_values
    ]


def identifier_tests(
    value: str, email: str, phone: str, characters: str, not_phone: str
) -> tuple[str, str]:
    """SQL tests of whether `value` (an expression) is written as an e-mail address and as
    a phone number; the other arguments are the parameters holding EMAIL_PATTERN,
    PHONE_PATTERN, PHONE_CHARACTERS and NOT_PHONE_PATTERN. CASE, not AND: DuckDB evaluates
    every operand of an AND over every row, CASE a branch only over its rows, so the costly
    tests run on the few candidate values (a scan of 1M orders' six text columns: 2.3 s
    with AND, 0.12 s so).

    >>> identifier_tests("v", "$e", "$p", "$c", "$n")[0]
    "CASE WHEN contains(v, '@') THEN regexp_full_match(v, $e) END"
    """
    is_email = f"CASE WHEN contains({value}, '@') THEN regexp_full_match({value}, {email}) END"
    # The digits of a value of PHONE_CHARACTERS: its marks removed.
    digits = f"length(translate({value}, '{PHONE_MARKS}', ''))"
    least = f"CASE WHEN starts_with({value}, '+') THEN 7 ELSE 9 END"
    is_phone = (
        f"CASE WHEN regexp_full_match({value}, {characters}) THEN {digits} BETWEEN {least} "
        f"AND 15 AND regexp_full_match({value}, {phone}) "
        f"AND NOT regexp_full_match({value}, {not_phone}) END"
    )
    return is_email, is_phone


def find_personal_columns(warehouse: Warehouse, stage: StagePlan) -> list[PersonalColumn]:
    """The columns of a staged table that would store personal identifiers in clear, each
    with the file and number of its first such row (one scan of the stage)."""
    plans = checked_columns(stage)
    if not plans:
        return []
    params = Params("i")
    email, phone = params.add(EMAIL_PATTERN), params.add(PHONE_PATTERN)
    characters, not_phone = params.add(PHONE_CHARACTERS), params.add(NOT_PHONE_PATTERN)
    parts = []
    for n, plan in enumerate(plans):
        v = ident(plan.column.name)
        is_email, is_phone = identifier_tests(v, email, phone, characters, not_phone)
        parts += [
            f"count({v}) AS filled_{n}",
            f"count(*) FILTER (WHERE {is_email}) AS emails_{n}",
            f"count(*) FILTER (WHERE {is_phone}) AS phones_{n}",
            f"min(_row) FILTER (WHERE {is_email}) AS email_row_{n}",
            f"min_by(_source, _row) FILTER (WHERE {is_email}) AS email_file_{n}",
            f"min(_row) FILTER (WHERE {is_phone}) AS phone_row_{n}",
            f"min_by(_source, _row) FILTER (WHERE {is_phone}) AS phone_file_{n}",
            f"min(_row) FILTER (WHERE {v} IS NOT NULL) AS any_row_{n}",
            f"min_by(_source, _row) FILTER (WHERE {v} IS NOT NULL) AS any_file_{n}",
        ]
    sql = f"SELECT {', '.join(parts)} FROM {ident(stage.relation)}"
    values = warehouse.fetch_rows(sql, params.used_in(sql))[0]
    found = []
    for n, plan in enumerate(plans):
        filled, emails, phones = (int(x or 0) for x in values[9 * n : 9 * n + 3])
        email_at, phone_at, any_at = (
            values[9 * n + 3 + 2 * k : 9 * n + 5 + 2 * k] for k in range(3)
        )
        named = personal_name(plan.label)
        if not filled:
            continue
        if emails and emails >= EMAIL_SHARE * filled:
            holds, reason, (row, file) = (
                "e-mail addresses",
                f"holds e-mail addresses ({emails:,} of its {filled:,} values)",
                email_at,
            )
        elif phones >= PHONE_SHARE * filled:
            holds, reason, (row, file) = (
                "phone numbers",
                f"holds phone numbers ({phones:,} of its {filled:,} values)",
                phone_at,
            )
        elif named:
            holds, reason, (row, file) = named, f"is named as holding {named}", any_at
        else:
            continue
        found.append(
            PersonalColumn(
                stage.table.name,
                plan.column.name,
                plan.label,
                holds,
                reason,
                Path(str(file)).name if file else "the source",
                None if row is None else int(row),
            )
        )
    return found


def check_identifiers(
    warehouse: Warehouse,
    stage: StagePlan,
    mapping: Mapping,
    allowances: Sequence[RawAllowance],
) -> list[PersonalColumn]:
    """Refuse (RawIdentifiers) a staged table that would store personal identifiers in
    clear without an admin's allowance; the allowed such columns are returned (the load
    says it kept them raw)."""
    source = source_name(mapping)
    kept = []
    for found in find_personal_columns(warehouse, stage):
        allowed = any(
            a.covers(source, found.table, found.column, found.source_column) for a in allowances
        )
        if not allowed:
            raise RawIdentifiers(found, source, mapping)
        kept.append(found)
    return kept


def kept_note(source: str, kept: Sequence[PersonalColumn]) -> str:
    """The summary's line for the columns a load kept raw as an admin allowed."""
    columns = ", ".join(f'{k.target} ← "{k.source_column}" ({k.holds})' for k in kept)
    return (
        f"raw identifiers stored in clear, as an admin allowed for source {source}: {columns} "
        f"(`omnikpi sources forbid-raw-identifiers {source}` withdraws it)"
    )
