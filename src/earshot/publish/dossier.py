"""The takeaways dossier: per person and per theme, what the case shows and how it is known.

One section per person under the pseudonym: role, calls and months, how the call
sides were attributed (call record, voice match, self-identification, editor),
the verification status and its history with the *kinds* of evidence cited
(never the evidence itself: URLs, summaries and reasons may identify), and the
person's quotes with timestamps. One section per theme with its trend chart
(share of analysed calls per period with 95% Wilson intervals, from
:mod:`earshot.language.trends`). HTML, PDF (WeasyPrint, from the same HTML) and
DOCX. Redacted by default; the leak guard reads it as built and as rendered.
"""

from __future__ import annotations

import base64
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.language.entities import EntityExtractor
from earshot.language.lexicon import load_themes
from earshot.language.trends import ThemeTrend, theme_trend, wilson_interval
from earshot.store.case import Case
from earshot.store.identity_models import Evidence
from earshot.store.language_models import CallTheme
from earshot.store.models import Call, Person

from .attribution import call_side_attributions
from .export_json import WARNING
from .formats import Rendered
from .leakguard import LeakGuard
from .metadata import neutral_docx
from .output import authorise_identifying, require_format, write_guarded
from .policy import RedactionPolicy
from .pseudonyms import assign_pseudonyms
from .quotes import list_quotes, quote_dict
from .redact_export import REDACTED_NOTICE

__all__ = [
    "DOSSIER_FORMATS",
    "DossierOptions",
    "dossier_document",
    "export_dossier",
    "render_dossier",
    "trend_chart_png",
]

DOSSIER_FORMATS = ("html", "pdf", "docx")
_DATA_URI_RE = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
_ROLE_LABEL = {"soldier": "Soldier", "relative": "Relative", "other": "Other"}
_BASIS_LABEL = {
    "call record": "call records",
    "call_record": "call records",
    "voice_match": "voice match",
    "self_identification": "self-identification in the call",
    "editor": "editor's attribution",
}


@dataclass(frozen=True)
class DossierOptions:
    fmt: str = "html"
    redact: bool = True
    by: str = "month"
    policy: RedactionPolicy | None = None
    operator: str = "unknown"
    identifying: bool = False
    role: str | None = None
    allow_proposed: bool = False


def _month(moment: datetime | None) -> str | None:
    return f"{moment.year:04d}-{moment.month:02d}" if moment else None


def _verification(session: Session, person_id: int) -> dict[str, Any]:
    from earshot.identity import status_history

    history = status_history(session, person_id=person_id)
    ids = sorted({i for event in history for i in event.evidence_ids})
    kinds = {e.id: e.kind for e in session.scalars(select(Evidence).where(Evidence.id.in_(ids)))}
    return {
        "status": history[-1].status if history else "unverified",
        "history": [
            {
                "status": event.status,
                "date": event.at.date().isoformat(),
                "evidence": sorted(
                    {kinds.get(i, "unknown").replace("_", " ") for i in event.evidence_ids}
                ),
            }
            for event in history
        ],
    }


