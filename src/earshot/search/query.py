"""The search query language: a small recursive-descent parser producing an AST.

Grammar (AND binds tighter than OR; juxtaposition means AND)::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | primary
    primary := "(" or ")" | '"' words '"' | FIELD ":" value | WORD
    value   := '"' text '"' | run of characters up to a space or parenthesis

Words and phrases match any inflection (see :mod:`.text`); fields filter on facts
(`term:200`, `phone:+79155553147`, `from:2023-01-01` ...). The parser only builds the
tree: values are bound as SQL parameters later, never spliced into SQL.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ..errors import QuerySyntaxError, SearchError
from ..language.morph import tokens

__all__ = [
    "FIELDS",
    "And",
    "Field",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QuerySyntaxError",
    "SearchError",
    "Term",
    "parse_query",
]

FIELDS = ("term", "theme", "person", "phone", "place", "party", "from", "to", "call")
MAX_QUERY = 2000
MAX_DEPTH = 40


@dataclass(frozen=True)
class Term:
    """One word, matched in any inflection."""

    word: str


@dataclass(frozen=True)
class Phrase:
    """Words that must follow one another, each in any inflection."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Field:
    """A filter on a fact: ``name:value``; `value` is already checked for its field."""

    name: str
    value: str
    position: int
    day: date | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Term | Phrase | Field | And | Or | Not

_OPERATORS = {"AND", "OR", "NOT"}
_SPECIAL = set('()"')
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class _Tok:
    kind: str  # ( ) PHRASE FIELD WORD AND OR NOT MINUS END
    text: str
    position: int
    value: str = ""


def _lex(query: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Tok(ch, ch, i))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError(query, i, "unclosed quote", 'close the phrase with "')
            out.append(_Tok("PHRASE", query[i + 1 : end], i))
            i = end + 1
        elif ch == "-" and (i + 1 < n and not query[i + 1].isspace()) and _starts_term(query, i):
            out.append(_Tok("MINUS", "-", i))
            i += 1
        else:
            field = _FIELD_RE.match(query, i)
            if field:
                name = field.group(1).lower()
                if name not in FIELDS:
                    raise QuerySyntaxError(
                        query,
                        i,
                        f"unknown field {field.group(1)!r}",
                        "fields are "
                        + ", ".join(f"{f}:" for f in FIELDS)
                        + "; put a word with a colon in quotes",
                    )
                j = field.end()
                if j < n and query[j] == '"':
                    end = query.find('"', j + 1)
                    if end < 0:
                        raise QuerySyntaxError(query, j, "unclosed quote", 'close the value with "')
                    value, i = query[j + 1 : end], end + 1
                else:
                    k = j
                    while k < n and not query[k].isspace() and query[k] not in _SPECIAL:
                        k += 1
                    value, i = query[j:k], k
                if not value.strip():
                    raise QuerySyntaxError(
                        query,
                        j,
                        f"{name}: has no value",
                        f'write e.g. {name}:VALUE or {name}:"two words"',
                    )
                out.append(_Tok("FIELD", name, field.start(), value.strip()))
                continue
            k = i
            while k < n and not query[k].isspace() and query[k] not in _SPECIAL:
                k += 1
            word = query[i:k]
            out.append(_Tok(word if word in _OPERATORS else "WORD", word, i))
            i = k
    out.append(_Tok("END", "", n))
    return out


def _starts_term(query: str, i: int) -> bool:
    """A '-' is NOT only at the start of a term, not inside a word like 'кое-что'."""
    return i == 0 or query[i - 1].isspace() or query[i - 1] == "("


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.at = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.at]

    def take(self) -> _Tok:
        tok = self.toks[self.at]
        self.at += 1
        return tok

    def fail(self, tok: _Tok, problem: str, hint: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.query, tok.position, problem, hint)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.fail(self.peek(), "the query is empty", "type a word, a phrase or a filter")
        node = self.or_()
        tok = self.peek()
        if tok.kind != "END":
            raise self.fail(tok, f"unexpected {tok.text!r}", "a ')' without its '(' perhaps")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek().kind == "OR":
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.unary()]
        while self.peek().kind not in ("OR", ")", "END"):
            if self.peek().kind == "AND":
                self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "MINUS"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(tok, "too deeply nested", f"use at most {MAX_DEPTH} levels")
            inner = self.unary()
            self.depth -= 1
            return Not(inner)
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(tok, "too deeply nested", f"use at most {MAX_DEPTH} levels")
            if self.peek().kind == ")":
                raise self.fail(self.peek(), "empty parentheses", "put a word or a filter inside")
            node = self.or_()
            close = self.take()
            if close.kind != ")":
                raise self.fail(
                    close, "missing ')'", f"close the '(' opened at character {tok.position + 1}"
                )
            self.depth -= 1
            return node
        if tok.kind == "PHRASE":
            words = tuple(w for _s, _e, w in tokens(tok.text))
            if not words:
                raise self.fail(tok, "the phrase holds no word", "put words between the quotes")
            return Term(words[0]) if len(words) == 1 else Phrase(words)
        if tok.kind == "WORD":
            words = tuple(w for _s, _e, w in tokens(tok.text))
            if not words:
                raise self.fail(
                    tok, f"{tok.text!r} holds no word to search for", "search letters or digits"
                )
            return Term(words[0]) if len(words) == 1 else Phrase(words)
        if tok.kind == "FIELD":
            return _field(self.query, tok)
        if tok.kind == "END":
            raise self.fail(tok, "the query ends too early", "an operator needs something after it")
        if tok.kind == ")":
            raise self.fail(tok, "unexpected ')'", "it has no matching '('")
        raise self.fail(
            tok,
            f"{tok.text} needs something on both sides",
            f'quote it ("{tok.text}") to search the word',
        )


def _field(query: str, tok: _Tok) -> Field:
    name, value = tok.text, tok.value
    if name == "party":
        parts = [p.strip().upper() for p in value.split("|")]
        if not parts or any(p not in ("A", "B") for p in parts):
            raise QuerySyntaxError(
                query,
                tok.position,
                f"party:{value} is not A or B",
                "write party:A, party:B or party:A|B",
            )
        return Field(name, "|".join(sorted(set(parts))), tok.position)
    if name in ("from", "to"):
        match = _DATE_RE.match(value)
        day: date | None = None
        if match:
            try:
                day = date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
            except ValueError:
                day = None
        if day is None or match is None:
            raise QuerySyntaxError(
                query,
                tok.position,
                f"{name}:{value} is not a date",
                f"write {name}:YYYY-MM-DD or {name}:YYYY-MM",
            )
        if name == "to" and match.group(3) is None:  # to:2023-01 means to the end of January
            day = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return Field(name, value, tok.position, day)
    if name == "call" and not value.isdigit():
        raise QuerySyntaxError(
            query, tok.position, f"call:{value} is not a call id", "write call:NUMBER"
        )
    if len(value) > 200:
        raise QuerySyntaxError(
            query, tok.position, f"{name}: value too long", "use at most 200 characters"
        )
    return Field(name, value, tok.position)


def parse_query(query: str) -> Node:
    """Parse `query` into a tree; raises :class:`QuerySyntaxError` when it is malformed."""
    if len(query) > MAX_QUERY:
        raise QuerySyntaxError(
            query, MAX_QUERY, "the query is too long", f"use at most {MAX_QUERY} characters"
        )
    if "\x00" in query:
        raise QuerySyntaxError(query, query.index("\x00"), "a NUL character", "remove it")
    return _Parser(query).parse()
