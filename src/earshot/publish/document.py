"""The export document as a typed record: the one shape the JSON writer writes, the API
answers for ``format=json`` (its OpenAPI model mirrors this record) and every other
writer renders from.

The calls inside stay the plain, schema-validated structure of
``docs/export.schema.json`` (redaction rewrites them in place); the top level, what a
reader checks first (is it redacted? which format version?), is typed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import EarshotError

__all__ = ["EXPORT_FORMAT_NAME", "ExportDocument"]

EXPORT_FORMAT_NAME = "earshot-export"
_FIELDS = ("warning", "format", "version", "redacted", "calls")


@dataclass(frozen=True)
class ExportDocument:
    """An export of some calls of a case, full or redacted."""

    warning: str
    version: int
    redacted: bool
    calls: list[dict[str, Any]]
    case_lexicon: list[dict[str, Any]] | None = None
    # What one writer needs beyond the document (FtM: the case namespace, audio hashes).
    context: dict[str, Any] = field(default_factory=dict)
    format: str = EXPORT_FORMAT_NAME

    @property
    def call_ids(self) -> list[int]:
        return [int(call["id"]) for call in self.calls]

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ExportDocument:
        """The record of a document dict; a dict without the top-level fields is refused."""
        missing = [key for key in _FIELDS if key not in doc]
        if missing:
            raise EarshotError(
                f"not an Earshot export document: no {', '.join(missing)}; "
                "build it with earshot.publish.export_json.build_export"
            )
        if doc["format"] != EXPORT_FORMAT_NAME or not isinstance(doc["calls"], list):
            raise EarshotError(
                f"not an Earshot export document: format {doc['format']!r}, "
                f"calls of type {type(doc['calls']).__name__}"
            )
        context = {k: v for k, v in doc.items() if k not in (*_FIELDS, "case_lexicon")}
        return cls(
            warning=str(doc["warning"]),
            version=int(doc["version"]),
            redacted=bool(doc["redacted"]),
            calls=doc["calls"],
            case_lexicon=doc.get("case_lexicon"),
            context=context,
        )

    def as_dict(self, *, with_context: bool = True) -> dict[str, Any]:
        """The document as `docs/export.schema.json` describes it, fields in that order
        (the JSON writer leaves the writer context out)."""
        out: dict[str, Any] = {
            "warning": self.warning,
            "format": self.format,
            "version": self.version,
            "redacted": self.redacted,
            "calls": self.calls,
        }
        if self.case_lexicon:
            out["case_lexicon"] = self.case_lexicon
        if with_context:
            out.update(self.context)
        return out

    def header(self) -> dict[str, Any]:
        """The top level without the calls' content: what `export --json` reports."""
        return {
            "format": self.format,
            "version": self.version,
            "redacted": self.redacted,
            "warning": self.warning,
            "call_ids": self.call_ids,
        }
