"""`create_app`: assembles the FastAPI application (API, pages, static files, errors).

Nothing happens at import time. Given a Catalog, the app uses it and leaves closing it to
the caller; otherwise a lifespan opens one from the settings at start-up and closes it
at shutdown. Optional routers from `catalog.web.linked` and `catalog.web.ckan` join when
those modules exist: each may define `router` (an APIRouter) and/or `install(app)`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from catalog.services.container import Catalog
from catalog.settings import Settings
from catalog.web import api, landing, links, oai, pages
from catalog.web.cache import ResponseCache, stamp_generation
from catalog.web.errors import install_error_handlers
from catalog.web.fastpath import SearchFastPath
from catalog.web.head import HeadAsGet
from catalog.web.limits import BodySizeLimit, QueryStringLimit
from catalog.web.templating import configure_templates

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
OPTIONAL_MODULES = (
    "catalog.web.linked",
    "catalog.web.ckan",
    "catalog.web.harvests",
    "catalog.web.publishing",
    "catalog.web.compute",
)


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> FastAPI:
    """The web application for one catalogue installation."""
    settings = catalog.settings if catalog is not None else (settings or Settings.load())
    app = FastAPI(
        title="Imagora",
        summary="FAIR catalogue of in-vivo imaging data (MRI, PET, CT)",
        version="0.1.0",
        lifespan=_lifespan(settings, catalog),
        docs_url=None,  # served offline by landing.install_docs
        redoc_url=None,  # ReDoc loads from a CDN; Swagger UI at /docs covers it
    )
    app.state.settings = settings
    app.state.templates = configure_templates(Jinja2Templates(directory=HERE / "templates"))
    if catalog is not None:
        _attach(app, catalog)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SearchFastPath)
    app.add_middleware(QueryStringLimit)
    app.add_middleware(HeadAsGet)  # added last = runs first
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    landing.install_docs(app)
    app.include_router(api.router)
    app.include_router(landing.router)
    app.include_router(oai.router)
    app.include_router(links.router)
    _include_optional(app)
    app.include_router(pages.router)
    return app


def _attach(app: FastAPI, catalog: Catalog) -> None:
    app.state.catalog = catalog
    stamp = catalog.index_sync.lock_path.with_suffix(".stamp")  # touched on index commits
    cache = app.state.search_cache = ResponseCache(stamp_generation(stamp))
    # the services announce committed writes; the cache drops what it holds
    catalog.changes.subscribe(lambda _ids: cache.clear())


def _lifespan(settings: Settings, given: Catalog | None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if given is not None:
            yield
            return
        catalog = Catalog.open(settings)
        catalog.warm_up()  # the first visitor should not wait for the vocabularies to load
        _attach(app, catalog)
        try:
            yield
        finally:
            catalog.close()

    return lifespan


def _include_optional(app: FastAPI) -> None:
    """Routers of optional web modules (linked data, CKAN API), when present."""
    for name in OPTIONAL_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            if exc.name != name:  # the module exists but one of its imports is missing
                log.warning("web module %s is unavailable: %s", name, exc)
            continue
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
        install = getattr(module, "install", None)
        if callable(install):
            install(app)
