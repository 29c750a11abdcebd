"""`assemble._relative`: its string fast path gives what `os.path.relpath` gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harvesters.dicom.assemble import _relative

CASES = [
    ("/data/x", "/data/x/a/b.dcm"),
    ("/data/x", "/data/xy/b.dcm"),
    ("/data/x", "/data/x/./a.dcm"),
    ("/data/x", "/data/x/../y.dcm"),
    ("/data/x", "/data/x//a.dcm"),
    ("/data/x", "/data/x/.hidden/a"),
    ("/data/x/f.dcm", "/data/x/f.dcm"),
    ("/", "/a/b"),
    ("/data/x", "/data/x/a/"),
]


@pytest.mark.parametrize(("location", "path"), CASES)
def test_relative_paths_are_relpath(location: str, path: str) -> None:
    assert _relative(Path(location), path) == Path(os.path.relpath(path, location)).as_posix()
