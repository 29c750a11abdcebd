"""Help for a search that found nothing: "did you mean", and a broader concept.

For each conjunct that alone finds nothing:

- a word gets the closest words the index holds (same first letter; Damerau-Levenshtein
  distance 1, or 2 for words of 6+ letters), and the closest labels of the
  vocabularies, whichever finds the most records (`hipocampus` -> hippocampus,
  `rodnet` -> rodent);
- a recognised concept with no records gets its broader concept ("no records for
  Wistar; its broader concept rat has 12").

- a spelling that corrects to a vocabulary label with no records is still offered
  (`hipocampus` -> hippocampus, counted 0), followed by what the corrected query
  suggests in turn: the nearest broader concept with records (brain (13)).

Each suggestion is the whole query with that part replaced, counted, so a researcher
sees what a click would give. Visibility applies: counts never include what the
caller may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from catalog.domain.records import Suggestion
from catalog.domain.search import (
    ConceptClause,
    Conjunct,
    FieldAtom,
    RangeAtom,
    SearchQuery,
    TextAtom,
)
from catalog.search.base import SearchBackend

#: (concept IRI) -> its broader concepts as (iri, label), from the ontology layer.
Broader = Callable[[str], list[tuple[str, str]]]
#: (query text) -> the service's reading of it (conjuncts with concepts), for following
#: a correction that finds nothing on to its broader concept.
Reader = Callable[[str], SearchQuery]
MAX_SUGGESTIONS = 3
#: How far up the broader chain a concept without records looks for one with records.
BROADER_LEVELS = 4


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count 1), capped at
    `limit` + 1 so long, unrelated words cost little."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_distance(word: str) -> int:
    return 2 if len(word) >= 6 else 1


class Suggester:
    """Builds the suggestions of one empty search (see the module docstring)."""

    def __init__(
        self,
        backend: SearchBackend,
        count: Callable[[str], int],
        labels: Callable[[], Sequence[str]] | None = None,
        broader: Broader | None = None,
        read: Reader | None = None,
    ) -> None:
        self.backend = backend
        self.count = count
        self.labels = labels
        self.broader = broader
        self.read = read

    def suggest(self, query: SearchQuery) -> list[Suggestion]:
        """Suggestions for a query (with the service's conjuncts) that found nothing."""
        groups = self._groups(query, follow=self.read is not None)
        ranked = sorted(groups, key=lambda group: -max(s.count or 0 for s in group))
        shown: list[Suggestion] = []
        for group in ranked:  # a correction and what it leads on to stay together
            if len(shown) >= MAX_SUGGESTIONS:
                break
            shown += group
        return shown

    def _groups(self, query: SearchQuery, follow: bool) -> list[list[Suggestion]]:
        conjuncts = list(query.conjuncts or ())
        words = [typed(c) for c in conjuncts]
        groups: list[list[Suggestion]] = []
        for at, conjunct in enumerate(conjuncts):
            if conjunct.negated or self._count(query, [conjunct]):
                continue
            for replacement, reason, spelling in self._alternatives(conjunct, words[at], query):
                text = " ".join([*words[:at], replacement, *words[at + 1 :]])
                group = self._counted(text, reason, follow and spelling)
                if group:
                    groups.append(group)
        return groups

    def _counted(self, text: str, reason: str, follow: bool) -> list[Suggestion]:
        """The suggestion with its count (the whole service reads it, concepts and all).
        One that finds nothing is dropped, unless it is a correction (`follow`) whose own
        reading leads on to suggestions with records: then both are kept, in that order."""
        count = self.count(text)
        if count:
            return [Suggestion(text=text, reason=reason, count=count)]
        if not follow or self.read is None:
            return []
        onward = [s for group in self._groups(self.read(text), follow=False) for s in group]
        if not onward:
            return []
        return [Suggestion(text=text, reason=reason, count=0), *onward]

    def _alternatives(
        self, conjunct: Conjunct, typed: str, query: SearchQuery
    ) -> list[tuple[str, str, bool]]:
        """(replacement, reason, is a spelling correction) for one empty conjunct."""
        concepts = [a for a in conjunct.atoms if isinstance(a, ConceptClause) and a.direct]
        if concepts and self.broader is not None:
            return [(t, why, False) for t, why in self._broader_with_records(concepts[0])]
        words = [a for a in conjunct.atoms if isinstance(a, TextAtom) and a.kind == "word"]
        if len(words) != 1:
            return []
        if len(conjunct.atoms) > 1 and not concepts:  # a fact such as 3T: nothing to spell
            return []
        return [
            (candidate, f'"{typed}" looks like "{candidate}"', True)
            for candidate in self._close_words(words[0].text.lower(), query)
        ]

    def _broader_with_records(self, concept: ConceptClause) -> list[tuple[str, str]]:
        """The nearest broader concepts that the caller can find records for: one level
        up first, then the next (hippocampus has no records; the brain has)."""
        assert self.broader is not None
        level = [(concept.iris[0], concept.label)]
        seen = {concept.iris[0]}
        for _ in range(BROADER_LEVELS):
            above = [
                (iri, label)
                for current, _ in level
                for iri, label in self.broader(current)
                if iri not in seen
            ]
            seen.update(iri for iri, _ in above)
            with_records = [label for _, label in above if self.count(label)]
            if with_records:
                return [
                    (label, f"no records for {concept.label}; its broader concept is {label}")
                    for label in with_records[:2]
                ]
            level = above
        return []

    def _close_words(self, word: str, query: SearchQuery) -> list[str]:
        limit = allowed_distance(word)
        scored: dict[str, tuple[int, int]] = {}
        terms = self._index_terms(word, query)
        for term, count in terms.items():
            distance = edit_distance(word, term, limit)
            if 0 < distance <= limit:
                scored[term] = (distance, -count)
        for label in self.labels() if self.labels else []:
            folded = label.lower()
            distance = edit_distance(word, folded, limit)
            if 0 < distance <= limit:
                scored.setdefault(folded, (distance, 0))
        ranked = sorted(scored, key=lambda t: (scored[t], t))
        return ranked[:MAX_SUGGESTIONS]

    def _index_terms(self, word: str, query: SearchQuery) -> dict[str, int]:
        suggest = getattr(self.backend, "suggest_terms", None)
        if suggest is None:
            return {}
        return dict(suggest([word], query.reader_keys))

    def _count(self, query: SearchQuery, conjuncts: list[Conjunct]) -> int:
        probe = replace(query, conjuncts=tuple(conjuncts), page=1, size=0, with_facets=False)
        probe.with_term_counts = False
        return self.backend.search(probe).total


def typed(conjunct: Conjunct) -> str:
    """A query-language form of a conjunct (what the user typed, near enough)."""
    if conjunct.typed:
        return conjunct.typed
    parts = [typed_atom(a) for a in conjunct.atoms]
    parts = [p for p in dict.fromkeys(parts) if p]
    text = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return f"-{text}" if conjunct.negated else text


def typed_atom(atom: object) -> str:
    if isinstance(atom, TextAtom):
        if atom.kind == "prefix":
            return f"{atom.text}*"
        return f'"{atom.text}"' if atom.kind == "phrase" else atom.text
    if isinstance(atom, RangeAtom):
        low = "*" if atom.low is None else f"{atom.low:g}"
        high = "*" if atom.high is None else f"{atom.high:g}"
        return f"{atom.field}:[{low} TO {high}]"
    if isinstance(atom, FieldAtom):
        value = atom.values[0]
        return f'{atom.field}:"{value}"' if " " in value else f"{atom.field}:{value}"
    return ""
