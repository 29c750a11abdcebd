"""How a search is understood: syntax, then concepts and imaging facts inside conjuncts.

`parse_query` (catalog.search.syntax) splits the text into conjuncts. This module then
reads each conjunct as a researcher meant it:

- a run of plain words that names a concept ("rat", "resting state", "T1-weighted")
  becomes ONE conjunct: the words as text OR the concept OR its narrower concepts, so
  ``rat brain`` is (rat-ish) AND (brain-ish), never rat OR brain;
- a field strength typed as words (``3T``, ``3 T``, ``9.4T``, ``7 tesla``) is the
  nominal field strength (or the words as text); ``MRI``, ``PET``, ``CT`` the modality;
- ``field:value`` values are read like facet values: ``species:rat`` is the rat concept
  and its strains, ``field_strength:3T`` is 3, ``manufacturer:G.E.`` is GE.

The result carries the concept clauses (for the hits' explanations) and one line in
plain words ("rat AND brain AND field strength 3 T (2.8-3.2 T)"): concept labels, never
IRIs or rule ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from catalog.domain.imaging import (
    MODALITY_LABELS,
    MODALITY_WORDS,
    describe_strength,
    normalise_vendor,
    strength_in_words,
    strength_value,
)
from catalog.domain.search import (
    DATE_FIELDS,
    FACET_FIELDS,
    NUMERIC_FIELDS,
    Atom,
    ConceptClause,
    Conjunct,
    FieldAtom,
    RangeAtom,
    TextAtom,
)
from catalog.search.syntax import parse_query


@dataclass(frozen=True)
class Phrase:
    """A concept named by the characters `start:end` of a text, with its clauses."""

    start: int
    end: int
    clauses: tuple[ConceptClause, ...]


#: (text, exact) -> the concepts named in it (the ontology layer provides it).
PhraseFinder = Callable[[str, bool], Sequence[Phrase]]
#: A species name -> the IRIs a species filter accepts (the concept and narrower ones).
SpeciesFinder = Callable[[str], tuple[str, ...]]


@dataclass
class Understood:
    conjuncts: tuple[Conjunct, ...]
    concepts: list[ConceptClause] = field(default_factory=list)
    text: str = ""


class QueryReader:
    """Reads query text into conjuncts (see the module docstring)."""

    def __init__(
        self, phrases: PhraseFinder | None = None, species: SpeciesFinder | None = None
    ) -> None:
        self.phrases = phrases
        self.species = species

    def read(self, text: str, exact: bool = False) -> Understood:
        parsed = parse_query(text) if text.strip() else []
        conjuncts: list[Conjunct] = []
        run: list[str] = []
        for conjunct in parsed:
            if _plain_word(conjunct):
                run.append(conjunct.atoms[0].text)  # type: ignore[union-attr]
                continue
            conjuncts.extend(self._run(run, exact))
            run = []
            conjuncts.append(self._single(conjunct, exact))
        conjuncts.extend(self._run(run, exact))
        concepts = [
            atom
            for c in conjuncts
            if not c.negated
            for atom in c.atoms
            if isinstance(atom, ConceptClause)
        ]
        line = " AND ".join(c.understood for c in conjuncts if c.understood)
        return Understood(tuple(conjuncts), concepts, line)

    # -- runs of plain words --------------------------------------------------------

    def _run(self, words: list[str], exact: bool) -> list[Conjunct]:
        if not words:
            return []
        starts, joined = _offsets(words)
        found = self._concept_spans(joined, starts, words, exact)
        conjuncts: list[Conjunct] = []
        at = 0
        while at < len(words):
            fact = self._fact(words, at)
            if fact is not None:
                conjunct, used = fact
                conjuncts.append(conjunct)
                at += used
                continue
            if at in found:
                end, clauses = found[at]
                conjuncts.append(_concept_conjunct(" ".join(words[at:end]), clauses))
                at = end
                continue
            conjuncts.append(_text_conjunct(TextAtom("word", words[at])))
            at += 1
        return conjuncts

    def _concept_spans(
        self, joined: str, starts: list[int], words: list[str], exact: bool
    ) -> dict[int, tuple[int, tuple[ConceptClause, ...]]]:
        """First word index -> (end word index, clauses) of each concept whose span is
        made of whole words."""
        if self.phrases is None:
            return {}
        ends = [start + len(word) for start, word in zip(starts, words, strict=True)]
        found: dict[int, tuple[int, tuple[ConceptClause, ...]]] = {}
        for phrase in self.phrases(joined, exact):
            if phrase.start in starts and phrase.end in ends:
                first, last = starts.index(phrase.start), ends.index(phrase.end)
                if first not in found or found[first][0] < last + 1:
                    found[first] = (last + 1, phrase.clauses)
        return found

    def _fact(self, words: list[str], at: int) -> tuple[Conjunct, int] | None:
        strength = strength_in_words(words, at)
        if strength is not None:
            nominal, used = strength
            typed = " ".join(words[at : at + used])
            atoms: tuple[Atom, ...] = (
                FieldAtom("field_strength", (strength_value(nominal),)),
                TextAtom("phrase" if used > 1 else "word", typed),
            )
            return Conjunct(atoms, understood=describe_strength(nominal), typed=typed), used
        modality = MODALITY_WORDS.get(words[at].lower())
        if modality is not None:
            label = MODALITY_LABELS.get(modality, modality)
            atoms = (FieldAtom("modality", (modality,)), TextAtom("word", words[at]))
            return Conjunct(atoms, understood=f"modality {label}", typed=words[at]), 1
        return None

    # -- other conjuncts ------------------------------------------------------------

    def _single(self, conjunct: Conjunct, exact: bool) -> Conjunct:
        from catalog.services.suggestions import typed as typed_form

        atoms: list[Atom] = []
        parts: list[str] = []
        for atom in conjunct.atoms:
            more, said = self._atom(atom, exact)
            atoms.extend(more)
            parts.append(said)
        line = " OR ".join(parts)
        if len(parts) > 1:
            line = f"({line})"
        if conjunct.negated:
            line = f"NOT {line}"
        return Conjunct(tuple(dict.fromkeys(atoms)), conjunct.negated, line, typed_form(conjunct))

    def _atom(self, atom: Atom, exact: bool) -> tuple[list[Atom], str]:
        if isinstance(atom, FieldAtom):
            read = self._field(atom)
            return [read], describe_atom(read)
        if isinstance(atom, RangeAtom):
            return [atom], describe_atom(atom)
        if not isinstance(atom, TextAtom) or atom.kind == "prefix":
            return [atom], describe_atom(atom)
        words = atom.text.split()
        fact = self._fact(words, 0)
        if fact is not None and fact[1] == len(words):
            return [*fact[0].atoms], fact[0].understood
        for phrase in self.phrases(atom.text, exact) if self.phrases else []:
            if phrase.start == 0 and phrase.end == len(atom.text):
                return [atom, *phrase.clauses], _concept_words(atom.text, phrase.clauses)
        return [atom], describe_atom(atom)

    def _field(self, atom: FieldAtom) -> FieldAtom:
        """A typed facet value as the index holds it (species concept, nominal strength,
        one vendor name, modality code)."""
        values = list(atom.values)
        for value in atom.values:
            if atom.field == "species" and self.species is not None:
                values += self.species(value)
            elif atom.field == "field_strength":
                strength = strength_in_words(value.split(), 0)
                if strength is not None:
                    values.append(strength_value(strength[0]))
            elif atom.field == "manufacturer":
                values.append(normalise_vendor(value) or value)
            elif atom.field == "modality":
                values.append(MODALITY_WORDS.get(value.lower(), value))
        return FieldAtom(atom.field, tuple(dict.fromkeys(values)))


def _plain_word(conjunct: Conjunct) -> bool:
    if conjunct.negated or len(conjunct.atoms) != 1:
        return False
    atom = conjunct.atoms[0]
    return isinstance(atom, TextAtom) and atom.kind == "word"


def _offsets(words: list[str]) -> tuple[list[int], str]:
    starts, at = [], 0
    for word in words:
        starts.append(at)
        at += len(word) + 1
    return starts, " ".join(words)


def _text_conjunct(atom: TextAtom) -> Conjunct:
    return Conjunct((atom,), understood=describe_atom(atom), typed=atom.text)


def _concept_conjunct(words: str, clauses: tuple[ConceptClause, ...]) -> Conjunct:
    kind = "phrase" if " " in words else "word"
    atoms: tuple[Atom, ...] = (TextAtom(kind, words), *clauses)  # type: ignore[arg-type]
    return Conjunct(atoms, understood=_concept_words(words, clauses), typed=words)


def _concept_words(words: str, clauses: Sequence[ConceptClause]) -> str:
    """ "rat (concept Rattus norvegicus, with 3 narrower)": the words as text, or the
    concept, or a narrower one."""
    direct = [c for c in clauses if c.direct]
    label = direct[0].label if direct else words
    narrower = sum(len(c.iris) for c in clauses if not c.direct)
    more = f", with {narrower} narrower" if narrower else ""
    if label.casefold() == words.casefold():
        return f"{words} (concept{more})"
    return f"{words} (concept {label}{more})"


def describe_atom(atom: Atom) -> str:
    """One atom in plain words."""
    if isinstance(atom, TextAtom):
        if atom.kind == "prefix":
            return f"words starting with {atom.text}"
        return f'"{atom.text}"' if atom.kind == "phrase" else atom.text
    if isinstance(atom, FieldAtom):
        label = FACET_FIELDS.get(atom.field, atom.field)
        return f"{label.lower()} {' or '.join(atom.values[:1])}"
    if isinstance(atom, RangeAtom):
        return _describe_range(atom)
    return atom.label


def _describe_range(atom: RangeAtom) -> str:
    label, unit = NUMERIC_FIELDS[atom.field]

    def show(value: float) -> str:
        if atom.field in DATE_FIELDS:
            return date.fromordinal(int(value)).isoformat()
        return f"{value:g}{(' ' + unit) if unit else ''}"

    if atom.low is not None and atom.high is not None:
        if atom.low == atom.high:
            return f"{label} {show(atom.low)}"
        return f"{label} {show(atom.low)}\u2013{show(atom.high)}"
    if atom.low is not None:
        return f"{label} ≥ {show(atom.low)}"
    return f"{label} ≤ {show(atom.high)}"  # type: ignore[arg-type]
