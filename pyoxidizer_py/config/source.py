"""Config source text before the engine sees it: decoding, nesting limits and instrumentation.

Three jobs, all done on the text so the engine only ever receives input it can handle:

* ``decode_source`` turns the file's bytes into text: UTF-8, an optional UTF-8
  byte-order mark skipped, invalid bytes reported with their byte offset.
* ``check_nesting`` measures how deeply expressions nest (brackets, operator
  chains, indentation). The engine parses and compiles recursively, and a
  6000-term ``1+1+...`` or 5000 nested ``[`` overflow its native stack (SIGSEGV);
  the check refuses such text with a located error long before that depth.
* ``instrument`` rewrites the text so the evaluation stays bounded: every iteration
  of a ``for`` loop or comprehension calls ``_pyoxidizer_tick()`` (which counts steps
  and checks the clock), and ``+``, ``*`` and ``%`` go through ``_pyoxidizer_add/mul/mod(...)``
  (which account for the size of the strings and lists they build). Unknown global
  names are replaced by ``_pyoxidizer_undefined("NAME")`` so they fail when the code
  runs rather than when the file loads (``with_undefined``).

Every rewrite only inserts or replaces text at known offsets; ``SourceMap`` maps a
position in the rewritten text back to the user's line and column, so messages
point at what the user wrote.
"""

from __future__ import annotations

import ast
import bisect
import functools
from dataclasses import dataclass, field

from pyoxidizer_py.errors import ConfigError

__all__ = [
    "HELPER_PREFIX",
    "MAX_NESTING",
    "MAX_SOURCE_BYTES",
    "Instrumented",
    "SourceMap",
    "check_nesting",
    "decode_source",
    "function_arities",
    "instrument",
    "register_target_sites",
]

# Deepest nesting accepted (brackets + operators chained in one expression + indentation).
# Real configs stay below 20; the engine's native stack overflows somewhere above 1000.
MAX_NESTING = 150
# Largest config file accepted (real ones are a few KiB).
MAX_SOURCE_BYTES = 4 * 1024 * 1024
HELPER_PREFIX = "_pyoxidizer_"

_BOM = b"\xef\xbb\xbf"


def decode_source(data: bytes, filename: str) -> str:
    """Decode a config file.

    Args:
        data: the file's bytes.
        filename: for messages.

    Returns:
        The text, without a leading UTF-8 byte-order mark; ``\\r\\n`` line ends become ``\\n``.

    Raises:
        ConfigError: the file is too large, or is not UTF-8 (the message gives the byte
            offset, line and column of the first invalid byte).
    """
    if len(data) > MAX_SOURCE_BYTES:
        raise ConfigError(
            f"{filename}: the file is {len(data)} bytes; config files are limited to {MAX_SOURCE_BYTES} bytes"
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise ConfigError(
            f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte offset {exc.start}: config files must be UTF-8",
            file=filename,
            line=line,
            col=col,
        ) from None
    if "\x00" in text:
        offset = len(text[: text.index("\x00")].encode("utf-8"))
        raise ConfigError(f"{filename}: NUL byte at byte offset {offset}: config files are text")
    return text.replace("\r\n", "\n")


# --- nesting -------------------------------------------------------------------------------
_OPEN = "([{"
_CLOSE = ")]}"
_OPERATOR_CHARS = set("+-*/%|&^~<>=!.@")
_KEYWORD_OPERATORS = frozenset({"and", "or", "not", "in", "if", "else", "lambda", "is"})


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_nesting(text: str, filename: str, limit: int = MAX_NESTING) -> None:
    """Refuse text whose expressions nest deeper than ``limit``.

    The measure is conservative: open brackets, plus the operators chained since the
    last ``,``/``=``/``;``/line end at every open bracket, plus the indentation depth.

    Args:
        text: decoded source.
        filename: for messages.
        limit: the deepest nesting accepted.

    Raises:
        ConfigError: located at the token that went past the limit.
    """
    chains = [0]  # one counter per open bracket, plus the statement level
    indents = [0]
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and len(chains) == 1:
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] not in "\n#":
                width = j - i
                if width > indents[-1]:
                    indents.append(width)
                while width < indents[-1]:
                    indents.pop()
            at_line_start = False
            i = j
            continue
        if c == "\n":
            if len(chains) == 1:
                chains[0] = 0
                at_line_start = True
            i += 1
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "'\"":
            i = _skip_string(text, i)
            continue
        if c.isdigit():
            while i < n and (text[i].isalnum() or text[i] in "._"):
                i += 1
            continue
        if c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            if text[i:j] in _KEYWORD_OPERATORS:
                chains[-1] += 1
            i = j
        elif c in _OPEN:
            chains.append(0)
            i += 1
        elif c in _CLOSE:
            if len(chains) > 1:
                chains.pop()
            i += 1
            continue
        elif c in ",;":
            chains[-1] = 0
            i += 1
            continue
        elif c in _OPERATOR_CHARS:
            j = i
            while j < n and text[j] in _OPERATOR_CHARS and j - i < 3:
                j += 1
            op = text[i:j]
            if op == "=" or (op.endswith("=") and op not in ("==", "!=", "<=", ">=")):
                chains[-1] = 0  # an assignment or keyword argument starts a new expression
            else:
                chains[-1] += 1
            i = j
        else:
            i += 1
            continue
        depth = len(chains) - 1 + sum(chains) + len(indents) - 1
        if depth > limit:
            line, col = _line_col(text, i - 1)
            raise ConfigError(
                f"expression nested too deeply (more than {limit} levels of brackets, chained operators "
                "and indentation); split it into smaller expressions",
                file=filename,
                line=line,
                col=col,
            )
    if len(indents) - 1 > limit:
        raise ConfigError(f"{filename}: indentation nested more than {limit} levels")


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    end_token = quote * 3 if triple else quote
    j = i + len(end_token)
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if text.startswith(end_token, j):
            return j + len(end_token)
        if c == "\n" and not triple:
            return j
        j += 1
    return n


