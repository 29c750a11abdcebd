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
from catalog.services.changes import ChangeFeed
from catalog.services.ckan import CkanActions
from catalog.services.compute import ComputeService
from catalog.services.exports import ExportService
from catalog.services.harvest import HarvestService
from catalog.services.indexing import IndexSync
from catalog.services.links import LinkService
from catalog.services.oai import OaiService
from catalog.services.previews import PreviewService, default_builder
from catalog.services.publications import PublicationService
from catalog.services.publish import PublishService
from catalog.services.records import RecordService, SearchRequest
from catalog.services.sources import SourceService
from catalog.services.summary import GlanceService, SummaryService
from catalog.services.terms import SearchOntology, TermService
from catalog.services.tokens import TokenService
from catalog.services.understanding import QueryReader
from catalog.settings import Settings
from catalog.store.database import make_engine, migrate
from catalog.store.repository import UnitOfWork, session_factory
from compute_bridge.base import ExecutorSettings

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
        reader = _query_reader()
        self.terms = TermService()
        ontology = SearchOntology(self.terms, self.uow) if reader.phrases else None
        self.changes = ChangeFeed()
        self.records = RecordService(
            self.uow, self.backend, self.index_sync, reader, annotate, ontology, self.changes
        )
        self.tokens = TokenService(self.uow)
        self.summaries = SummaryService(self.uow)
        self.glance = GlanceService(self.uow, self.records.search)
        builder = default_builder(settings.data_dir)
        self.harvest = HarvestService(
            self.uow,
            self.index_sync,
            settings.secret(),
            annotate,
            previews=builder,
            credentials_file=settings.harvest_credentials,
        )
        self.previews = PreviewService(builder.store, self.records.get)
        self.sources = SourceService(self.uow, self.harvest)
        self.annotation = AnnotationService(self.uow, self.records, self.index_sync, annotate)
        self.links = LinkService(self.uow, self.records, settings)
        self.exports = ExportService(self.records, settings, self.links)
        self.ckan = CkanActions(self.records, self.exports)
        self.publications = PublicationService(self.records, self.links)
        self.oai = OaiService(
            self.uow, self.records, self.exports, page_size=settings.oai_page_size
        )
        self.publish = PublishService(self.uow, self.records, settings, _publishers())
        self.compute = ComputeService(
            self.uow,
            self.records,
            self.harvest,
            settings.data_dir,
            settings.base_url,
            _executor_settings(settings),
        )

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


def _publishers():  # type: ignore[no-untyped-def]
    from exporters.publishers.registry import publishers

    return publishers


def _query_reader() -> QueryReader:
    """Reads queries with the ontology layer's concepts, when the vocabularies are
    installed (else by syntax and imaging facts alone)."""
    try:
        from ontologies.integration import phrase_finder, species_finder
    except ImportError:
        return QueryReader()
    return QueryReader(phrase_finder(), species_finder())


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


def _executor_settings(settings: Settings) -> dict[str, ExecutorSettings]:
    """The installation's settings of the built-in executors (IMAGORA_SLURM_*)."""
    from compute_bridge.executors.slurm import SlurmSettings

    return {
        "slurm": SlurmSettings(
            partition=settings.slurm_partition,
            account=settings.slurm_account,
            bin_dir=settings.slurm_bin_dir,
        )
    }
