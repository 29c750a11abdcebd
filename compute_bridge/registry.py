"""The compute bridge's two registries: pipelines and executors (short name -> class).

Both follow `catalog.registry.Registry` (lazy import, entry points, "missing dependency"
messages). Pipelines are validated at registration: the first time the registry hands a
pipeline class out, its Boutiques descriptor is read and validated, and the result is
kept by the registry (an owned cache, dropped with it) so every later use is free.
"""

from __future__ import annotations

from catalog.registry import Registry
from compute_bridge.base import Executor, Pipeline
from compute_bridge.descriptors import Descriptor


class PipelineRegistry(Registry[Pipeline]):
    """A registry whose entries carry a validated Boutiques descriptor."""

    def __init__(self, builtins: dict[str, str]) -> None:
        super().__init__("pipeline", "imagora.pipelines", builtins)
        self._descriptors: dict[str, Descriptor] = {}

    def get(self, name: str) -> type[Pipeline]:
        cls = super().get(name)
        if name not in self._descriptors:
            self._descriptors[name] = cls.descriptor()
        return cls

    def descriptor(self, name: str) -> Descriptor:
        self.get(name)
        return self._descriptors[name]


pipelines = PipelineRegistry(
    {
        "relaxometry": "compute_bridge.pipelines.relaxometry:RelaxometryPipeline",
        "segmentation": "compute_bridge.pipelines.segmentation:SegmentationPipeline",
    },
)

executors: Registry[Executor] = Registry(
    "executor",
    "imagora.executors",
    {
        "local": "compute_bridge.executors.local:LocalExecutor",
        "slurm": "compute_bridge.executors.slurm:SlurmExecutor",
    },
)
