"""Boutiques descriptors: what a pipeline takes, bounds its parameters, and produces.

Each pipeline ships a Boutiques descriptor (JSON, schema 0.5) beside its module. It is
validated with the `boutiques` package (schema plus its cross-checks) when the pipeline
is registered, i.e. the first time the registry hands the class out, so a broken
descriptor is an error naming the file, never a job that fails later. Imagora-specific
facts (the Python entry point, GPUs) live in the descriptor's `custom` object under
`imagora`, which Boutiques reserves for tool-specific extensions.

Parameter values arrive as strings (CLI `--param K=V`) or JSON values (API); `resolve`
converts them by the descriptor's types, fills defaults and checks bounds and choices,
with messages that name the parameter.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from catalog.domain.errors import ConfigurationError, PluginUnavailableError, ValidationError
from compute_bridge.base import ParamValue, Resources

#: Descriptor input types that are parameters (File inputs are the selected records).
_PARAM_TYPES = {"Number", "String", "Flag"}


class Parameter(BaseModel):
    """One parameter of a pipeline, as the API lists it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    type: str
    description: str = ""
    default: ParamValue | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    is_list: bool = False
    choices: list[str] | None = None
    optional: bool = True


class Descriptor(BaseModel):
    """The parts of a validated Boutiques descriptor that Imagora uses."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    description: str
    command_line: str
    entry_point: str
    container_image: str | None = None
    parameters: list[Parameter]
    outputs: list[str] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    sha256: str = Field(..., description="Of the descriptor file's canonical JSON")
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def parameter(self, name: str) -> Parameter:
        for param in self.parameters:
            if param.id == name:
                return param
        known = ", ".join(p.id for p in self.parameters) or "none"
        raise ValidationError(
            f"pipeline '{self.name}' has no parameter '{name}'; its parameters: {known}",
            field=f"params.{name}",
        )

    def resolve(self, given: dict[str, Any]) -> dict[str, ParamValue]:
        """Typed, bounded values for every parameter that has one (given or default)."""
        values: dict[str, ParamValue] = {}
        for name, raw in given.items():
            values[name] = _convert(self.parameter(name), raw)
        for param in self.parameters:
            if param.id in values:
                continue
            if param.default is not None:
                values[param.id] = param.default
            elif not param.optional:
                raise ValidationError(
                    f"pipeline '{self.name}' needs the parameter '{param.id}' ({param.name})",
                    field=f"params.{param.id}",
                )
        return values


def validate_boutiques(raw: dict[str, Any], origin: str) -> None:
    """Validate with the `boutiques` package; its message names the problem."""
    try:
        from boutiques.validator import DescriptorValidationError, validate_descriptor
    except ImportError as exc:
        raise PluginUnavailableError(
            "pipelines are unavailable because their dependency 'boutiques' is missing; "
            "install it (pip install 'imagora[gpu]')"
        ) from exc
    try:
        validate_descriptor(json.loads(json.dumps(raw)))
    except DescriptorValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
        raise ConfigurationError(f"{origin}: invalid Boutiques descriptor: {first}") from None


def parse_descriptor(raw: dict[str, Any], origin: str) -> Descriptor:
    """Validate `raw` and keep what Imagora needs from it."""
    validate_boutiques(raw, origin)
    custom = (raw.get("custom") or {}).get("imagora") or {}
    if "entry-point" not in custom:
        raise ConfigurationError(f"{origin}: custom.imagora.entry-point is missing")
    suggested = raw.get("suggested-resources") or {}
    resources = Resources(
        cpus=int(suggested.get("cpu-cores", 1)),
        memory_gb=float(suggested.get("ram", 2.0)),
        time_limit_s=int(float(suggested.get("walltime-estimate", 3600))),
        gpus=int(custom.get("gpus", 0)),
    )
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    image = (raw.get("container-image") or {}).get("image")
    return Descriptor(
        name=raw["name"],
        version=raw["tool-version"],
        description=raw["description"],
        command_line=raw["command-line"],
        entry_point=custom["entry-point"],
        container_image=image,
        parameters=[
            _parameter(i)
            for i in raw["inputs"]
            if i["type"] in _PARAM_TYPES and i["id"] not in custom.get("service-inputs", [])
        ],
        outputs=[o["id"] for o in raw.get("output-files") or []],
        resources=resources,
        sha256="sha256:" + hashlib.sha256(canonical).hexdigest(),
        raw=raw,
    )


def load_descriptor(pipeline_cls: type) -> Descriptor:
    """The descriptor file beside a pipeline class's module, validated."""
    import sys

    module = sys.modules[pipeline_cls.__module__]
    path = Path(module.__file__ or ".").parent / pipeline_cls.descriptor_file
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path}: cannot read the Boutiques descriptor: {exc}") from exc
    return parse_descriptor(raw, str(path))


def _parameter(item: dict[str, Any]) -> Parameter:
    choices = item.get("value-choices")
    return Parameter(
        id=item["id"],
        name=item["name"],
        type=item["type"],
        description=item.get("description", ""),
        default=item.get("default-value"),
        minimum=item.get("minimum"),
        maximum=item.get("maximum"),
        integer=bool(item.get("integer")),
        is_list=bool(item.get("list")),
        choices=[str(c) for c in choices] if choices else None,
        optional=bool(item.get("optional")),
    )


def _convert(param: Parameter, raw: Any) -> ParamValue:
    field = f"params.{param.id}"
    if param.type == "Flag":
        return _flag(raw, field)
    if param.type == "String":
        value = str(raw)
        if param.choices and value not in param.choices:
            raise ValidationError(
                f"parameter '{param.id}' must be one of {', '.join(param.choices)}; got '{value}'",
                field=field,
            )
        return value
    if param.is_list:
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        return [float(_number(param, item, field)) for item in items]
    return _number(param, raw, field)


def _flag(raw: Any, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValidationError(f"{field} must be true or false; got '{raw}'", field=field)


def _number(param: Parameter, raw: Any, field: str) -> int | float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError(
            f"parameter '{param.id}' must be a number; got '{raw}'", field=field
        ) from None
    if param.integer and not value.is_integer():
        raise ValidationError(
            f"parameter '{param.id}' must be an integer; got '{raw}'", field=field
        )
    if param.minimum is not None and value < param.minimum:
        raise ValidationError(
            f"parameter '{param.id}' must be >= {param.minimum:g}; got {value:g}", field=field
        )
    if param.maximum is not None and value > param.maximum:
        raise ValidationError(
            f"parameter '{param.id}' must be <= {param.maximum:g}; got {value:g}", field=field
        )
    return int(value) if param.integer else value
