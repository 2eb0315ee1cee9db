"""bench/RESULTS.md: each benchmark keeps one section, replaced in place when it runs again."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def record_section(section: str, results: Path = RESULTS) -> None:
    """Replace the section headed like `section` ("## Name ...") in `results`, or append it;
    the other sections are kept as they are."""
    title = section.lstrip().splitlines()[0]
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.strip("\n") + "\n\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results.write_text(text.rstrip("\n") + "\n")


def publish(section: str, record: bool) -> None:
    """Print a benchmark's section and, if `record`, write it to RESULTS.md."""
    print(section)
    if record:
        record_section(section)
        print(f"recorded in {RESULTS}")
