"""Rule-based annotation: terms, evidence, confidence, curator decisions and diffs."""

from __future__ import annotations

from catalog.domain.enums import Level
from catalog.domain.records import BidsInfo, Concept, Imaging, RecordCreate, SubjectInfo, Term
from ontologies.annotator import Annotator, diff
from ontologies.graph import Vocabulary
from ontologies.rules import Rule, equals

OBO = "http://purl.obolibrary.org/obo/"
ONL = "http://neurolog.unice.fr/ontoneurolog/v3.0/"
MR_IMAGE, T1, T2 = OBO + "OBI_0003328", OBO + "OBI_0003341", OBO + "OBI_0003348"
MPRAGE = "https://w3id.org/imagora/vocab/mr-technique/mprage"
RAT, RODENTIA = OBO + "NCBITaxon_10116", OBO + "NCBITaxon_9989"


def record(**fields: object) -> RecordCreate:
    values = {"level": Level.acquisition, "title": "scan"}
    values.update(fields)
    return RecordCreate(**values)


def by_iri(terms: list[Term]) -> dict[str, Term]:
    return {t.iri: t for t in terms}


def test_mprage_series_gives_mprage_term_without_its_broader(vocab: Vocabulary) -> None:
    terms = by_iri(
        Annotator(vocab).propose(
            record(imaging=Imaging(modality="MR", series_description="t1_mprage_sag"))
        )
    )
    mprage = terms[MPRAGE]
    assert mprage.rule == "sequence_name:mprage"
    assert mprage.evidence == {"series_description": "t1_mprage_sag"}
    assert mprage.confidence == 0.9
    assert mprage.label == "MPRAGE"
    assert mprage.scheme == "mri"
    assert mprage.status == "proposed"
    assert T1 not in terms  # reached through expansion, not stored
    assert terms[MR_IMAGE].rule == "dicom_modality:MR"
    assert terms[ONL + "dataset.owl#MR-dataset"].rule == "level:acquisition+MR"


def test_sequence_field_is_read_too(vocab: Vocabulary) -> None:
    terms = by_iri(Annotator(vocab).propose(record(imaging=Imaging(sequence="MP-RAGE"))))
    assert terms[MPRAGE].evidence == {"sequence": "MP-RAGE"}


def test_bids_suffix_t1w_gives_t1_weighted(vocab: Vocabulary) -> None:
    terms = by_iri(Annotator(vocab).propose(record(bids=BidsInfo(datatype="anat", suffix="T1w"))))
    assert terms[T1].rule == "bids_suffix:T1w"
    assert terms[T1].confidence == 0.95
    assert terms[T1].evidence == {"bids_suffix": "T1w"}


def test_bids_suffix_without_mri_concept_maps_to_bids_term(vocab: Vocabulary) -> None:
    terms = by_iri(Annotator(vocab).propose(record(bids=BidsInfo(suffix="T1map"))))
    iri = "https://bids-specification.readthedocs.io/en/stable/glossary.html#t1map-suffixes"
    assert terms[iri].rule == "bids_suffix:T1map"
    assert terms[iri].scheme == "bids"


def test_dicom_contrast_and_header_rules(vocab: Vocabulary) -> None:
    annotator = Annotator(vocab)
    flair = by_iri(annotator.propose(record(imaging=Imaging(contrast="FLUID_ATTENUATED"))))
    assert flair[OBO + "OBI_0003349"].rule == "dicom_contrast:FLUID_ATTENUATED"
    mp = by_iri(
        annotator.propose(
            record(imaging=Imaging(scanning_sequence="GR\\IR", sequence_variant="SK\\SP\\MP"))
        )
    )
    assert mp[MPRAGE].rule == "scanning_sequence:GR+IR/MP"
    assert mp[MPRAGE].evidence == {"scanning_sequence": "GR\\IR", "sequence_variant": "SK\\SP\\MP"}
    dwi = by_iri(annotator.propose(record(imaging=Imaging(image_type=["ORIGINAL", "DIFFUSION"]))))
    assert dwi[OBO + "OBI_0003335"].evidence == {"image_type": "ORIGINAL\\DIFFUSION"}


def test_timing_rules_are_only_a_fallback(vocab: Vocabulary) -> None:
    annotator = Annotator(vocab)
    t2 = by_iri(
        annotator.propose(record(imaging=Imaging(modality="MR", tr_ms=4000.0, te_ms=100.0)))
    )
    assert t2[T2].rule == "te_tr:t2"
    assert t2[T2].confidence == 0.5
    assert t2[T2].evidence == {"modality": "MR", "tr_ms": "4000", "te_ms": "100"}
    named = by_iri(
        annotator.propose(
            record(
                imaging=Imaging(modality="MR", tr_ms=4000.0, te_ms=100.0, series_description="t1")
            )
        )
    )
    assert T1 in named and T2 not in named


