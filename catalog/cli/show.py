"""`imagora show ID`'s readable form: what a researcher wants to know about a record,
as lines of text (the JSON and metadata formats are one `--format` away)."""

from __future__ import annotations

from rich.markup import escape

from catalog.cli.render import out
from catalog.domain.display import imaging_rows
from catalog.domain.records import RecordPublic
from catalog.domain.summary import DatasetSummary
from catalog.domain.words import duration_words, relation_words
from exporters.citation import citation_text

SUMMARY_LEVELS = frozenset({"collection", "subject", "session"})
LABEL_WIDTH = 16


def _line(label: str, value: object) -> str:
    return f"[bold]{label + ':':<{LABEL_WIDTH}}[/] {escape(str(value))}"


def record_lines(record: RecordPublic, summary: DatasetSummary | None, base_url: str) -> list[str]:
    """The readable summary as rich-markup lines."""
    lines = [f"[bold]{escape(record.title)}[/]", _line("Id", record.id)]
    lines.append(_line("Level", record.level.value))
    if record.parents:
        lines.append(_line("Part of", " > ".join(p.title for p in record.parents)))
    if record.creators:
        lines.append(_line("Creators", "; ".join(c.name for c in record.creators)))
    if record.description:
        lines.append(_line("Description", record.description))
    lines.append(_line("Licence", record.license or "not stated"))
    lines.append(_line("Access", _access(record)))
    lines += [_line(label, value) for label, value in imaging_rows(record)]
    lines += _subject_lines(record)
    if summary is not None:
        lines += _summary_lines(summary)
    elif record.children_count:
        lines.append(_line("Contains", f"{record.children_count} records"))
    lines += [
        _line("Related", f"{relation_words(r.relation)} {r.identifier}") for r in record.related
    ]
    lines.append(_line("Cite as", citation_text(record, base_url)))
    return lines


def _access(record: RecordPublic) -> str:
    access = record.access
    files = access.files.value
    if access.embargo_until:
        files += f" until {access.embargo_until}"
    return f"record {access.record.value}, files {files}"


def _subject_lines(record: RecordPublic) -> list[str]:
    subject = record.subject
    lines = []
    if subject.species:
        lines.append(_line("Species", subject.species.label))
    if subject.sex:
        lines.append(_line("Sex", subject.sex))
    if subject.age:
        lines.append(_line("Age", duration_words(subject.age)))
    return lines


def _counts(values: list) -> str:  # type: ignore[type-arg]
    return ", ".join(f"{c.value} ({c.count})" for c in values)


def _summary_lines(summary: DatasetSummary) -> list[str]:
    counts = (
        f"{summary.subjects} subjects, {summary.sessions} sessions, "
        f"{summary.acquisitions} acquisitions, {summary.files} files"
    )
    lines = [_line("Contains", counts)]
    pairs = [
        ("Species", summary.species),
        ("Modalities", summary.modalities),
        ("Field strengths", summary.field_strengths),
        ("Sequences", summary.sequences),
    ]
    lines += [_line(label, _counts(values)) for label, values in pairs if values]
    if summary.first_date:
        lines.append(_line("Acquired", f"{summary.first_date} to {summary.last_date}"))
    return lines


def render_record(record: RecordPublic, summary: DatasetSummary | None, base_url: str) -> None:
    console = out()
    for line in record_lines(record, summary, base_url):
        console.print(line, highlight=False, soft_wrap=True)
