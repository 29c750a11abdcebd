"""The provenance panel of a derived record's landing page (rendering only).

`ComputeService.lineage` says what the caller may see of the job that made the record
(inputs, pipeline, outputs, re-run command); this module draws it: the preview image,
the PROV graph as inline SVG (no script) and the links to PROV-JSON and PROV-O. The
landing page route puts it in its template context like every other panel.
"""

from __future__ import annotations

from html import escape

from catalog.services.compute import Lineage


def lineage_html(record_id: str, lineage: Lineage) -> str:
    """A panel: the preview image, the PROV graph as inline SVG (inputs -> job ->
    outputs, with the pipeline agent), links to PROV-JSON / Turtle, the re-run command."""
    quoted = escape(record_id)
    image = (
        f'<img src="/api/records/{quoted}/preview.png" alt="Preview: map, amplitude, fit R2" '
        'class="preview">'
        if lineage.preview
        else ""
    )
    return (
        '<section class="panel" aria-labelledby="prov-heading">'
        '<h2 id="prov-heading">Provenance</h2>'
        f"{image}{prov_svg(lineage)}"
        f'<p>Job <span class="mono">{escape(lineage.job_id)}</span>: '
        f"{escape(lineage.pipeline)} on {escape(lineage.executor)}"
        f"{' (' + escape(lineage.device) + ')' if lineage.device else ''}. "
        f'W3C PROV: <a href="/api/records/{quoted}/provenance">PROV-JSON</a> '
        "(PROV-O Turtle with <code>Accept: text/turtle</code>).</p>"
        f'<p>Re-run:</p><pre class="mono small">{escape(lineage.rerun_command)}</pre>'
        "</section>"
    )


def prov_svg(lineage: Lineage) -> str:
    """Inputs (left) used by the job (middle, with its pipeline agent) that generated
    the outputs (right). Plain SVG, no script."""
    rows = max(len(lineage.inputs), len(lineage.outputs), 1)
    row_h, width = 22, 720
    height = rows * row_h + 40
    mid_y = height // 2
    parts = [
        f'<svg class="prov-graph" role="img" aria-label="Provenance graph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        'font-size="11" font-family="sans-serif">',
        f'<rect x="270" y="{mid_y - 30}" width="180" height="36" rx="4" fill="#dde8f5" '
        'stroke="#456"/>',
        f'<text x="360" y="{mid_y - 8}" text-anchor="middle">job {escape(lineage.job_id)}</text>',
        f'<text x="360" y="{mid_y + 24}" text-anchor="middle" fill="#555">'
        f"agent: {escape(lineage.pipeline)}</text>",
    ]
    for side, items, x_text, x_line in (
        ("in", lineage.inputs, 10, 250),
        ("out", lineage.outputs, 470, 470),
    ):
        for index, (rid, title) in enumerate(items):
            y = 20 + index * row_h + (rows - len(items)) * row_h // 2
            # 36 characters at x = 470 still fit the 720-wide viewBox
            label = escape(title if len(title) <= 36 else title[:35] + "…")
            link = f'<a href="/records/{escape(rid)}">'
            parts.append(f'{link}<text x="{x_text}" y="{y + 4}">{label}</text></a>')
            start = (x_line, y) if side == "in" else (450, mid_y - 12)
            end = (270, mid_y - 12) if side == "in" else (x_line + 5, y)
            parts.append(
                f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0]}" y2="{end[1]}" stroke="#789"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
