"""The vocabulary bundle loaded into memory, with is-a and part-of closures precomputed.

Every `ontologies/data/*.ttl` file holds one or more `skos:ConceptScheme`s (with source,
version and licence) and their concepts. They are parsed with rdflib into one graph once
per process (on first use, never at import time); the closures that query expansion and
hierarchical facets need are computed at load so that each lookup is a dictionary read.
`Vocabulary.version` hashes the files so re-annotation can tell when vocabularies changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from catalog.domain.memo import Memo
from ontologies.errors import UnknownConceptError, VocabularyError
from ontologies.iris import PART_OF

DATA_DIR = Path(__file__).resolve().parent / "data"

_PART_OF = URIRef(PART_OF)


@dataclass(frozen=True)
class SchemeInfo:
    """One concept scheme: short name (used as `Term.scheme`), IRI, provenance and licence."""

    name: str
    iri: str
    source: str
    version: str
    license: str
    title: str = ""
    file: str = ""


@dataclass(frozen=True)
class Concept:
    """A SKOS concept with its labels and direct links; closures live on `Vocabulary`."""

    iri: str
    label: str
    scheme: str
    alt_labels: tuple[str, ...] = ()
    hidden_labels: tuple[str, ...] = ()
    notations: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    part_of: tuple[str, ...] = ()
    exact_match: tuple[str, ...] = ()
    close_match: tuple[str, ...] = ()
    definition: str | None = None

    @property
    def all_labels(self) -> tuple[str, ...]:
        """Preferred label first, then alternative and hidden labels and notations."""
        return (self.label, *self.alt_labels, *self.hidden_labels, *self.notations)


@dataclass
class _Closures:
    """Descendant and ancestor sets, per edge kind, for every concept."""

    narrower_isa: dict[str, frozenset[str]] = field(default_factory=dict)
    narrower_all: dict[str, frozenset[str]] = field(default_factory=dict)
    broader_isa: dict[str, tuple[str, ...]] = field(default_factory=dict)
    broader_all: dict[str, tuple[str, ...]] = field(default_factory=dict)


class Vocabulary:
    """All shipped vocabularies: concept lookup, closures, schemes and a content hash."""

    _shelf: _Shelf  # set below: the loaded vocabularies, owned by the class

    def __init__(
        self,
        graph: Graph,
        concepts: Mapping[str, Concept],
        schemes: Mapping[str, SchemeInfo],
        version: str,
    ) -> None:
        self.graph = graph
        self._concepts = dict(concepts)
        self._schemes = dict(schemes)
        self.version = version
        self._closures = _compute_closures(self._concepts)
        self._matches = _index_matches(self._concepts)
        # schemes with part-of edges, asked once per term of every indexed document
        self._part_of_schemes = frozenset(c.scheme for c in self._concepts.values() if c.part_of)
        self._memos: dict[str, Memo] = {}
        self._memo_lock = threading.Lock()

    def memo(self, name: str, max_size: int = 4096) -> Memo:
        """A bounded memo owned by this vocabulary (so keyed by its version): label
        matchers, expansions and recognised concepts are derived from it and go with it."""
        with self._memo_lock:
            memo = self._memos.get(name)
            if memo is None:
                memo = self._memos[name] = Memo(max_size, f"vocabulary {name}")
            return memo

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def load(cls, data_dir: Path | None = None) -> Vocabulary:
        """The vocabulary of `data_dir` (default: the shipped bundle), cached per process."""
        if data_dir is None:
            default = cls._shelf.default
            if default is not None:
                return default  # the hot path: no filesystem call per query
            default = cls._shelf.default = cls._shelf.load(DATA_DIR.resolve())
            return default
        return cls._shelf.load(Path(data_dir).resolve())

    @classmethod
    def clear_cache(cls) -> None:
        """Forget loaded vocabularies (after the data files changed on disk); every memo
        derived from them (matchers, expansions, recognised concepts) goes with them."""
        cls._shelf.clear()

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> Vocabulary:
        """Parse and check the given Turtle files (uncached)."""
        paths = sorted(Path(p) for p in paths)
        if not paths:
            raise VocabularyError("no vocabulary files found: expected ontologies/data/*.ttl")
        digest = hashlib.sha256()
        graph = Graph()
        concepts: dict[str, Concept] = {}
        schemes: dict[str, SchemeInfo] = {}
        for path in paths:
            data = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + data + b"\0")
            part = _parse(path, data)
            file_schemes = _read_schemes(part, path.name)
            _merge_schemes(schemes, file_schemes, path.name)
            graph += part
        by_iri = {info.iri: info.name for info in schemes.values()}
        for concept in _read_concepts(graph, by_iri):
            concepts[concept.iri] = concept
        return cls(graph, concepts, schemes, "sha256:" + digest.hexdigest())

    # -- lookups ------------------------------------------------------------------------------

    def __contains__(self, iri: object) -> bool:
        return iri in self._concepts

    def __len__(self) -> int:
        return len(self._concepts)

    def concepts(self, scheme: str | None = None) -> list[Concept]:
        """All concepts, or those of one scheme, sorted by IRI."""
        found = (c for c in self._concepts.values() if scheme is None or c.scheme == scheme)
        return sorted(found, key=lambda c: c.iri)

    def concept(self, iri: str) -> Concept:
        """The concept with this IRI; `UnknownConceptError` if no vocabulary defines it."""
        try:
            return self._concepts[iri]
        except KeyError:
            raise UnknownConceptError(
                f"no loaded vocabulary defines the concept {iri!r}; "
                "check the IRI or add it to a file in ontologies/data/"
            ) from None

    def get(self, iri: str) -> Concept | None:
        """The concept, or None when unknown."""
        return self._concepts.get(iri)

    def label(self, iri: str) -> str:
        """Preferred label; unknown IRIs get their last path segment, never an error."""
        concept = self._concepts.get(iri)
        if concept is not None:
            return concept.label
        return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]

    def scheme_of(self, iri: str) -> str:
        """Short name of the concept's scheme (`mri`, `species`, `anatomy`, ...)."""
        return self.concept(iri).scheme

    def schemes(self) -> list[SchemeInfo]:
        """Every loaded scheme with its source, version and licence, sorted by name."""
        return sorted(self._schemes.values(), key=lambda s: s.name)

    def scheme(self, name: str) -> SchemeInfo:
        try:
            return self._schemes[name]
        except KeyError:
            known = ", ".join(sorted(self._schemes))
            raise UnknownConceptError(f"unknown concept scheme {name!r}; known: {known}") from None

    def scheme_uses_part_of(self, name: str) -> bool:
        """True when some concept of the scheme has a part-of edge (anatomy)."""
        return name in self._part_of_schemes

    # -- closures -----------------------------------------------------------------------------

    def narrower_closure(self, iri: str, include_part_of: bool = False) -> set[str]:
        """All concepts below `iri` (is-a, plus part-of if asked), excluding `iri` itself."""
        self.concept(iri)
        table = self._closures.narrower_all if include_part_of else self._closures.narrower_isa
        return set(table.get(iri, frozenset()))

    def broader_closure(self, iri: str, include_part_of: bool = False) -> list[str]:
        """Ancestors of `iri`, nearest first (breadth-first), excluding `iri` itself."""
        self.concept(iri)
        table = self._closures.broader_all if include_part_of else self._closures.broader_isa
        return list(table.get(iri, ()))

    def parents(self, iri: str, include_part_of: bool = False) -> tuple[str, ...]:
        """Direct parents that are loaded concepts."""
        concept = self.concept(iri)
        edges = concept.broader + (concept.part_of if include_part_of else ())
        return tuple(dict.fromkeys(p for p in edges if p in self._concepts))

    def matches(self, iri: str) -> set[str]:
        """IRIs linked to `iri` by skos:exactMatch/closeMatch, in either direction."""
        return set(self._matches.get(iri, ()))

    def index_by(self, predicate: str) -> dict[str, list[str]]:
        """Concept IRIs by the case-folded literal values of `predicate` (e.g. DICOM values)."""
        index: dict[str, list[str]] = {}
        for subject, value in self.graph.subject_objects(URIRef(predicate)):
            if isinstance(value, Literal) and str(subject) in self._concepts:
                index.setdefault(str(value).casefold(), []).append(str(subject))
        return {key: sorted(set(iris)) for key, iris in index.items()}

    def find_by_notation(self, notation: str, scheme: str | None = None) -> Concept | None:
        """The concept whose skos:notation equals `notation` (case-insensitive)."""
        wanted = notation.casefold()
        for concept in self.concepts(scheme):
            if any(n.casefold() == wanted for n in concept.notations):
                return concept
        return None


