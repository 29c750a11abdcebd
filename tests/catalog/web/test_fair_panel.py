"""The landing page's FAIR self-assessment panel (`_fair.html`)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_factories import Ids


def test_panel_scores_and_advises(client: TestClient, ids: Ids) -> None:
    page = client.get(f"/records/{ids.study}").text
    assert 'id="fair-heading"' in page
    assert "FAIR self-assessment: " in page and "/ 24 (" in page
    assert "FsF-F1-02D" in page and "FsF-R1.3-02D" in page
    scan = client.get(f"/records/{ids.pet}").text
    # the PET scan has no DOI: the panel says how to get one
    assert "imagora publish ID --to zenodo" in scan


def test_a_doi_and_licence_score_full_marks_on_those_metrics(client: TestClient, ids: Ids) -> None:
    page = client.get(f"/records/{ids.study}").text
    row = page.split("FsF-F1-02D</span>", 1)[1].split("</tr>", 1)[0]
    assert "<td>1 / 1</td>" in row
    row = page.split("FsF-R1.1-01M</span>", 1)[1].split("</tr>", 1)[0]
    assert "<td>2 / 2</td>" in row
