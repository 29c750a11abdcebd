"""Errors raised by the ontology layer, as `ImagoraError` subclasses with fix-it messages."""

from __future__ import annotations

from catalog.domain.errors import ConfigurationError, NotFoundError, ValidationError


class VocabularyError(ConfigurationError):
    """A shipped vocabulary file is missing, unparsable or breaks our SKOS conventions."""

    code = "vocabulary_error"


class UnknownConceptError(NotFoundError):
    """An IRI that none of the loaded vocabularies defines."""

    code = "unknown_concept"


class RemoteContextError(ValidationError):
    """A JSON-LD document asked for a context that is not vendored (no network at run time)."""

    code = "remote_context_refused"
