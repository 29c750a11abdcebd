""".bidsignore: files a dataset declares outside BIDS, applied the way the validator does.

A `.bidsignore` at the raw root, or at the root of a derivative dataset, holds
gitignore-style patterns.  Matching files are not data: they are skipped in `discover`
(so they are never read, grouped or validated), and a folder that matches is not even
entered.  Rules of a derivative's file apply inside that derivative only, after (so
overriding) the raw root's rules; within the applicable rules the last match wins.
The matcher is a small translation of each pattern to a regular expression:

- blank lines and `#` comments are skipped, `\\#`/`\\!` escape a leading `#`/`!`;
- `!pattern` re-includes (but not below a folder that is itself ignored);
- a trailing `/` matches a folder (and so everything in it), never a file;
- a pattern with a `/` before its end is anchored at the dataset root (a leading `/`
  only anchors), one without matches a name at any depth;
- `*` and `?` stay within one path segment, `**` spans segments, `[...]` is a class.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harvesters.base import ItemError

IGNORE_FILE = ".bidsignore"


@dataclass(frozen=True)
class IgnoreRule:
    """One pattern line: where it applies (`base`), what it matches, whether it re-includes."""

    base: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def parse_rules(text: str, base: str = "") -> list[IgnoreRule]:
    """The rules of one `.bidsignore` whose folder is `base` (relative POSIX path, "" = root)."""
    rules = []
    for line in text.splitlines():
        rule = _parse_line(line, base)
        if rule is not None:
            rules.append(rule)
    return rules


def _parse_line(line: str, base: str) -> IgnoreRule | None:
    pattern = _strip_trailing_spaces(line)
    if not pattern or pattern.startswith("#"):
        return None
    negate = pattern.startswith("!")
    if negate or pattern.startswith(("\\#", "\\!")):
        pattern = pattern[1:]
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if not pattern:
        return None
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    try:
        regex = re.compile(("" if anchored else "(?:.*/)?") + _translate(pattern), re.DOTALL)
    except re.error:
        return None  # e.g. a reversed range `[z-a]`: the line matches nothing
    return IgnoreRule(base, regex, negate, dir_only)


def _strip_trailing_spaces(line: str) -> str:
    """Trailing spaces are dropped unless escaped with a backslash (gitignore rule)."""
    stripped = line.rstrip(" \t\r")
    if stripped.endswith("\\") and len(stripped) < len(line.rstrip("\r")):
        return stripped[:-1] + " "
    return stripped


def _translate(pattern: str) -> str:
    """A gitignore glob (no leading `/`) as a regex body matching a whole relative path."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        kind = _double_star(pattern, index) if pattern.startswith("**", index) else None
        if kind is not None:
            out.append(_DOUBLE_STAR[kind])
            index += 3 if kind in ("lead", "mid") else 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            klass, index = _char_class(pattern, index)
            out.append(klass)
            continue
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


_DOUBLE_STAR = {"lead": "(?:.*/)?", "mid": "(?:.*/)?", "tail": ".*", "only": ".*"}


def _double_star(pattern: str, index: int) -> str | None:
    """Where a `**` stands as a whole segment ("lead"/"mid"/"tail"/"only"); else None.

    `**/` at the start matches any folders, `/**/` zero or more, `/**` at the end
    everything inside; `**` inside a segment (`a**b`) is an ordinary `*`.
    """
    before = index == 0 or pattern[index - 1] == "/"
    after_end = index + 2 == len(pattern)
    after_slash = not after_end and pattern[index + 2] == "/"
    if not before or not (after_end or after_slash):
        return None
    if index == 0:
        return "only" if after_end else "lead"
    return "tail" if after_end else "mid"


def _char_class(pattern: str, index: int) -> tuple[str, int]:
    """`[...]` (with `!` or `^` negating) as a regex class; an unclosed `[` is literal."""
    negated = pattern[index + 1 : index + 2] in ("!", "^")
    first = index + 1 + negated
    end = pattern.find("]", first + 1)  # a `]` right after `[` is a member, not the end
    if end < 0:
        return re.escape("["), index + 1
    members = "".join(c if c == "-" else re.escape(c) for c in pattern[first:end])
    return f"[{'^' if negated else ''}{members}]", end + 1


