"""Find concept labels, synonyms and abbreviations inside free text.

One compiled regular expression per vocabulary (built lazily, cached on the `Vocabulary`)
holds every label of the recognisable schemes, longest first, with word boundaries on both
sides. Spaces, hyphens and underscores inside a label match any run of those separators, or
none, so "T1-weighted", "t1 weighted" and "MP-RAGE"/"MPRAGE" all hit. The matched text is
then normalised to find the concept(s); a phrase that names several concepts (e.g.
"hippocampus": Ammon's horn and the hippocampal formation) yields all of them, except
concepts already covered by an exact/close match in a higher-priority scheme.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ontologies.graph import Concept, Vocabulary

#: Schemes searched by default, in priority order (earlier wins a shared label).
RECOGNISED_SCHEMES: tuple[str, ...] = (
    "mri",
    "anatomy",
    "species",
    "strain",
    "anaesthesia",
    "modality",
    "license",
)

_SEPARATORS = re.compile(r"[\s\-_]+")
_MIN_LABEL_LENGTH = 2
# Label kinds: preferred labels outrank synonyms, which outrank hidden labels and notations.
_KIND_PREF, _KIND_ALT, _KIND_HIDDEN = 0, 1, 2


def normalise(text: str) -> str:
    """The lookup key of a label: case-folded, separators removed."""
    return _SEPARATORS.sub("", text.casefold())


@dataclass(frozen=True)
class LabelHit:
    """One concept named by a stretch of text."""

    start: int
    end: int
    text: str
    concept: Concept
    matched_label: str


@dataclass
class _Entry:
    iri: str
    label: str
    kind: int
    scheme_rank: int
    #: Every label of the concept with this lookup key ("MPRAGE", "MP-RAGE").
    surfaces: list[str]

    def surface(self, text: str) -> str:
        """The label spelled like `text`, else the best-ranked label."""
        wanted = text.casefold()
        return next((s for s in self.surfaces if s.casefold() == wanted), self.label)


class LabelMatcher:
    """Leftmost-longest label matching over a fixed set of schemes."""

    def __init__(self, vocabulary: Vocabulary, schemes: Iterable[str]) -> None:
        self._vocabulary = vocabulary
        self._schemes = tuple(schemes)
        self._entries: dict[str, list[_Entry]] = {}
        self._named: dict[str, list[tuple[Concept, str]]] = {}
        for rank, scheme in enumerate(self._schemes):
            for concept in vocabulary.concepts(scheme):
                self._add_concept(concept, rank)
        patterns = sorted(
            {
                _label_pattern(label)
                for entries in self._entries.values()
                for entry in entries
                for label in entry.surfaces
            },
            key=lambda p: (-len(p), p),
        )
        body = "|".join(patterns) or r"(?!x)x"
        self._regex = re.compile(rf"(?<![0-9A-Za-z])(?:{body})(?![0-9A-Za-z])", re.IGNORECASE)
        # The same alternation, lower-cased and case-sensitive, for ASCII text: matching
        # lower-cased text is 3x faster than IGNORECASE (which folds every character it
        # tries). Equivalent only when every label is ASCII too, hence the condition.
        self._ascii_regex = (
            re.compile(rf"(?<![0-9a-z])(?:{body.lower()})(?![0-9a-z])") if body.isascii() else None
        )

    @classmethod
    def for_vocabulary(
        cls, vocabulary: Vocabulary, schemes: Iterable[str] = RECOGNISED_SCHEMES
    ) -> LabelMatcher:
        """A matcher cached on the vocabulary per scheme selection."""
        schemes = tuple(schemes)
        return vocabulary.memo("matchers", 16).get(schemes, lambda: cls(vocabulary, schemes))

    def _add_concept(self, concept: Concept, rank: int) -> None:
        labelled = [(concept.label, _KIND_PREF)]
        labelled += [(label, _KIND_ALT) for label in concept.alt_labels]
        labelled += [(label, _KIND_HIDDEN) for label in concept.hidden_labels + concept.notations]
        for label, kind in labelled:
            key = normalise(label)
            if len(key) < _MIN_LABEL_LENGTH:
                continue
            bucket = self._entries.setdefault(key, [])
            same = next((e for e in bucket if e.iri == concept.iri), None)
            if same is None:
                bucket.append(_Entry(concept.iri, label, kind, rank, [label]))
            elif label not in same.surfaces:
                same.surfaces.append(label)

    def find(self, text: str) -> Iterator[LabelHit]:
        """Every recognised phrase in `text`, left to right, longest match at each position."""
        if self._ascii_regex is not None and text.isascii():
            matches = self._ascii_regex.finditer(text.lower())  # same length, same spans
        else:
            matches = self._regex.finditer(text)
        for match in matches:
            start, end = match.span()
            phrase = text[start:end]
            for concept, label in self._concepts_named(phrase):
                yield LabelHit(
                    start=start, end=end, text=phrase, concept=concept, matched_label=label
                )

    def _concepts_named(self, phrase: str) -> list[tuple[Concept, str]]:
        """(concept, label as matched) for each concept a phrase names; memoised, since
        queries keep naming the same few phrases ("brain" in "brain scan 17")."""
        found = self._named.get(phrase)
        if found is None:
            entries = self._resolve(self._entries.get(normalise(phrase), []))
            found = [(self._vocabulary.concept(e.iri), e.surface(phrase)) for e in entries]
            if len(self._named) >= 10_000:  # a bound, against a stream of distinct phrases
                self._named.clear()
            self._named[phrase] = found
        return found

    def _resolve(self, entries: list[_Entry]) -> list[_Entry]:
        """Order candidates and drop those cross-linked to a better-ranked candidate."""
        ordered = sorted(entries, key=lambda e: (e.scheme_rank, e.kind, e.iri))
        kept: list[_Entry] = []
        for entry in ordered:
            linked = self._vocabulary.matches(entry.iri)
            if any(k.iri in linked and k.scheme_rank < entry.scheme_rank for k in kept):
                continue
            kept.append(entry)
        return kept


def _label_pattern(label: str) -> str:
    parts = [re.escape(p) for p in _SEPARATORS.split(label.strip()) if p]
    return r"[\s\-_]*".join(parts)