# --- rewriting -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Edit:
    start: int  # offset in the original text
    end: int  # replaced range end (== start for an insertion)
    text: str
    order: tuple[int, int]  # tie-break for edits at the same offset
    anchor: int | None = None  # original offset reported for positions inside ``text``


@dataclass(slots=True)
class SourceMap:
    """Maps positions of rewritten text back to the original text.

    Attributes:
        original: the user's text.
        rewritten: the text given to the engine.
    """

    original: str
    rewritten: str
    # Sorted new-text offsets where an unchanged run starts, with the original offset and length.
    _runs: list[tuple[int, int, int]] = field(default_factory=list)
    _new_line_starts: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, original: str, edits: list[_Edit]) -> SourceMap:
        """Apply ``edits`` (non-overlapping replaced ranges) to ``original``."""
        parts: list[str] = []
        runs: list[tuple[int, int, int]] = []
        pos = 0
        new_len = 0
        for e in sorted(edits, key=lambda e: (e.start, *e.order)):
            if e.start > pos:
                runs.append((new_len, pos, e.start - pos))
                parts.append(original[pos : e.start])
                new_len += e.start - pos
                pos = e.start
            # inserted/replacing text maps to the edit's anchor (default: its original start)
            runs.append((new_len, e.start if e.anchor is None else e.anchor, 0))
            parts.append(e.text)
            new_len += len(e.text)
            pos = max(pos, e.end)
        runs.append((new_len, pos, len(original) - pos))
        parts.append(original[pos:])
        rewritten = "".join(parts)
        starts = [0] + [k + 1 for k, ch in enumerate(rewritten) if ch == "\n"]
        return cls(original=original, rewritten=rewritten, _runs=runs, _new_line_starts=starts)

    def to_original(self, line: int, col: int) -> tuple[int, int]:
        """Map a 1-based (line, column) of the rewritten text to the original text."""
        if not self._runs:
            return line, col
        if line - 1 >= len(self._new_line_starts):
            return line, col
        offset = self._new_line_starts[line - 1] + col - 1
        keys = [r[0] for r in self._runs]
        k = bisect.bisect_right(keys, offset) - 1
        # prefer the unchanged run containing the offset
        new_start, orig_start, length = self._runs[max(k, 0)]
        orig = orig_start + min(max(offset - new_start, 0), length)
        return _line_col(self.original, orig)

    def original_line(self, line: int) -> str:
        """The user's text of a 1-based line ("" past the end)."""
        lines = self.original.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class Instrumented:
    """The text given to the engine and how to map its positions back.

    Attributes:
        map: the ``SourceMap`` (``map.rewritten`` is the engine's text).
        undefined: (original offset, name) of each unknown name replaced so far.
    """

    map: SourceMap
    undefined: tuple[tuple[int, str], ...] = ()
    edits: tuple[_Edit, ...] = ()

    @property
    def text(self) -> str:
        """The engine's text."""
        return self.map.rewritten

    def with_undefined(self, line: int, col: int, name: str) -> Instrumented | None:
        """Replace the unknown name the engine reported at (line, col) of the rewritten text.

        Returns:
            A new ``Instrumented``, or None when the position does not hold ``name`` in
            the original text (the caller then reports the engine's error as it is).
        """
        oline, ocol = self.map.to_original(line, col)
        starts = [0] + [k + 1 for k, ch in enumerate(self.map.original) if ch == "\n"]
        if oline - 1 >= len(starts):
            return None
        offset = starts[oline - 1] + ocol - 1
        if self.map.original[offset : offset + len(name)] != name:
            return None
        if any(off == offset for off, _ in self.undefined):
            return None
        edit = _Edit(offset, offset + len(name), f'{HELPER_PREFIX}undefined("{name}")', (1, 0))
        edits = (*self.edits, edit)
        return Instrumented(
            map=SourceMap.build(self.map.original, list(edits)),
            undefined=(*self.undefined, (offset, name)),
            edits=edits,
        )


_BINOPS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("add", "+"),
    ast.Mult: ("mul", "*"),
    ast.Mod: ("mod", "%"),
}


@functools.lru_cache(maxsize=4)
def _parse(text: str) -> ast.Module:
    """``ast.parse(text)``, once per text: ``instrument``, ``register_target_sites`` and
    ``function_arities`` read the same file in a row (the tree is only read, never changed)."""
    return ast.parse(text)


