"""Write ParaVision-style JCAMP-DX parameter files (for sample data and test fixtures).

Values are given as the exact text that follows `=`, built with the small helpers below,
so callers control the version-specific syntax (text vs epoch dates, `( dims )` arrays,
PV360 run-length encoding, `(<name>, <display>)` enums) the way ParaVision writes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

_WRAP = 78


def num(value: float | int) -> str:
    """A number as ParaVision writes it (no trailing `.0` on integers)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _wrap(tokens: Iterable[str]) -> str:
    lines: list[str] = []
    line = ""
    for token in tokens:
        if line and len(line) + 1 + len(token) > _WRAP:
            lines.append(line)
            line = token
        else:
            line = f"{line} {token}" if line else token
    lines.append(line)
    return "\n".join(lines)


def array(values: Sequence[float | int | str], dims: Sequence[int] | None = None) -> str:
    """`( n )` followed by the values on wrapped lines (row-major for several dims)."""
    shape = ", ".join(str(d) for d in (dims or [len(values)]))
    tokens = [v if isinstance(v, str) else num(v) for v in values]
    return f"( {shape} )\n{_wrap(tokens)}"


def rle_array(value: float | int | str, count: int) -> str:
    """PV360 run-length encoding `@N*(value)`."""
    shown = value if isinstance(value, str) else num(value)
    return f"( {count} )\n@{count}*({shown})"


def string(text: str, size: int = 64) -> str:
    """A string parameter `( size )` + `<text>`."""
    return f"( {size} )\n<{text}>"


def strings(texts: Sequence[str], size: int = 65) -> str:
    """A string array `( n, size )` + `<a> <b> ...`."""
    return f"( {len(texts)}, {size} )\n" + _wrap(f"<{t}>" for t in texts)


def struct(*members: float | int | str) -> str:
    """A struct tuple; strings must already carry their `<...>` when they need them."""
    return "(" + ", ".join(m if isinstance(m, str) else num(m) for m in members) + ")"


def jcamp_text(
    params: Sequence[tuple[str, str]],
    *,
    title: str = "Parameter List",
    origin: str = "Bruker BioSpin MRI GmbH",
    owner: str = "nmrsu",
    header_comments: Sequence[str] = (),
    trailing_comments: Sequence[str] = (),
) -> str:
    """A complete parameter file: header, `$$` comments, `##$` parameters, `##END=`."""
    lines = [
        f"##TITLE={title}",
        "##JCAMPDX=4.24",
        "##DATATYPE=Parameter Values",
        f"##ORIGIN={origin}",
        f"##OWNER={owner}",
    ]
    lines += [f"$$ {c}" for c in header_comments]
    lines += [f"##${key}={value}" for key, value in params]
    lines += [f"$$ {c}" for c in trailing_comments]
    lines.append("##END=")
    return "\n".join(lines) + "\n"


def write_jcamp(path: Path, params: Sequence[tuple[str, str]], **header: object) -> Path:
    """Write a parameter file (latin-1, as ParaVision does), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jcamp_text(params, **header).encode("latin-1"))  # type: ignore[arg-type]
    return path
