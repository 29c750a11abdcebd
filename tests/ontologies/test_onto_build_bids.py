"""The generated BIDS concept scheme: reproducible and structurally right."""

from __future__ import annotations

from pathlib import Path

from ontologies import build_bids
from ontologies.graph import Vocabulary

GLOSSARY = "https://bids-specification.readthedocs.io/en/stable/glossary.html#"


def test_regenerating_gives_the_committed_file() -> None:
    committed = build_bids.DEFAULT_OUTPUT.read_text(encoding="utf-8")
    assert build_bids.render(build_bids.load_bids_schema()) == committed


def test_check_mode_reports_an_outdated_file(tmp_path: Path, capsys) -> None:
    target = tmp_path / "bids.ttl"
    target.write_text("stale\n", encoding="utf-8")
    assert build_bids.main(["--output", str(target), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert build_bids.main(["--output", str(target)]) == 0
    assert build_bids.main(["--output", str(target), "--check"]) == 0


def test_bids_terms_and_hierarchy(vocab: Vocabulary) -> None:
    schema = build_bids.load_bids_schema()
    bids = vocab.concepts("bids")
    suffixes = [c for c in bids if c.iri.endswith("-suffixes")]
    assert len(suffixes) == len(schema.objects.suffixes) == 118
    assert len([c for c in bids if c.iri.endswith("-datatypes")]) == 16
    assert len([c for c in bids if c.iri.endswith("-entities")]) == 35
    t1w = vocab.concept(GLOSSARY + "t1w-suffixes")
    assert t1w.notations == ("T1w",)
    assert t1w.broader == (GLOSSARY + "anat-datatypes",)
    assert vocab.broader_closure(t1w.iri) == [
        GLOSSARY + "anat-datatypes",
        GLOSSARY + "mri-modalities",
    ]
    assert "longitudinal relaxation" in (t1w.definition or "")
    echo = vocab.concept(GLOSSARY + "echotime-metadata")
    assert echo.label == "Echo Time"
    subject = vocab.concept(GLOSSARY + "subject-entities")
    assert "sub" in subject.alt_labels


def test_colliding_glossary_anchors_get_imagora_iris(vocab: Vocabulary) -> None:
    # MISCChannelCount / MiscChannelCount share a lower-cased glossary anchor.
    iris = {c.iri for c in vocab.concepts("bids") if "channelcount" in c.iri.lower()}
    assert "https://w3id.org/imagora/vocab/bids/metadata/MISCChannelCount" in iris
    assert "https://w3id.org/imagora/vocab/bids/metadata/MiscChannelCount" in iris
