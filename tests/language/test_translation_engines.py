"""The real translation adapters: a tiny random-weight CTranslate2 model, a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import webvtt
from sqlalchemy import select

from earshot.errors import ConfigError, ModelMissingError
from earshot.ingest.runner import IngestOptions, ingest
from earshot.language.translation import (
    CTranslate2Engine,
    HttpEngine,
    TranslationEngineError,
    draft_translations,
    get_engine,
    parse_engine_spec,
)
from earshot.language.translation.testing import build_tiny_opus_mt
from earshot.store.case import Case
from earshot.store.language_models import Translation

SAMPLE = Path(str(files("earshot") / "data" / "sample"))
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
RUSSIAN = [turn["text"] for call in TRUTH["calls"] for turn in call["turns"]]
ENGLISH = [
    cue.text
    for path in sorted((SAMPLE / "translations").glob("*.vtt"))
    for cue in webvtt.read(str(path))
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_opus_mt(tmp_path_factory.mktemp("mt") / "opus-mt-tiny", RUSSIAN, ENGLISH)


def test_ctranslate2_runs_end_to_end(tiny_model: Path) -> None:
    engine = get_engine(f"ctranslate2:{tiny_model}")
    assert isinstance(engine, CTranslate2Engine)
    out = engine.translate([RUSSIAN[0], "", RUSSIAN[1]])
    assert len(out) == 3 and out[1] == ""
    assert out[0] and out[2] and all(isinstance(t, str) for t in out)
    provenance = engine.provenance()
    assert provenance["engine"] == "ctranslate2" and provenance["model"] == "opus-mt-tiny"


def test_ctranslate2_drafts_stored(tiny_model: Path, case: Case) -> None:
    ingest(case, [SAMPLE / "calls"], IngestOptions(metadata=SAMPLE / "calls.csv", workers=1))
    with case.session() as session:
        report = draft_translations(
            session, CTranslate2Engine(tiny_model), actor="mt", call_ids=[1, 2]
        )
        rows = list(session.execute(select(Translation)).scalars())
    assert report.created == len(rows) > 0
    assert {r.engine["engine"] for r in rows} == {"ctranslate2"}
    assert all(r.status == "draft" and r.version == 1 for r in rows)


def test_missing_models_say_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="ct2-transformers-converter"):
        get_engine(f"ctranslate2:{tmp_path / 'nothing'}")
    with pytest.raises(ModelMissingError, match="needs a model folder"):
        get_engine("ctranslate2")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.bin").write_bytes(b"\0")
    with pytest.raises(ModelMissingError, match="no tokenizer"):
        get_engine(f"ctranslate2:{tmp_path / 'm'}")
    with pytest.raises(ModelMissingError, match="argos"):
        get_engine("argos")  # argostranslate is not installed here
    with pytest.raises(ConfigError, match="unknown translation engine"):
        get_engine("babelfish")
    assert parse_engine_spec("http:http://h:5000/x").model == "http://h:5000/x"


class _LibreTranslate(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        if body.get("api_key") == "wrong":
            reply, status = {"error": "Invalid API key"}, 403
        else:
            reply, status = {"translatedText": [f"[en] {q}" for q in body["q"]]}, 200
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def libretranslate() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LibreTranslate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_engine_against_local_server(
    libretranslate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MT_KEY", "s3cret")
    engine = get_engine(f"http:{libretranslate}", api_key_env="MT_KEY")
    assert isinstance(engine, HttpEngine)
    assert engine.translate(["Привет", "", "Как дела?"]) == ["[en] Привет", "", "[en] Как дела?"]
    sent = _LibreTranslate.seen[-1]
    assert sent["source"] == "ru" and sent["target"] == "en" and sent["api_key"] == "s3cret"
    assert "s3cret" not in json.dumps(engine.provenance())
    monkeypatch.setenv("MT_KEY", "wrong")
    with pytest.raises(TranslationEngineError, match="403"):
        engine.translate(["Привет"])
    down = HttpEngine("http://127.0.0.1:9", timeout=2)
    with pytest.raises(TranslationEngineError, match="unreachable"):
        down.translate(["Привет"])
