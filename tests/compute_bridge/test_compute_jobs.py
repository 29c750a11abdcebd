"""End to end: a multi-echo phantom harvested from BIDS, a relaxometry job through the
local executor, the T2 maps catalogued as derived records with PROV."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from catalog.domain.compute import JobRequest
from catalog.services.container import Catalog
from tests.compute_bridge.conftest import ALICE, wait_for


def test_local_job_catalogues_t2_map_with_provenance(catalog: Catalog, mese) -> None:  # type: ignore[no-untyped-def]
    phantom, ids = mese
    job = catalog.compute.submit(ALICE, JobRequest(pipeline="relaxometry", records=ids))
    assert job.state == "queued"
    job = wait_for(catalog, ALICE, job.id)
    assert job.state == "succeeded", (job.message, job.log_tail)
    assert len(job.outputs) == 1
    record = catalog.records.get(ALICE, job.outputs[0])
    assert record.level == "derived"
    assert record.title.startswith("T2 map of ")
    related = {(r.relation, r.identifier) for r in record.related}
    assert {("IsDerivedFrom", i) for i in ids} <= related
    t2_file = Path(record.source.location or "") / record.files[0].path
    t2_ms = nib.load(t2_file).get_fdata() * 1000.0
    for label, _name, _t1, t2_true, _pd in [(1, "wm", 0, 45.0, 0), (5, "csf", 0, 250.0, 0)]:
        inside = phantom.labels == label
        # a small phantom (fast job); the 1% acceptance runs in test_fitting.py
        assert abs(np.median(t2_ms[inside]) / t2_true - 1.0) < 0.03
