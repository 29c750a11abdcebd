"""BIDS indexing benchmark: BidsHarvester (discover+read+assemble) vs pybids BIDSLayout.

Generates a BIDS tree of N subjects x 2 sessions (T1w, two bold runs, dwi with bval/bvec,
per-file sidecars, root sidecars, participants.tsv; tiny real NIfTI-1 headers) in a temp
dir, then times both indexers on it in the same run.  Target: the harvester >= 5x faster.

    python benchmarks/_bids_bench.py --subjects 1000
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from harvesters.base import HarvestOptions, ItemError
from harvesters.bids.harvester import BidsHarvester
from harvesters.bids.sample import nifti1_bytes


def generate_tree(root: Path, subjects: int) -> int:
    """Write the benchmark dataset; returns the number of files written."""
    image = gzip.compress(nifti1_bytes((4, 4, 3), (1.0, 1.0, 1.0)), mtime=0)
    description = {"Name": "bench", "BIDSVersion": "1.10.0", "Authors": ["bench"]}
    files = {
        "dataset_description.json": json.dumps(description),
        "task-rest_bold.json": json.dumps({"TaskName": "rest", "RepetitionTime": 2.0}),
        "T1w.json": json.dumps({"RepetitionTime": 2.3, "FlipAngle": 8}),
    }
    rows = ["participant_id\tspecies\tsex\tage"]
    rows += [f"sub-{i:04d}\thomo sapiens\t{'MF'[i % 2]}\t{20 + i % 50}" for i in range(subjects)]
    files["participants.tsv"] = "\n".join(rows) + "\n"
    for path, text in files.items():
        (root / path).write_text(text, encoding="utf-8")
    count = len(files)
    for index in range(subjects):
        for session in ("01", "02"):
            count += _write_session(root, f"{index:04d}", session, image)
    return count


def _write_session(root: Path, sub: str, ses: str, image: bytes) -> int:
    base = root / f"sub-{sub}" / f"ses-{ses}"
    prefix = f"sub-{sub}_ses-{ses}"
    entries: dict[str, bytes | str] = {
        f"anat/{prefix}_T1w.nii.gz": image,
        f"anat/{prefix}_T1w.json": json.dumps({"EchoTime": 0.00226}),
        f"dwi/{prefix}_dwi.nii.gz": image,
        f"dwi/{prefix}_dwi.bval": "0 1000\n",
        f"dwi/{prefix}_dwi.bvec": "0 1\n0 0\n0 0\n",
        f"dwi/{prefix}_dwi.json": json.dumps({"RepetitionTime": 3.2, "EchoTime": 0.089}),
    }
    for run in (1, 2):
        entries[f"func/{prefix}_task-rest_run-{run}_bold.nii.gz"] = image
        entries[f"func/{prefix}_task-rest_run-{run}_bold.json"] = json.dumps({"EchoTime": 0.03})
    for rel, content in entries.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return len(entries)


def time_harvester(root: Path) -> tuple[float, int]:
    harvester = BidsHarvester(HarvestOptions(secret=b"bench"))
    start = time.perf_counter()
    facts = []
    for item in harvester.discover(root):
        if not isinstance(item, ItemError):
            facts.extend(harvester.read(item))
    records = [r for r in harvester.assemble(root, facts) if not isinstance(r, ItemError)]
    return time.perf_counter() - start, len(records)


def time_pybids(root: Path) -> tuple[float, int]:
    from bids import BIDSLayout

    start = time.perf_counter()
    layout = BIDSLayout(str(root), validate=False)
    files = len(layout.get())
    return time.perf_counter() - start, files


def run_bids_bench(subjects: int) -> dict[str, Any]:
    """Generate, index with both tools, and return times, counts and the speed-up ratio."""
    with tempfile.TemporaryDirectory(prefix="imagora-bids-bench-") as tmp:
        root = Path(tmp)
        files = generate_tree(root, subjects)
        ours, records = time_harvester(root)
        theirs, indexed = time_pybids(root)
    return {
        "subjects": subjects,
        "files": files,
        "imagora_s": round(ours, 3),
        "imagora_records": records,
        "pybids_s": round(theirs, 3),
        "pybids_files": indexed,
        "ratio": round(theirs / ours, 2) if ours else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100, help="subjects (1000 for the target)")
    args = parser.parse_args()
    result = run_bids_bench(args.subjects)
    print(f"BIDS indexing, {result['subjects']} subjects, {result['files']} files")
    ours = f"{result['imagora_s']:.2f} s ({result['imagora_records']} records)"
    print(f"  imagora BidsHarvester: {ours}")
    print(f"  pybids BIDSLayout:     {result['pybids_s']:.2f} s ({result['pybids_files']} files)")
    print(f"  ratio (pybids / imagora): {result['ratio']}x")


if __name__ == "__main__":
    main()