def test_rat_species_gives_rat_term_not_rodent(vocab: Vocabulary) -> None:
    species = Concept(iri=RAT, label="Rattus norvegicus")
    terms = by_iri(
        Annotator(vocab).propose(
            record(level=Level.subject, subject=SubjectInfo(species=species, strain="Wistar"))
        )
    )
    assert terms[RAT].rule == "species:iri:rat"
    assert terms[RAT].confidence == 1.0
    assert terms[RAT].evidence == {"species": RAT}
    assert RODENTIA not in terms
    assert terms["https://identifiers.org/RRID:RGD_13508588"].rule == "strain:Wistar"
    subject = terms[ONL + "ontoneurolog-preclinical.owl#non-human-subject"]
    assert subject.rule == "level:subject+non-human"


def test_species_label_and_curie(vocab: Vocabulary) -> None:
    annotator = Annotator(vocab)
    by_label = annotator.propose(
        record(subject=SubjectInfo(species=Concept(iri="urn:x", label="Mus musculus")))
    )
    assert [t.label for t in by_label if t.scheme == "species"] == ["mouse"]
    by_curie = annotator.propose(
        record(subject=SubjectInfo(species=Concept(iri="NCBITaxon:10116", label="rat")))
    )
    assert {t.rule for t in by_curie if t.iri == RAT} == {"species:iri:rat"}


def test_level_license_and_free_text_anatomy(vocab: Vocabulary) -> None:
    annotator = Annotator(vocab)
    derived = by_iri(annotator.propose(record(level=Level.derived, license="CC BY 4.0")))
    assert ONL + "ontoneurolog-dataset-processing.owl#dataset-processing" in derived
    assert derived["http://spdx.org/licenses/CC-BY-4.0"].evidence == {"license": "CC BY 4.0"}
    subject = by_iri(annotator.propose(record(level=Level.subject)))
    assert subject[ONL + "study-examination-subject.owl#subject"].rule == "level:subject"
    text = by_iri(
        annotator.propose(
            record(title="CA1 recordings", description="Dentate gyrus under isoflurane")
        )
    )
    assert text[OBO + "UBERON_0003881"].rule == "anatomy_text:title"
    assert text[OBO + "UBERON_0001885"].evidence == {"description": "Dentate gyrus"}
    assert text[OBO + "UBERON_0001885"].confidence == 0.6
    assert text[OBO + "CHEBI_6015"].rule == "anaesthesia_text:description"


def test_rejected_terms_stay_rejected_and_manual_terms_are_kept(vocab: Vocabulary) -> None:
    annotator = Annotator(vocab)
    rec = record(imaging=Imaging(modality="MR", series_description="t1_mprage_sag"))
    first = annotator.annotate(rec, [])
    rejected = by_iri(first)[MPRAGE].model_copy(update={"status": "rejected"})
    manual = Term(iri=OBO + "UBERON_0000955", label="brain", scheme="anatomy", status="accepted")
    stale = Term(iri=T2, label="T2-weighted", scheme="mri", rule="sequence_name:t2w")
    second = annotator.annotate(rec, [rejected, manual, stale])
    mprage_terms = [t for t in second if t.iri == MPRAGE]
    assert mprage_terms == [rejected]
    assert manual in second
    assert T2 not in by_iri(second)  # undecided old proposal replaced by this run's
    assert MR_IMAGE in by_iri(second)


def test_accepted_term_is_not_duplicated(vocab: Vocabulary) -> None:
    annotator = Annotator(vocab)
    rec = record(bids=BidsInfo(suffix="T1w"))
    accepted = annotator.propose(rec)[0].model_copy(update={"status": "accepted"})
    again = annotator.annotate(rec, [accepted])
    assert [t for t in again if t.iri == accepted.iri] == [accepted]


def test_diff_reports_added_removed_changed() -> None:
    a = Term(iri="http://x/a", label="A", scheme="mri", rule="r1", confidence=0.9)
    b = Term(iri="http://x/b", label="B", scheme="mri", rule="r1")
    b2 = b.model_copy(update={"confidence": 0.5})
    c = Term(iri="http://x/c", label="C", scheme="mri")
    result = diff([a, b], [b2, c])
    assert result.added == [c]
    assert result.removed == [a]
    assert result.changed == [(b, b2)]
    assert not result.is_empty
    assert diff([a], [a]).is_empty


def test_custom_rule_table_and_rule_rows(vocab: Vocabulary) -> None:
    rule = Rule("demo:ct", ("modality",), equals("modality", "CT"), MR_IMAGE, 0.3)
    annotator = Annotator(vocab, rules=[rule])
    terms = annotator.propose(record(imaging=Imaging(modality="ct")))
    assert [(t.rule, t.confidence, t.evidence) for t in terms] == [
        ("demo:ct", 0.3, {"modality": "ct"})
    ]
    rows = {r.name: r for r in Annotator(vocab).rule_table()}
    assert rows["sequence_name:mprage"].fields == ("series_description", "sequence")
    assert rows["sequence_name:mprage"].label == "MPRAGE"
    assert rows["bids_suffix:T1w"].iri == T1
    assert Annotator(vocab).version == vocab.version
