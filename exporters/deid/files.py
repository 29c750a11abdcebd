"""Non-DICOM cleaners: BIDS sidecars and tables, NIfTI headers, Bruker parameter files.

- JSON sidecars lose the fields that identify (the DICOM identifying keywords that
  converters such as dcm2niix copy over, plus a few BIDS spellings).
- `participants.tsv` loses identifying columns (names, birth dates, contact data, ids
  other than `participant_id`); `scans.tsv` / `sessions.tsv` `acq_time` values are
  shifted with the package's offset or removed, per policy.
- NIfTI-1/2 headers get `descrip` and `aux_file` zeroed in place (byte offsets of the
  standard header; gzip re-compressed), so no imaging library is needed at run time.
- Bruker: `subject` files are never packaged; `SUBJECT_*` / `VisuSubject*` parameters and
  the `##OWNER` line are cut from JCAMP-DX parameter files.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import struct
from datetime import datetime
from pathlib import Path

from exporters.deid.dicom import Uncleanable
from exporters.deid.policy import DeidPolicy
from harvesters.privacy import IDENTIFYING_KEYWORDS

SIDECAR_DROP = IDENTIFYING_KEYWORDS | {
    "ProcedureStepDescription",
    "PatientPosition_Name",
    "SubjectName",
    "SubjectID",
    "DeviceSerialNumber",
    "StationName",
}
#: Characteristics BIDS keeps in sidecars only rarely and which are not identifying alone.
SIDECAR_KEEP = frozenset({"PatientSex", "PatientWeight", "PatientSize", "PatientAge"})
PARTICIPANT_COLUMN = re.compile(
    r"name|birth|dob|patient|mrn|address|phone|e-?mail|initials|ssn|insurance|postcode|zip"
    r"|contact|nhs|social",
    re.IGNORECASE,
)
#: JCAMP-DX parameters that name or date the animal, the people or the site. Prefixes end in
#: `_` or a letter run; exact names end in `=`. Dates go whatever the date policy: their
#: formats vary by ParaVision version, so shifting them reliably is not attempted.
JCAMP_DROP_NAMES = (
    r"\$SUBJECT_",
    r"\$VisuSubject(?!Sex|Type|Weight|Position)",
    r"OWNER=",
    r"\$VisuStudyReferringPhysician",
    r"\$VisuInstitution",
    r"\$VisuStation=",
    r"\$ACQ_operator=",
    r"\$ACQ_station=",
    r"\$ACQ_institution=",
    r"\$VisuStudyDate=",
    r"\$VisuAcqDate=",
    r"\$VisuCreationDate=",
    r"\$ACQ_time=",
    r"\$ACQ_abs_time=",
)
JCAMP_DROP = re.compile(r"^##(" + "|".join(JCAMP_DROP_NAMES) + ")")
JCAMP_NAMES = frozenset({"acqp", "method", "visu_pars", "reco", "acqus", "procs", "imnd"})
TABLES_WITH_TIMES = frozenset({"scans.tsv", "sessions.tsv"})


def clean_sidecar(src: Path, dst: Path) -> list[str]:
    """Copy a JSON sidecar without identifying fields; returns the dropped names."""
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Uncleanable(f"cannot be read as JSON ({exc})") from exc
    if not isinstance(data, dict):
        dst.write_text(json.dumps(data, indent=2), encoding="utf-8")
        return []
    dropped = sorted(k for k in data if k in SIDECAR_DROP and k not in SIDECAR_KEEP)
    cleaned = {k: v for k, v in data.items() if k not in dropped}
    dst.write_text(json.dumps(cleaned, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return dropped


def _read_tsv(src: Path) -> list[list[str]]:
    try:
        text = src.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise Uncleanable(f"cannot be read as a TSV table ({exc})") from exc
    return [row for row in csv.reader(io.StringIO(text), delimiter="\t") if row]


def _write_tsv(dst: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(rows)
    dst.write_text(buffer.getvalue(), encoding="utf-8")


def clean_participants(src: Path, dst: Path) -> list[str]:
    """participants.tsv without identifying columns; returns the dropped column names."""
    rows = _read_tsv(src)
    if not rows:
        dst.write_text("", encoding="utf-8")
        return []
    header = rows[0]
    keep = [
        i
        for i, name in enumerate(header)
        if name == "participant_id" or not PARTICIPANT_COLUMN.search(name)
    ]
    dropped = [name for i, name in enumerate(header) if i not in keep]
    _write_tsv(dst, [[row[i] if i < len(row) else "n/a" for i in keep] for row in rows])
    return dropped


def clean_times_table(src: Path, dst: Path, policy: DeidPolicy) -> list[str]:
    """scans.tsv / sessions.tsv with `acq_time` shifted or removed."""
    rows = _read_tsv(src)
    if not rows or "acq_time" not in rows[0]:
        _write_tsv(dst, rows)
        return []
    column = rows[0].index("acq_time")
    if policy.dates == "remove":
        _write_tsv(dst, [[v for i, v in enumerate(row) if i != column] for row in rows])
        return ["acq_time"]
    out = [rows[0]]
    for row in rows[1:]:
        row = list(row)
        if column < len(row):
            row[column] = _shift_datetime(row[column], policy)
        out.append(row)
    _write_tsv(dst, out)
    return []


def _shift_datetime(value: str, policy: DeidPolicy) -> str:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return "n/a"
    return datetime.combine(policy.shift(parsed.date()), parsed.time()).isoformat()


#: (sizeof_hdr, offset of descrip, offset of aux_file) for NIfTI-1 and NIfTI-2.
NIFTI_LAYOUTS = ((348, 148, 228), (540, 240, 320))


def _clear_header(data: bytearray, name: str) -> None:
    for size, descrip, aux in NIFTI_LAYOUTS:
        for order in "<>":
            if len(data) >= size and struct.unpack(f"{order}i", data[:4])[0] == size:
                data[descrip : descrip + 80] = bytes(80)
                data[aux : aux + 24] = bytes(24)
                return
    raise Uncleanable(f"{name}: not a NIfTI-1 or NIfTI-2 file (bad sizeof_hdr)")


def clean_nifti(src: Path, dst: Path) -> None:
    """Copy a .nii or .nii.gz with `descrip` and `aux_file` cleared."""
    compressed = src.name.endswith(".gz")
    try:
        raw = gzip.decompress(src.read_bytes()) if compressed else src.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise Uncleanable(f"cannot be read as NIfTI ({exc})") from exc
    data = bytearray(raw)
    _clear_header(data, src.name)
    if compressed:
        dst.write_bytes(gzip.compress(bytes(data), mtime=0))
    else:
        dst.write_bytes(bytes(data))


def clean_jcamp(src: Path, dst: Path) -> int:
    """A JCAMP-DX parameter file without subject parameters; returns how many went."""
    try:
        lines = src.read_text(encoding="latin-1").splitlines(keepends=True)
    except OSError as exc:
        raise Uncleanable(f"cannot be read ({exc})") from exc
    out: list[str] = []
    dropping = False
    removed = 0
    for line in lines:
        if line.startswith("$$"):  # comments: file paths, dates and user names
            continue
        if line.startswith("##"):
            dropping = bool(JCAMP_DROP.match(line))
            removed += dropping
        if not dropping:
            out.append(line)
    dst.write_text("".join(out), encoding="latin-1")
    return removed