def _persons(
    session: Session,
    names: dict[int, str],
    quotes: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    # The current attribution of each side, exactly as the workbench shows it: a phone's
    # owner is never taken for the speaker.
    sides = call_side_attributions(session)
    owners: dict[tuple[int, str], int] = {
        key: a.person_id for key, a in sides.items() if a.person_id is not None
    }
    calls = {c.id: c for c in session.scalars(select(Call))}
    bases: dict[int, Counter[str]] = defaultdict(Counter)
    for side in sides.values():
        if side.person_id is not None:
            basis = side.basis or "call_record"
            bases[side.person_id][_BASIS_LABEL.get(basis, basis.replace("_", " "))] += 1
    seen_calls: dict[int, set[int]] = defaultdict(set)
    for (call_id, _label), person in owners.items():
        seen_calls[person].add(call_id)
    by_person_quotes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for q in quotes:
        for label in q["parties"]:
            speaker = owners.get((q["call_id"], label))
            if speaker is not None:
                by_person_quotes[speaker].append(q)
    out = []
    for who in session.scalars(select(Person).order_by(Person.id)):
        if who.merged_into is not None or not seen_calls.get(who.id):
            continue
        months = sorted(m for c in seen_calls[who.id] if (m := _month(calls[c].started_at)))
        out.append(
            {
                "name": names.get(who.id, f"Person {who.id}"),
                "role": _ROLE_LABEL.get(who.role, who.role),
                "calls": len(seen_calls[who.id]),
                "from": months[0] if months else None,
                "to": months[-1] if months else None,
                "attribution": dict(sorted(bases[who.id].items())),
                "verification": _verification(session, who.id),
                "quotes": [
                    {"text": q["text"], "ref": q["ref"], "flags": q["flags"]}
                    for q in by_person_quotes[who.id]
                ],
            }
        )
    return sorted(out, key=lambda p: (p["role"] != "Soldier", p["name"]))


def _pooled(rows: list[dict[str, Any]]) -> dict[str, Any]:
    calls = sum(r["calls"] for r in rows)
    hits = sum(r["with_theme"] for r in rows)
    first, last = rows[0]["period"], rows[-1]["period"]
    return {
        "period": first if first == last else f"{first} to {last}",
        "calls": calls,
        "with_theme": hits,
        "share": hits / calls,
        "ci95": list(wilson_interval(hits, calls)),
    }


def _share(row: dict[str, Any]) -> str:
    low, high = row["ci95"]
    return (
        f"{row['with_theme']} of {row['calls']} calls in {row['period']} "
        f"({100 * row['share']:.0f} %, 95 % CI {100 * low:.0f}–{100 * high:.0f} %)"
    )


def _theme(trend: ThemeTrend, label: str, description: str) -> dict[str, Any]:
    """The theme's periods and a summary comparing the earlier and later half of them
    (pooled: one period's few calls say little on their own)."""
    rows = [r for r in trend.as_dict()["periods"] if r["calls"]]
    total = sum(r["calls"] for r in rows)
    hits = sum(r["with_theme"] for r in rows)
    change = 0.0
    if len(rows) >= 2:
        early, late = _pooled(rows[: len(rows) // 2]), _pooled(rows[len(rows) // 2 :])
        summary = f"{label}: {_share(early)}; {_share(late)}."
        change = late["share"] - early["share"]
    elif rows:
        summary = f"{label}: {_share(rows[0])}."
    else:
        summary = f"{label}: no dated, analysed calls."
    return {
        "id": trend.theme,
        "label": label,
        "description": description,
        "calls": total,
        "with_theme": hits,
        "periods": rows,
        "summary": summary,
        "change": change,
    }


def trend_chart_png(theme: dict[str, Any]) -> bytes:
    """A bar chart of the theme's share per period with Wilson 95% error bars (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = theme["periods"]
    figure = Figure(figsize=(6.4, 2.6), dpi=150)
    axes = figure.subplots()
    x = list(range(len(rows)))
    share = [100 * r["share"] for r in rows]
    low = [100 * (r["share"] - r["ci95"][0]) for r in rows]
    high = [100 * (r["ci95"][1] - r["share"]) for r in rows]
    axes.bar(x, share, color="#4a6d8c", width=0.6)
    axes.errorbar(x, share, yerr=[low, high], fmt="none", ecolor="#222", capsize=3, lw=1)
    axes.set_xticks(x, [f"{r['period']}\nn={r['calls']}" for r in rows], fontsize=7)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% of calls", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_title(f"{theme['label']}: share of analysed calls (95 % Wilson CI)", fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def dossier_document(
    session: Session,
    *,
    redact: bool,
    policy: RedactionPolicy | None,
    operator: str,
    by: str = "month",
    extractor: EntityExtractor | None = None,
    allow_proposed: bool = False,
) -> dict[str, Any]:
    """The dossier as a JSON-like document (charts are added at rendering)."""
    from .quote_sheet import quote_sheet_document

    quotes = list_quotes(session)
    sheet = quote_sheet_document(
        session,
        quotes,
        redact=redact,
        policy=policy,
        operator=operator,
        extractor=extractor,
        allow_proposed=allow_proposed,
    )
    raw = [quote_dict(session, q) for q in quotes]
    for entry, q in zip(sheet["quotes"], raw, strict=True):
        entry["parties"], entry["call_id"] = q["parties"], q["call_id"]
    if redact:
        names = assign_pseudonyms(session, operator=operator)
    else:
        names = {p.id: p.name for p in session.scalars(select(Person))}
    persons = _persons(session, names, sheet["quotes"])
    placed = {q["ref"] + q["text"] for p in persons for q in p["quotes"]}
    others = [
        {"text": q["text"], "ref": q["ref"], "flags": q["flags"]}
        for q in sheet["quotes"]
        if q["ref"] + q["text"] not in placed
    ]
    present = set(session.scalars(select(CallTheme.theme).distinct()))
    themes = [
        _theme(theme_trend(session, t.id, by=by), t.label, t.description)
        for t in load_themes().themes
        if t.id in present
    ]
    dated = [c for c in session.scalars(select(Call.started_at)) if c is not None]
    verified = sum(1 for p in persons if p["verification"]["status"] == "verified")
    takeaways = [
        f"{len(persons)} people speak in {len(dated)} dated calls "
        f"({_month(min(dated)) if dated else '?'} to {_month(max(dated)) if dated else '?'}); "
        f"{verified} of them verified.",
        *[t["summary"] for t in sorted(themes, key=lambda t: -abs(t["change"]))[:5]],
    ]
    return {
        "title": "Takeaways",
        "notice": REDACTED_NOTICE if redact else WARNING,
        "redacted": redact,
        "generated": datetime.now(UTC).date().isoformat(),
        "takeaways": takeaways,
        "persons": persons,
        "themes": themes,
        "other_quotes": others,
    }


def _html_text(doc: dict[str, Any], charts: dict[str, bytes]) -> str:
    from .formats.html import environment

    uris = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in charts.items()}
    return environment().get_template("dossier.html.j2").render(doc=doc, charts=uris)


def _docx(doc: dict[str, Any], charts: dict[str, bytes]) -> Rendered:
    from docx import Document
    from docx.shared import Cm, RGBColor

    from .formats.docx import docx_texts

    document = Document()
    document.core_properties.title = doc["title"]
    document.add_paragraph().add_run(doc["notice"]).bold = True
    document.add_heading(doc["title"], level=0)
    for line in doc["takeaways"]:
        document.add_paragraph(line, style="List Bullet")
    document.add_heading("People", level=1)
    for person in doc["persons"]:
        document.add_heading(person["name"], level=2)
        document.add_paragraph(
            f"{person['role']} · {person['calls']} call(s), {person['from']} to {person['to']}"
        )
        how = ", ".join(f"{k} ({v})" for k, v in person["attribution"].items()) or "none"
        document.add_paragraph(f"Call sides attributed by: {how}")
        ver = person["verification"]
        document.add_paragraph(f"Verification: {ver['status'].replace('_', ' ')}")
        for event in ver["history"]:
            kinds = ", ".join(event["evidence"]) or "no evidence cited"
            document.add_paragraph(
                f"{event['date']}: {event['status'].replace('_', ' ')} ({kinds})",
                style="List Bullet",
            )
        for quote in person["quotes"]:
            para = document.add_paragraph(style="Intense Quote")
            para.add_run(f"“{quote['text']}” ")
            para.add_run(f"({quote['ref']})").italic = True
            for flag in quote["flags"]:
                flagged = document.add_paragraph().add_run(flag)
                flagged.font.color.rgb = RGBColor(0xB0, 0, 0)
    if doc["other_quotes"]:
        document.add_heading("Other quotes (speaker not attributed)", level=2)
        for quote in doc["other_quotes"]:
            para = document.add_paragraph(style="Intense Quote")
            para.add_run(f"“{quote['text']}” ")
            para.add_run(f"({quote['ref']})").italic = True
    document.add_heading("Themes", level=1)
    for theme in doc["themes"]:
        document.add_heading(theme["label"], level=2)
        document.add_paragraph(theme["description"])
        document.add_picture(io.BytesIO(charts[theme["id"]]), width=Cm(15))
        document.add_paragraph(theme["summary"])
    buffer = io.BytesIO()
    document.save(buffer)
    data = neutral_docx(buffer.getvalue(), doc["title"])
    return Rendered(data, docx_texts(data))


def render_dossier(doc: dict[str, Any], fmt: str) -> Rendered:
    """The dossier in `fmt` (html, pdf, docx), with the text the leak guard reads."""
    from .formats.html import html_or_pdf

    require_format(fmt, DOSSIER_FORMATS, "dossier")
    charts = {t["id"]: trend_chart_png(t) for t in doc["themes"]}
    if fmt == "docx":
        return _docx(doc, charts)
    text = _html_text(doc, charts)
    # The guard reads the text without the embedded charts: base64 is random letters
    # (false alarms), and a chart holds only theme labels, periods and counts.
    readable = _DATA_URI_RE.sub("data:image/png;base64,", text)
    return html_or_pdf(text, fmt, readable=readable)


def export_dossier(
    case: Case,
    out: Path,
    options: DossierOptions,
    *,
    extractor: EntityExtractor | None = None,
) -> dict[str, Any]:
    """Write the dossier to `out` (refused, and nothing written, on any leak)."""
    require_format(options.fmt, DOSSIER_FORMATS, "dossier")
    if not options.redact:
        authorise_identifying("a dossier", identifying=options.identifying, role=options.role)
    with case.session() as session:
        doc = dossier_document(
            session,
            redact=options.redact,
            policy=options.policy,
            operator=options.operator,
            by=options.by,
            extractor=extractor,
            allow_proposed=options.allow_proposed,
        )
        rendered = render_dossier(doc, options.fmt)
        return write_guarded(
            session,
            out,
            rendered,
            guard=LeakGuard.for_case(session) if options.redact else None,
            document=doc,
            what="dossier",
            fmt=options.fmt,
            action="dossier",
            operator=options.operator,
            detail={
                "format": options.fmt,
                "redacted": options.redact,
                "persons": len(doc["persons"]),
                "themes": [t["id"] for t in doc["themes"]],
                "file": out.name,
            },
        )
