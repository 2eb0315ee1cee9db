"""Text encodings of exports: detect them, and turn what DuckDB cannot read into UTF-8.

DuckDB reads UTF-8 (with or without BOM), UTF-16 and Latin-1 itself; Korean Excel exports
in CP949/EUC-KR are transcoded to a temporary UTF-8 file first, because DuckDB would need
to download its `encodings` extension for them.
"""

from __future__ import annotations

import codecs
import gzip
import re
from pathlib import Path
from typing import IO, cast

from omnikpi.errors import ConfigError, DataError

#: Python codec name → DuckDB `encoding` option, for what DuckDB reads natively.
DUCKDB_ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf-16": "utf-16",
    "latin-1": "latin-1",
}
_ALIASES = {"iso8859-1": "latin-1", "euc_kr": "cp949", "ms949": "cp949", "uhc": "cp949"}
_SAMPLE_BYTES = 1 << 20
_HANGUL_RUN = re.compile("[\uac00-\ud7a3]+")
_CHUNK_BYTES = 1 << 22


def normalize_encoding(name: str) -> str:
    """The canonical Python codec name of `name` (EUC-KR is read as its superset CP949)."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ConfigError(
            f'encoding "{name}" is unknown (use e.g. utf-8, cp949, euc-kr, latin-1 or auto)'
        ) from None
    return _ALIASES.get(codec, codec)


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it ends in .gz."""
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def detect_encoding(path: Path) -> str:
    """Best guess from the first MiB: BOM, else UTF-8 if it decodes, else CP949, else Latin-1."""
    with open_binary(path) as stream:
        sample = stream.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        text = codecs.getincrementaldecoder("cp949")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "latin-1"
    return "cp949" if looks_korean(text) else "latin-1"


def looks_korean(text: str) -> bool:
    """Whether text decoded as CP949 reads as Korean rather than misread Latin-1.

    Latin-1 accents followed by a letter also decode as CP949, but into isolated
    syllables; Korean words are runs of two or more Hangul syllables.
    """
    runs = _HANGUL_RUN.findall(text)
    syllables = sum(len(run) for run in runs)
    in_words = sum(len(run) for run in runs if len(run) > 1)
    return syllables > 0 and in_words >= 0.6 * syllables


def readable_by_duckdb(path: Path, encoding: str, workdir: Path) -> tuple[Path, str]:
    """A path and DuckDB encoding to read `path` with, transcoding to UTF-8 when needed."""
    codec = detect_encoding(path) if encoding == "auto" else normalize_encoding(encoding)
    if codec in DUCKDB_ENCODINGS:
        return path, DUCKDB_ENCODINGS[codec]
    target = workdir / f"{path.name}.utf8"
    transcode(path, codec, target)
    return target, "utf-8"


def transcode(path: Path, codec: str, target: Path) -> None:
    """Write `path` decoded from `codec` as UTF-8 to `target`, streaming in chunks."""
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    with open_binary(path) as source, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            chunk = source.read(_CHUNK_BYTES)
            try:
                out.write(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path.name}: byte {offset + exc.start:,} is not valid {codec} text "
                    "(set read.encoding in the mapping, e.g. utf-8 or cp949)"
                ) from None
            if not chunk:
                return
            offset += len(chunk)
