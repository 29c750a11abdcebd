"""The publisher registry: `imagora publish --to NAME` and the API look up here.

Names: "zenodo", "datacite"; third-party services join through the `imagora.publishers`
entry-point group.
"""

from __future__ import annotations

from catalog.registry import Registry
from exporters.publishers.base import Publisher

publishers: Registry[Publisher] = Registry(
    "publisher",
    "imagora.publishers",
    {
        "zenodo": "exporters.publishers.zenodo:ZenodoPublisher",
        "datacite": "exporters.publishers.datacite:DataCitePublisher",
    },
)
