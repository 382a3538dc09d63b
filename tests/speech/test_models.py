"""The model catalogue and the models directory: list, fetch (from a stand-in hub on
127.0.0.1), import, verify, the default choice and bare model names."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from earshot.errors import ModelMissingError
from earshot.speech.asr import available_engines, get_engine
from earshot.speech.asr.onnx_asr import expected_files
from earshot.speech.models import (
    MANIFEST,
    catalogue,
    choose_default_asr,
    fetch_model,
    import_model,
    resolve_asr_spec,
    verify_models,
)
from earshot.speech.models.store import ModelStoreError
from earshot.speech.testing_onnx import ONNX_BUILDERS


def test_catalogue_entries_match_onnx_asr_loaders() -> None:
    names = [e.name for e in catalogue()]
    assert {"gigaam-v3-rnnt", "gigaam-v3-ctc", "t-one", "parakeet-tdt-0.6b-v3"} <= set(names)
    for item in catalogue():
        assert item.licence and item.hub_repo.count("/") == 1 and item.sample_rate in (8000, 16000)
        for wer in item.telephone_wer:
            assert 0 < wer.wer < 100 and wer.source
        if item.engine != "onnx-asr":
            continue
        # every file onnx-asr's loader globs for is among the files fetch downloads
        for pattern in expected_files(item.name):
            assert any(Path(f).match(pattern) for f in item.files), (item.name, pattern)
        for pattern in expected_files(item.name, "int8") if item.int8_files else ():
            assert any(Path(f).match(pattern) for f in item.int8_files), (item.name, pattern)


def test_tiny_builders_write_the_catalogue_layout(tmp_path: Path) -> None:
    for item in catalogue():
        if item.name not in ONNX_BUILDERS:
            continue
        folder = ONNX_BUILDERS[item.name](tmp_path / item.name)
        written = {p.name for p in folder.iterdir()}
        assert written <= set(item.files)
        # only the external-weights file of the real 2.5 GB encoder is not generated
        assert set(item.files) - written <= {"encoder-model.onnx.data"}


def test_models_list_json(run_cli: Any, tmp_path: Path) -> None:
    data = json.loads(run_cli("models", "list", "--json", "--models-dir", tmp_path).stdout)
    by_name = {m["name"]: m for m in data}
    assert by_name["gigaam-v3-rnnt"]["telephone_wer"][0]["wer"] == 17.4
    assert by_name["t-one"]["licence"] == "Apache-2.0" and by_name["t-one"]["sample_rate"] == 8000
    assert "uk" in by_name["parakeet-tdt-0.6b-v3"]["languages"]
    assert all(not m["installed"] and m["path"] is None for m in data)
    assert "GigaAM" in by_name["gigaam-v3-ctc"]["telephone_wer"][0]["source"]


class _Hub(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    """A stand-in hub on 127.0.0.1 serving tiny models at REPO/resolve/main/FILE."""
    root = tmp_path / "hub"
    for name, repo in (("gigaam-v3-ctc", "istupakov/gigaam-v3-onnx"), ("t-one", "t-tech/T-one")):
        ONNX_BUILDERS[name](root / repo / "resolve" / "main")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Hub, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_import_verify(hub: str, tmp_path: Path, run_cli: Any) -> None:
    models = tmp_path / "models"
    result = run_cli(
        "models", "fetch", "gigaam-v3-ctc", "--models-dir", models, "--hub-url", hub, "--json"
    )
    installed = Path(json.loads(result.stdout)["path"])
    assert installed == models / "gigaam-v3-ctc"
    manifest = json.loads((installed / MANIFEST).read_text("utf-8"))
    assert set(manifest["files"]) == {"config.json", "v3_ctc.onnx", "v3_vocab.txt"}
    assert manifest["source"].endswith("istupakov/gigaam-v3-onnx")
    assert [p.name for p in models.iterdir()] == ["gigaam-v3-ctc"]  # no staging left behind
    # the bare name now loads the fetched model
    spec = resolve_asr_spec("gigaam-v3-ctc", models, available_engines())
    assert spec == f"onnx-asr:gigaam-v3-ctc:{installed}"
    assert get_engine(spec, device="cpu").info.model == "gigaam-v3-ctc"
    run_cli("models", "fetch", "gigaam-v3-ctc", "--models-dir", models, "--hub-url", hub, code=2)

    # carried on removable media to another machine
    usb = tmp_path / "usb" / "gigaam-v3-ctc"
    shutil.copytree(installed, usb)
    offline = tmp_path / "offline-models"
    run_cli("models", "import", usb, "--models-dir", offline)
    verified = json.loads(run_cli("models", "verify", "--models-dir", offline, "--json").stdout)
    assert [(v["name"], v["status"]) for v in verified] == [("gigaam-v3-ctc", "ok")]

    # a corrupted copy is refused and nothing is installed
    tampered = tmp_path / "usb2" / "gigaam-v3-ctc"
    shutil.copytree(usb, tampered)
    vocab = tampered / "v3_vocab.txt"
    vocab.write_text(vocab.read_text("utf-8").replace("<blk>", "<blx>"), "utf-8")
    other = tmp_path / "other-models"
    with pytest.raises(ModelStoreError, match=r"v3_vocab\.txt: SHA-256 differs"):
        import_model(tampered, other)
    assert not other.exists() or not any(other.iterdir())

    # an installed model that changes on disk fails verify (exit 1)
    (offline / "gigaam-v3-ctc" / "v3_ctc.onnx").write_bytes(b"truncated")
    result = run_cli("models", "verify", "--models-dir", offline, code=1)
    assert "mismatch" in result.stdout and "v3_ctc.onnx" in result.stdout


def test_fetch_failure_leaves_nothing(hub: str, tmp_path: Path) -> None:
    models = tmp_path / "models"
    with pytest.raises(ModelStoreError, match="HTTP 404"):
        fetch_model("gigaam-v3-rnnt", models, base_url=hub)  # not on the stand-in hub
    assert list(models.iterdir()) == []
    with pytest.raises(ModelStoreError, match=r"ConnectError|network"):
        fetch_model("t-one", models, base_url="http://127.0.0.1:9", timeout=2)
    assert list(models.iterdir()) == []


def test_import_without_manifest_needs_a_name(tmp_path: Path) -> None:
    folder = ONNX_BUILDERS["t-one"](tmp_path / "from-colleague")
    with pytest.raises(ModelStoreError, match=r"no earshot-manifest\.json"):
        import_model(folder, tmp_path / "models")
    installed = import_model(folder, tmp_path / "models", name="t-one")
    assert (installed.path / MANIFEST).is_file()
    assert [r.status for r in verify_models(tmp_path / "models")] == ["ok"]


def test_default_choice_and_bare_names(tmp_path: Path) -> None:
    models = tmp_path / "models"
    nothing = choose_default_asr(models)
    assert nothing.spec is None and "earshot models fetch" in nothing.reason
    with pytest.raises(ModelMissingError, match="earshot models fetch gigaam-v3-rnnt"):
        resolve_asr_spec("gigaam-v3-rnnt", models, available_engines())
    assert resolve_asr_spec("vosk:/x", models, available_engines()) == "vosk:/x"
    ONNX_BUILDERS["t-one"](models / "t-one")
    assert choose_default_asr(models).model == "t-one"
    ONNX_BUILDERS["gigaam-v3-ctc"](models / "gigaam-v3-ctc")
    choice = choose_default_asr(models)
    assert choice.spec == f"onnx-asr:gigaam-v3-ctc:{models / 'gigaam-v3-ctc'}"
    assert "18.6" in choice.reason and "gigaam-v3-rnnt" in choice.reason  # better, missing
    ONNX_BUILDERS["gigaam-v3-rnnt"](models / "gigaam-v3-rnnt")
    assert choose_default_asr(models).model == "gigaam-v3-rnnt"
    spec = resolve_asr_spec("onnx-asr:t-one", models, available_engines())
    assert spec == f"onnx-asr:t-one:{models / 't-one'}"


def test_cli_bare_name_not_installed_is_one_line_advice(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from earshot.store.case import Case

    monkeypatch.setenv("EARSHOT_MODELS_DIR", str(tmp_path / "models"))
    Case.init(tmp_path / "case").close()
    result = run_cli("process", tmp_path / "case", "--asr", "gigaam-v3-rnnt", code=2)
    assert (
        "not installed" in result.stderr and "earshot models fetch gigaam-v3-rnnt" in result.stderr
    )
    result = run_cli("transcribe", tmp_path / "nothing.wav", "--json", code=2)
    assert "no --asr given" in result.stderr and "models fetch" in result.stderr


class _SlowHub(SimpleHTTPRequestHandler):
    """Serves every file as 4 MB trickled out slowly, so a fetch can be killed mid-file."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        import time

        self.send_response(200)
        self.send_header("Content-Length", str(4 << 20))
        self.end_headers()
        try:
            for _ in range(64):
                self.wfile.write(b"\0" * (64 << 10))
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_killed_fetch_leaves_nothing_installed_and_reruns(tmp_path: Path, hub: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slow = f"http://127.0.0.1:{server.server_address[1]}"
    models = tmp_path / "models"
    command = [sys.executable, "-m", "earshot", "models", "fetch", "gigaam-v3-ctc"]
    process = subprocess.Popen(
        [*command, "--models-dir", str(models), "--hub-url", slow],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(models.glob(".gigaam-v3-ctc.partial-*/*")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        server.shutdown()
        server.server_close()
    assert not (models / "gigaam-v3-ctc").exists()
    assert choose_default_asr(models).spec is None  # a partial download is not a model
    installed = fetch_model("gigaam-v3-ctc", models, base_url=hub)
    assert sorted(p.name for p in models.iterdir()) == ["gigaam-v3-ctc"]  # stale staging gone
    assert [r.status for r in verify_models(models)] == ["ok"]
    assert installed.path == models / "gigaam-v3-ctc"


class _TamperingHub(SimpleHTTPRequestHandler):
    """Publishes a SHA-256 (as Hugging Face's ETag) that the bytes it sends do not have."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("ETag", '"' + "ab" * 32 + '"')
        super().end_headers()


def test_fetch_checks_the_published_hash_and_refuses_plain_http(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    ONNX_BUILDERS["t-one"](root / "t-tech" / "T-one" / "resolve" / "main")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_TamperingHub, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    models = tmp_path / "models"
    try:
        with pytest.raises(ModelStoreError, match="does not match the SHA-256"):
            fetch_model("t-one", models, base_url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert list(models.iterdir()) == []
    with pytest.raises(ModelStoreError, match="use https"):
        fetch_model("t-one", models, base_url="http://mirror.example.org")


def test_int8_variant_fetched_and_loaded_without_being_told(tmp_path: Path) -> None:
    from earshot.errors import ConfigError

    root = tmp_path / "hub"
    served = ONNX_BUILDERS["gigaam-v3-ctc"](
        root / "istupakov" / "gigaam-v3-onnx" / "resolve" / "main"
    )
    (served / "v3_ctc.onnx").rename(served / "v3_ctc.int8.onnx")  # the hub's file name
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Hub, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    models = tmp_path / "models"
    hub_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(ModelStoreError, match="HTTP 404"):  # no full-precision file there
            fetch_model("gigaam-v3-ctc", models, base_url=hub_url)
        installed = fetch_model("gigaam-v3-ctc", models, base_url=hub_url, quantization="int8")
    finally:
        server.shutdown()
        server.server_close()
    assert installed.quantization == "int8"
    assert sorted(p.name for p in installed.path.iterdir()) == [
        "config.json", "earshot-manifest.json", "v3_ctc.int8.onnx", "v3_vocab.txt"
    ]  # fmt: skip
    choice = choose_default_asr(models)
    assert choice.model == "gigaam-v3-ctc"
    engine = get_engine(str(choice.spec), device="cpu")
    assert engine.info.options["quantization"] == "int8"
    with pytest.raises(ConfigError, match="no 'int8' variant"):
        fetch_model("t-one", models, base_url=hub_url, quantization="int8")
