"""Path aliases: raw folder names that hold a patient's name or id, replaced everywhere."""

from __future__ import annotations

from catalog.services.path_privacy import PathAliases
from harvesters.base import FileFacts


def test_path_aliases_rewrite_text_without_eating_numbers_or_uids() -> None:
    aliases = PathAliases({"42": "sub-x", "SMITH^JOHN": "sub-y"})
    assert aliases.text("SMITH^JOHN") == "sub-y"
    assert aliases.text("data from SMITH^JOHN.") == "data from sub-y."
    assert aliases.text("/srv/42/SMITH^JOHN/a.dcm") == "/srv/sub-x/sub-y/a.dcm"
    assert aliases.text("TR 4200, uid 1.2.42.5") == "TR 4200, uid 1.2.42.5"
    assert aliases.path("42/SMITH^JOHN/1.dcm") == "sub-x/sub-y/1.dcm"


def test_a_folder_named_after_two_patients_is_redacted() -> None:
    facts = [
        FileFacts("a", "dicom", {"path_aliases": [["SMITH+DOE", "sub-s+DOE"]]}),
        FileFacts("b", "dicom", {"path_aliases": [["SMITH+DOE", "SMITH+sub-d"]]}),
        FileFacts("c", "dicom", {"path_aliases": [["SMITH", "sub-s"]]}),
    ]
    aliases = PathAliases.from_facts(facts)
    assert aliases.path("SMITH+DOE/SMITH/1.dcm") == "redacted/sub-s/1.dcm"
