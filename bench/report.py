"""A section appended to BENCHMARKS.md: a heading with the run's UTC time, the lines that
say how it ran (command, machine), a Markdown table, and lines after it."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def append(
    title: str | None,
    intro: Sequence[str],
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    outro: Sequence[str] = (),
) -> None:
    """Append `## {title} — {now}` (none when title is None: a table continuing the
    section above), `intro`, the table of `rows` under `header`, then each line of `outro`
    followed by a blank line."""
    heading = [] if title is None else ["", f"## {title} — {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"]
    lines = [
        *heading,
        "",
        *intro,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(row) + " |" for row in rows],
        "",
        *[line for text in outro for line in (text, "")],
    ]
    if not PATH.exists():
        PATH.write_text("# Benchmarks\n")
    with PATH.open("a") as f:
        f.write("\n".join(lines))
