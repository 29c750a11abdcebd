"""`Catalog`: builds the store, search backend and services from validated settings.

Nothing happens at import time; the web app and the CLI each call `Catalog.open(settings)`
once and `close()` at the end.
"""

from __future__ import annotations

import logging

from catalog.domain.identity import ANONYMOUS
from catalog.search.base import SearchBackend
from catalog.search.registry import open_search_backend
from catalog.services.annotation import AnnotationService
from catalog.services.harvest import HarvestService
from catalog.services.indexing import IndexSync
from catalog.services.records import Expander, RecordService, SearchRequest
from catalog.services.sources import SourceService
from catalog.services.terms import SearchOntology, TermService
from catalog.services.tokens import TokenService
from catalog.settings import Settings
from catalog.store.database import make_engine, migrate
from catalog.store.repository import UnitOfWork, session_factory

log = logging.getLogger(__name__)


class Catalog:
    """The assembled application core (store + index + services)."""

    def __init__(self, settings: Settings, backend: SearchBackend | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.effective_database_url)
        #: SQLite runs in this process: its calls are CPU work, not waits on a server, so
        #: the web layer makes them inline instead of through a thread (see web/deps.py).
        self.local_store = self.engine.dialect.name == "sqlite"
        migrate(self.engine)
        self._sessions = session_factory(self.engine)
        self.backend = backend or open_search_backend(settings)
        self.index_sync = IndexSync(
            self.uow, self.backend, settings.data_dir / "index.lock", closure=_ontology_closure()
        )
        annotate = _ontology_annotator()
        expander = _ontology_expander()
        self.terms = TermService()
        ontology = SearchOntology(self.terms, self.uow) if expander else None
        self.records = RecordService(
            self.uow, self.backend, self.index_sync, expander, annotate, ontology
        )
        self.tokens = TokenService(self.uow)
        self.harvest = HarvestService(
            self.uow,
            self.index_sync,
            settings.secret(),
            annotate,
            credentials_file=settings.harvest_credentials,
        )
        self.sources = SourceService(self.uow, self.harvest)
        self.annotation = AnnotationService(self.uow, self.records, self.index_sync, annotate)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Catalog:
        catalog = cls(settings or Settings.load())
        if getattr(catalog.backend, "needs_rebuild", False):
            # a new or re-created index (e.g. after a schema upgrade): derive it again
            with catalog.uow() as uow:
                has_records = uow.records.count() > 0
            if has_records:
                catalog.index_sync.rebuild()
        catalog.index_sync.try_apply()  # replay whatever an interrupted writer left
        return catalog

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def warm_up(self) -> None:
        """Load now what the first search would load: the vocabularies (parsed from
        Turtle, ~0.5-1 s), the label matcher, the index searcher and the serialisers.

        A server calls this at start-up so that its first visitor does not wait for it;
        CLI commands that never search skip the cost. Failures are logged, not raised:
        a search would report them properly.
        """
        try:
            self.records.search(ANONYMOUS, SearchRequest(text="brain", size=1))
        except Exception:
            log.warning("warming up the search path failed", exc_info=True)

    def close(self) -> None:
        self.backend.close()
        self.engine.dispose()


def _ontology_expander() -> Expander | None:
    """The ontology layer's query expansion, when the vocabularies are installed."""
    try:
        from ontologies.integration import query_expander
    except ImportError:
        return None
    return query_expander()


def _ontology_annotator():  # type: ignore[no-untyped-def]
    try:
        from ontologies.integration import record_annotator
    except ImportError:
        return None
    return record_annotator()


def _ontology_closure():  # type: ignore[no-untyped-def]
    try:
        from ontologies.integration import term_closure
    except ImportError:
        return None
    return term_closure()