class _Shelf:
    """The vocabularies this process loaded, per data directory (at most `max_dirs`)."""

    def __init__(self, max_dirs: int = 4) -> None:
        self.max_dirs = max_dirs
        self.default: Vocabulary | None = None
        self._loaded: dict[Path, Vocabulary] = {}
        self._lock = threading.Lock()

    def load(self, data_dir: Path) -> Vocabulary:
        with self._lock:
            found = self._loaded.get(data_dir)
            if found is not None:
                return found
        if not data_dir.is_dir():
            raise VocabularyError(f"vocabulary directory {data_dir} does not exist")
        vocabulary = Vocabulary.from_files(data_dir.glob("*.ttl"))
        with self._lock:
            if len(self._loaded) >= self.max_dirs:
                self._loaded.pop(next(iter(self._loaded)))
            return self._loaded.setdefault(data_dir, vocabulary)

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
            self.default = None


Vocabulary._shelf = _Shelf()


# -- parsing -----------------------------------------------------------------------------------


def _parse(path: Path, data: bytes) -> Graph:
    graph = Graph()
    try:
        graph.parse(data=data, format="turtle", publicID=path.as_uri())
    except Exception as exc:  # rdflib raises several unrelated types
        raise VocabularyError(f"vocabulary file {path.name} is not valid Turtle: {exc}") from exc
    return graph


