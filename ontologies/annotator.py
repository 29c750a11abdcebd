"""Rule-based annotation: normalized record metadata -> ontology terms with rule and evidence.

The `Annotator` runs the rule table of `ontologies.rules` over a `RecordCreate` and returns
`Term`s (IRI, label, scheme, rule, evidence, confidence). Two principles:

* **Most specific wins.** When a rule proposes a concept and another proposes one of its
  ancestors in the same scheme with no higher confidence (e.g. "t1" and "mprage" in the
  same series description), only the specific one is kept: query expansion reaches it from
  the ancestor, so storing both would only double-count.
* **Curators have the last word.** Re-annotation keeps manual terms and every term whose
  status a curator set (accepted / rejected); a rejected concept is never proposed again.

`diff` reports what re-annotation changed, e.g. after a vocabulary update
(`Vocabulary.version` changes whenever a data file changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.domain.records import RecordCreate, Term
from ontologies.errors import VocabularyError
from ontologies.graph import Vocabulary
from ontologies.matcher import LabelMatcher
from ontologies.rules import AnyRule, Facts, Rule, TextRule, default_rules, record_facts

MANUAL_RULE = "manual"


@dataclass(frozen=True)
class RuleInfo:
    """One row of the rule table, for display (`imagora` docs, curator pages)."""

    name: str
    fields: tuple[str, ...]
    iri: str
    label: str
    confidence: float
    fallback: bool = False


@dataclass
class AnnotationDiff:
    """Terms added, removed, and changed (same IRI, different rule/confidence/evidence/status)."""

    added: list[Term] = field(default_factory=list)
    removed: list[Term] = field(default_factory=list)
    changed: list[tuple[Term, Term]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class Annotator:
    """Applies the rule table to records; one instance per vocabulary version."""

    def __init__(
        self, vocabulary: Vocabulary | None = None, rules: Sequence[AnyRule] | None = None
    ) -> None:
        self.vocabulary = vocabulary if vocabulary is not None else Vocabulary.load()
        self.rules: list[AnyRule] = (
            list(rules) if rules is not None else default_rules(self.vocabulary)
        )
        unknown = [
            r.name for r in self.rules if isinstance(r, Rule) and r.iri not in self.vocabulary
        ]
        if unknown:
            raise VocabularyError(f"annotation rules point at unknown concepts: {unknown[:5]}")

    @property
    def version(self) -> str:
        """The vocabulary version the terms are computed with."""
        return self.vocabulary.version

    def rule_table(self) -> list[RuleInfo]:
        """The fixed-concept rules as rows (text rules resolve their concept from the text)."""
        return [
            RuleInfo(
                r.name, r.fields, r.iri, self.vocabulary.label(r.iri), r.confidence, r.fallback
            )
            for r in self.rules
            if isinstance(r, Rule)
        ]

    # -- proposing ---------------------------------------------------------------------------

    def propose(self, record: RecordCreate) -> list[Term]:
        """Terms the rules derive from the record alone (no curator decisions applied)."""
        facts = record_facts(record)
        terms = self._apply(facts, fallback=False)
        terms += [t for t in self._apply(facts, fallback=True) if not self._settled(t, terms)]
        return _most_specific(_best_per_iri(terms), self.vocabulary)

    def _settled(self, guess: Term, terms: Sequence[Term]) -> bool:
        """True when a firmer rule already gave a concept of the scheme that is not merely
        an ancestor of the fallback guess (e.g. the name said T1: do not guess T2 from TR/TE)."""
        ancestors = set(self.vocabulary.broader_closure(guess.iri, include_part_of=True))
        return any(t.scheme == guess.scheme and t.iri not in ancestors for t in terms)

    def _apply(self, facts: Facts, fallback: bool) -> list[Term]:
        terms: list[Term] = []
        for rule in self.rules:
            if isinstance(rule, TextRule):
                if not fallback:
                    terms.extend(self._apply_text(rule, facts))
            elif rule.fallback == fallback:
                evidence = rule.predicate(facts)
                if evidence is not None:
                    terms.append(self._term(rule.iri, rule.name, rule.confidence, evidence))
        return terms

    def _apply_text(self, rule: TextRule, facts: Facts) -> list[Term]:
        matcher = LabelMatcher.for_vocabulary(self.vocabulary, rule.schemes)
        terms = []
        for name in rule.fields:
            for text in _texts(facts.get(name)):
                for hit in matcher.find(text):
                    terms.append(
                        self._term(
                            hit.concept.iri,
                            f"{rule.name}:{name}",
                            rule.confidence.get(name, 0.5),
                            {name: hit.text},
                        )
                    )
        return terms

    def _term(self, iri: str, rule: str, confidence: float, evidence: dict[str, str]) -> Term:
        concept = self.vocabulary.concept(iri)
        return Term(
            iri=iri,
            label=concept.label,
            scheme=concept.scheme,
            rule=rule,
            confidence=confidence,
            evidence=evidence,
        )

    # -- with curator decisions --------------------------------------------------------------

    def annotate(self, record: RecordCreate, existing: Sequence[Term] = ()) -> list[Term]:
        """Curator-kept terms first, then new proposals for concepts not already decided.

        Kept: manual terms (any status) and terms a curator accepted or rejected. Existing
        proposed (rule-made, undecided) terms are replaced by this run's proposals.
        """
        kept = [t for t in existing if t.rule == MANUAL_RULE or t.status != "proposed"]
        decided = {t.iri for t in kept}
        fresh = [t for t in self.propose(record) if t.iri not in decided]
        return kept + fresh


def diff(old_terms: Sequence[Term], new_terms: Sequence[Term]) -> AnnotationDiff:
    """What changed between two annotations of the same record, keyed by concept IRI."""
    old = {t.iri: t for t in old_terms}
    new = {t.iri: t for t in new_terms}
    result = AnnotationDiff(
        added=[new[i] for i in sorted(new.keys() - old.keys())],
        removed=[old[i] for i in sorted(old.keys() - new.keys())],
    )
    for iri in sorted(old.keys() & new.keys()):
        if _signature(old[iri]) != _signature(new[iri]):
            result.changed.append((old[iri], new[iri]))
    return result


def _signature(term: Term) -> tuple[Any, ...]:
    return (term.label, term.scheme, term.rule, term.confidence, term.evidence, term.status)


def _texts(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return [str(value)]


def _best_per_iri(terms: Sequence[Term]) -> list[Term]:
    """One term per IRI: the most confident (first produced on ties)."""
    best: dict[str, Term] = {}
    for term in terms:
        current = best.get(term.iri)
        if current is None or term.confidence > current.confidence:
            best[term.iri] = term
    return list(best.values())


def _most_specific(terms: Sequence[Term], vocab: Vocabulary) -> list[Term]:
    """Drop a term when a more specific term of its scheme is at least as confident."""
    kept = []
    for term in terms:
        below = vocab.narrower_closure(term.iri, include_part_of=True)
        if any(
            other.iri in below
            and other.scheme == term.scheme
            and other.confidence >= term.confidence
            for other in terms
        ):
            continue
        kept.append(term)
    return kept
