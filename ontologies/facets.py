"""Hierarchical facets: roll flat per-concept counts up a scheme's broader links.

The search backend counts records per directly annotated IRI; `facet_tree` turns those
counts into a tree (contrast -> technique, mammals -> rodents -> rat -> Wistar, brain ->
hippocampal formation -> CA1) in which each node's count covers itself and everything
below it. Anatomy also follows part-of. A concept reachable by two paths is shown under
both parents (as OLS and AmiGO do) but counted once per node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ontologies.graph import Vocabulary


@dataclass
class TreeNode:
    """One facet value: concept IRI, label, rolled-up count, children sorted by count."""

    iri: str
    label: str
    count: int
    children: list[TreeNode] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "iri": self.iri,
            "label": self.label,
            "count": self.count,
            "children": [c.to_dict() for c in self.children],
        }


def facet_tree(
    counts: Mapping[str, int], scheme: str, vocabulary: Vocabulary | None = None
) -> list[TreeNode]:
    """Roots of the facet tree of `scheme` for `counts` (direct counts per concept IRI).

    Only concepts with a non-zero rolled-up count appear; IRIs outside the scheme are
    ignored. Concepts of other schemes that the scheme's concepts point to (strain ->
    species) are not crossed, so each scheme's tree stays within itself.
    """
    vocab = vocabulary if vocabulary is not None else Vocabulary.load()
    vocab.scheme(scheme)
    with_part_of = vocab.scheme_uses_part_of(scheme)
    direct = {iri: n for iri, n in counts.items() if n and iri in vocab and _in(vocab, iri, scheme)}
    present = {
        node
        for iri in direct
        for node in (iri, *vocab.broader_closure(iri, include_part_of=with_part_of))
        if _in(vocab, node, scheme)
    }
    totals = {
        node: direct.get(node, 0)
        + sum(direct.get(d, 0) for d in vocab.narrower_closure(node, include_part_of=with_part_of))
        for node in present
    }
    children = _children(vocab, totals, scheme, with_part_of)
    roots = [iri for iri in totals if not _parents_in(vocab, iri, totals, scheme, with_part_of)]
    return _build(roots, children, totals, vocab)


def _in(vocab: Vocabulary, iri: str, scheme: str) -> bool:
    concept = vocab.get(iri)
    return concept is not None and concept.scheme == scheme


def _parents_in(
    vocab: Vocabulary, iri: str, present: Mapping[str, int], scheme: str, with_part_of: bool
) -> list[str]:
    return [
        p
        for p in vocab.parents(iri, include_part_of=with_part_of)
        if p in present and _in(vocab, p, scheme)
    ]


def _children(
    vocab: Vocabulary, present: Mapping[str, int], scheme: str, with_part_of: bool
) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for iri in present:
        for parent in _parents_in(vocab, iri, present, scheme, with_part_of):
            children.setdefault(parent, []).append(iri)
    return children


def _build(
    iris: list[str],
    children: Mapping[str, list[str]],
    totals: Mapping[str, int],
    vocab: Vocabulary,
    trail: frozenset[str] = frozenset(),
) -> list[TreeNode]:
    nodes = []
    for iri in sorted(iris, key=lambda i: (-totals[i], vocab.label(i).casefold())):
        if iri in trail:  # defensive: a cycle in the data must not recurse forever
            continue
        kids = _build(children.get(iri, []), children, totals, vocab, trail | {iri})
        nodes.append(TreeNode(iri=iri, label=vocab.label(iri), count=totals[iri], children=kids))
    return nodes