def _one(graph: Graph, subject: URIRef, predicate: URIRef) -> str | None:
    values = sorted(str(v) for v in graph.objects(subject, predicate))
    return values[0] if values else None


def _read_schemes(graph: Graph, file_name: str) -> list[SchemeInfo]:
    schemes = []
    for node in sorted(graph.subjects(RDF.type, SKOS.ConceptScheme)):
        name = _one(graph, node, SKOS.notation)
        source = " ".join(sorted(str(v) for v in graph.objects(node, DCTERMS.source)))
        version = _one(graph, node, OWL.versionInfo)
        license_iri = _one(graph, node, DCTERMS.license)
        missing = [
            label
            for label, value in (
                ("skos:notation", name),
                ("dct:source", source),
                ("owl:versionInfo", version),
                ("dct:license", license_iri),
            )
            if not value
        ]
        if missing:
            raise VocabularyError(
                f"concept scheme {node} in {file_name} lacks {', '.join(missing)}; "
                "every shipped scheme must record its name, source, version and licence"
            )
        title = _one(graph, node, DCTERMS.title) or name
        schemes.append(SchemeInfo(name, str(node), source, version, license_iri, title, file_name))
    if not schemes:
        raise VocabularyError(f"vocabulary file {file_name} declares no skos:ConceptScheme")
    return schemes


def _merge_schemes(into: dict[str, SchemeInfo], new: list[SchemeInfo], file_name: str) -> None:
    for info in new:
        if info.name in into:
            raise VocabularyError(
                f"scheme name {info.name!r} is declared twice ({into[info.name].file}, {file_name})"
            )
        into[info.name] = info


def _labels(graph: Graph, node: URIRef, predicate: URIRef) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in graph.objects(node, predicate)}))


def _iris(graph: Graph, node: URIRef, *predicates: URIRef) -> tuple[str, ...]:
    found = {str(v) for p in predicates for v in graph.objects(node, p) if isinstance(v, URIRef)}
    return tuple(sorted(found))


def _read_concepts(graph: Graph, scheme_names: Mapping[str, str]) -> Iterable[Concept]:
    for node in sorted(graph.subjects(RDF.type, SKOS.Concept)):
        pref = _labels(graph, node, SKOS.prefLabel)
        if len(pref) != 1:
            raise VocabularyError(
                f"concept {node} has {len(pref)} skos:prefLabel values; exactly one is required"
            )
        schemes = [scheme_names[s] for s in _iris(graph, node, SKOS.inScheme) if s in scheme_names]
        if len(schemes) != 1:
            raise VocabularyError(
                f"concept {node} must be skos:inScheme exactly one loaded scheme (found {schemes})"
            )
        yield Concept(
            iri=str(node),
            label=pref[0],
            scheme=schemes[0],
            alt_labels=_labels(graph, node, SKOS.altLabel),
            hidden_labels=_labels(graph, node, SKOS.hiddenLabel),
            notations=_labels(graph, node, SKOS.notation),
            broader=_iris(graph, node, SKOS.broader, RDFS.subClassOf),
            part_of=_iris(graph, node, _PART_OF),
            exact_match=_iris(graph, node, SKOS.exactMatch),
            close_match=_iris(graph, node, SKOS.closeMatch),
            definition=_one(graph, node, SKOS.definition),
        )


# -- closures ----------------------------------------------------------------------------------


def _children(concepts: Mapping[str, Concept], with_part_of: bool) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for concept in concepts.values():
        parents = concept.broader + (concept.part_of if with_part_of else ())
        for parent in parents:
            if parent in concepts:
                children.setdefault(parent, []).append(concept.iri)
    return children


def _reach(start: str, edges: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """Breadth-first reachable nodes from `start` (nearest first, no repeats, cycle-safe)."""
    seen: dict[str, None] = {}
    queue = deque(edges.get(start, ()))
    while queue:
        node = queue.popleft()
        if node == start or node in seen:
            continue
        seen[node] = None
        queue.extend(edges.get(node, ()))
    return tuple(seen)


def _compute_closures(concepts: Mapping[str, Concept]) -> _Closures:
    closures = _Closures()
    for with_part_of in (False, True):
        down = _children(concepts, with_part_of)
        up = {
            c.iri: [p for p in c.broader + (c.part_of if with_part_of else ()) if p in concepts]
            for c in concepts.values()
        }
        narrower = closures.narrower_all if with_part_of else closures.narrower_isa
        broader = closures.broader_all if with_part_of else closures.broader_isa
        for iri in concepts:
            narrower[iri] = frozenset(_reach(iri, down))
            broader[iri] = _reach(iri, up)
    return closures


def _index_matches(concepts: Mapping[str, Concept]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for concept in concepts.values():
        for other in concept.exact_match + concept.close_match:
            index.setdefault(concept.iri, set()).add(other)
            index.setdefault(other, set()).add(concept.iri)
    return index
