"""Bar charts as inline SVG geometry, computed here so the template only draws.

The home page shows the catalogue at a glance (modalities, field strengths, species,
acquisitions per year) without any JavaScript or CDN: each chart is a list of bars with
their length as a fraction of the largest, a label, a count and, where the value is a
facet, the search link that filters on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.domain.summary import CatalogueGlance, Count
from catalog.web.paging import url

#: Bars per chart; the rest are one facet click away.
MAX_BARS = 8
ROW_HEIGHT = 26
#: SVG user units: label column, bar area, count column (the SVG scales to its box).
LABEL_WIDTH = 100
BAR_WIDTH = 120
CHART_WIDTH = 260


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    length: float  # SVG units
    y: int
    href: str | None


@dataclass
class Chart:
    key: str
    title: str
    bars: list[Bar] = field(default_factory=list)
    height: int = 0
    label_width: int = LABEL_WIDTH
    bar_width: int = BAR_WIDTH
    width: int = CHART_WIDTH

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)


def bar_chart(key: str, title: str, counts: list[Count], facet: str | None) -> Chart:
    """A horizontal bar chart of the first MAX_BARS counts (links filter on `facet`)."""
    shown = counts[:MAX_BARS]
    largest = max((c.count for c in shown), default=0) or 1
    bars = [
        Bar(
            label=_short(c.label or c.value),
            count=c.count,
            length=round(BAR_WIDTH * c.count / largest, 1),
            y=index * ROW_HEIGHT,
            href=url("/search", [(facet, c.value)]) if facet else None,
        )
        for index, c in enumerate(shown)
    ]
    return Chart(key=key, title=title, bars=bars, height=len(bars) * ROW_HEIGHT)


def _short(text: str, limit: int = 15) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def glance_charts(glance: CatalogueGlance) -> list[Chart]:
    """The home page's charts, leaving out those with nothing to show."""
    charts = [
        bar_chart("modality", "Modalities", glance.modalities, "modality"),
        bar_chart("field-strength", "Field strengths", glance.field_strengths, "field_strength"),
        bar_chart("species", "Species", glance.species, "species"),
        bar_chart("years", "Acquired per year", glance.years[-MAX_BARS:], None),
    ]
    return [chart for chart in charts if chart.bars]
