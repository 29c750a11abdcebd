"""Fast JSON responses: orjson for dicts, pydantic's own serialiser for models.

The default `JSONResponse` goes through `jsonable_encoder` and the stdlib encoder, several
times slower than these; the search endpoint's throughput target depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

JSON = "application/json"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A dict/list (or a pydantic model) serialised once, straight to bytes."""
    if isinstance(body, BaseModel):
        content = body.__pydantic_serializer__.to_json(body)
    else:
        content = orjson.dumps(body)
    return Response(content, status_code=status, headers=headers, media_type=JSON)


def raw_json_response(content: bytes, headers: Mapping[str, str] | None = None) -> Response:
    """Already serialised JSON (e.g. from the search cache)."""
    return Response(content, headers=headers, media_type=JSON)