def instrument(text: str, filename: str) -> Instrumented:
    """Rewrite loops and size-building operators to go through the evaluation budget.

    Args:
        text: decoded source that passed ``check_nesting`` and parsed in the engine.
        filename: for messages.

    Returns:
        The instrumented text with its ``SourceMap``.

    Raises:
        ConfigError: the text uses syntax the instrumentation cannot read (Python's
            ``ast`` parses the Starlark subset; anything else is refused so no loop
            escapes counting).
    """
    try:
        tree = _parse(text)
    except SyntaxError as exc:
        raise ConfigError(
            f"unsupported syntax: {exc.msg}",
            file=filename,
            line=exc.lineno,
            col=exc.offset,
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ConfigError(f"{filename}: the file cannot be read: {exc}") from None
    lines = text.split("\n")
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)

    def offset(lineno: int, col_bytes: int) -> int:
        # ast columns are UTF-8 byte offsets within the line
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))

    edits: list[_Edit] = []

    def wrap(node: ast.expr, helper: str, depth: int) -> None:
        s = offset(node.lineno, node.col_offset)
        e = offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        edits.append(_Edit(s, s, f"{HELPER_PREFIX}{helper}(", (1, depth)))
        edits.append(_Edit(e, e, ")", (0, -depth)))

    def op_position(left: ast.expr, right: ast.expr, symbol: str) -> int | None:
        a = offset(left.end_lineno or left.lineno, left.end_col_offset or 0)
        b = offset(right.lineno, right.col_offset)
        gap = text[a:b]
        k = 0
        while k < len(gap):
            ch = gap[k]
            if ch == "#":
                nl = gap.find("\n", k)
                k = len(gap) if nl < 0 else nl
                continue
            if ch == symbol:
                return a + k
            k += 1
        return None

    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.For) and node.body:
            first = node.body[0]
            body_at = offset(first.lineno, first.col_offset)
            line_start = starts[first.lineno - 1]
            loop_at = offset(node.lineno, node.col_offset)
            if first.lineno == node.lineno or text[line_start:body_at].strip():
                # `for x in y: stmt` on one line: a simple statement follows
                edits.append(_Edit(body_at, body_at, f"{HELPER_PREFIX}tick(); ", (1, -1), loop_at))
            else:
                indent = text[line_start:body_at]
                edits.append(_Edit(line_start, line_start, f"{indent}{HELPER_PREFIX}tick()\n", (1, -1), loop_at))
        elif isinstance(node, ast.comprehension):
            e = offset(node.iter.end_lineno or node.iter.lineno, node.iter.end_col_offset or 0)
            target_at = offset(node.target.lineno, node.target.col_offset)
            loop_at = text.rfind("for", 0, target_at)
            edits.append(_Edit(e, e, f" if {HELPER_PREFIX}tick()", (0, 1), loop_at if loop_at >= 0 else target_at))
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            helper, symbol = _BINOPS[type(node.op)]
            pos = op_position(node.left, node.right, symbol)
            if pos is not None:
                s = offset(node.lineno, node.col_offset)
                e = offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
                edits.append(_Edit(s, s, f"{HELPER_PREFIX}{helper}(", (1, depth)))
                edits.append(_Edit(pos, pos + 1, ",", (2, 0)))
                edits.append(_Edit(e, e, ")", (0, -depth)))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOPS and isinstance(node.target, ast.Name):
            helper, symbol = _BINOPS[type(node.op)]
            a = offset(node.target.end_lineno or node.target.lineno, node.target.end_col_offset or 0)
            b = offset(node.value.lineno, node.value.col_offset)
            k = text.find(symbol + "=", a, b)
            if k >= 0:
                name = node.target.id
                edits.append(_Edit(k, k + 2, f"= {HELPER_PREFIX}{helper}({name},", (2, 0)))
                e = offset(node.value.end_lineno or node.value.lineno, node.value.end_col_offset or 0)
                edits.append(_Edit(e, e, ")", (0, -depth)))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return Instrumented(map=SourceMap.build(text, edits), edits=tuple(edits))


def register_target_sites(text: str) -> dict[str, tuple[int, int]]:
    """Where each target is first registered: ``register_target("name", ...)`` calls with a literal name.

    Returns:
        target name -> (line, column) of the call, 1-based; {} when the text does not parse.
    """
    try:
        tree = _parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    sites: dict[str, tuple[int, int]] = {}
    lines = text.split("\n")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "register_target"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            line = lines[node.lineno - 1]
            col = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")) + 1
            key = node.args[0].value
            if key not in sites or (node.lineno, col) < sites[key]:
                sites[key] = (node.lineno, col)
    return sites


def function_arities(text: str) -> dict[str, tuple[int, int | None]]:
    """Positional parameters of each top-level ``def``: (required, maximum or None for ``*args``)."""
    try:
        tree = _parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    out: dict[str, tuple[int, int | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            positional = len(a.posonlyargs) + len(a.args)
            out[node.name] = (positional - len(a.defaults), None if a.vararg else positional)
    return out