class IgnoreRules:
    """Rules from every `.bidsignore` read so far, outer datasets first."""

    def __init__(self, rules: Iterable[IgnoreRule] = ()) -> None:
        self._rules: list[IgnoreRule] = []
        self.add(rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, rules: Iterable[IgnoreRule]) -> None:
        # Outer bases first so an inner dataset's rules are applied last (and win).
        self._rules = sorted([*self._rules, *rules], key=lambda r: r.base.count("/") + bool(r.base))

    def matches(self, rel_path: str, is_dir: bool = False) -> bool:
        """Whether `rel_path` itself is ignored (its folders are assumed not to be)."""
        ignored = False
        for rule in self._rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.base:
                if not rel_path.startswith(rule.base + "/"):
                    continue
                inner = rel_path[len(rule.base) + 1 :]
            else:
                inner = rel_path
            if ignored == rule.negate and rule.regex.fullmatch(inner):
                ignored = not rule.negate
        return ignored

    def ignores(self, rel_path: str, is_dir: bool = False) -> bool:
        """Whether `rel_path` is ignored, itself or through one of its folders."""
        parts = rel_path.split("/")
        for end in range(1, len(parts)):
            if self.matches("/".join(parts[:end]), is_dir=True):
                return True
        return self.matches(rel_path, is_dir)


def is_ignored(text: str, rel_path: str, is_dir: bool = False) -> bool:
    """Pure form for one root-level `.bidsignore` text: is `rel_path` ignored by it?"""
    return IgnoreRules(parse_rules(text)).ignores(rel_path, is_dir)


def is_dataset_root(rel_dir: str) -> bool:
    """ "derivatives/<name>" (nested any number of times): a dataset with its own rules."""
    parts = rel_dir.split("/")
    return len(parts) % 2 == 0 and all(part == "derivatives" for part in parts[::2])


def read_rules(
    folder: Path, base: str, root: Path | None = None
) -> tuple[list[IgnoreRule], ItemError | None]:
    """Rules of `folder/.bidsignore` (none when absent); an unreadable file is an error,
    and so is a link that leads outside `root` (nothing outside the tree is read)."""
    path = folder / IGNORE_FILE
    if root is not None and path.is_symlink():
        real, top = os.path.realpath(path), os.path.realpath(root)
        if not real.startswith(top.rstrip(os.sep) + os.sep):
            return [], ItemError(
                str(path),
                f"symbolic link to {real}, outside the harvested folder {top}; not followed",
            )
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return [], None
    except OSError as exc:
        return [], ItemError(str(path), f"cannot read .bidsignore ({exc.strerror or exc})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}): {exc.reason}; nothing in it is ignored"
        return [], ItemError(str(path), message)
    return parse_rules(text, base), None


class DiscoveryFilter:
    """The `discover` side: callbacks for `walk_files` plus the errors met on the way."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prefix = os.fspath(root).rstrip(os.sep) + os.sep
        self.rules = IgnoreRules()
        self.errors: list[ItemError] = []
        self._load(root, "")

    def _load(self, folder: Path, base: str) -> None:
        rules, error = read_rules(folder, base, self.root)
        self.rules.add(rules)
        if error is not None:
            self.errors.append(error)

    def _relative(self, path: str) -> str:
        if path.startswith(self._prefix):
            rel = path[len(self._prefix) :]
        else:
            rel = os.path.relpath(path, self.root)
        return rel.replace(os.sep, "/") if os.sep != "/" else rel

    def wanted(self, entry: os.DirEntry[str]) -> bool:
        """False for a file its dataset's `.bidsignore` matches."""
        return not self.rules or not self.rules.matches(self._relative(entry.path))

    def skip_dir(self, folder: Path) -> bool:
        """True for an ignored folder; entering a derivative dataset loads its rules."""
        rel = self._relative(os.fspath(folder))
        if self.rules and self.rules.matches(rel, is_dir=True):
            return True
        if is_dataset_root(rel):
            self._load(folder, rel)
        return False

    def drain(self) -> Iterator[ItemError]:
        """Errors found since the last call (bad `.bidsignore` files)."""
        while self.errors:
            yield self.errors.pop(0)
