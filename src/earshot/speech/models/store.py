"""The local models directory: what is installed, fetching from a hub, importing from removable
media, verifying against SHA-256 manifests, and choosing the best installed engine.

Layout: ``MODELS_DIR/NAME/`` holds the model's files as its hub publishes them plus
``earshot-manifest.json`` (file name -> SHA-256 and size, where it came from).  A model folder
is written under a temporary name and renamed into place, so an interrupted fetch or import
never leaves a half model that looks installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ...errors import ModelMissingError, ModelStoreError
from .catalogue import CatalogueEntry, catalogue, entry, find_entry

__all__ = [
    "MANIFEST",
    "DefaultChoice",
    "InstalledModel",
    "ModelStatus",
    "ModelStoreError",
    "VerifyResult",
    "choose_default_asr",
    "fetch_model",
    "files_digest",
    "import_model",
    "installed_model",
    "list_models",
    "model_digest",
    "resolve_asr_spec",
    "verify_models",
    "write_manifest",
]

MANIFEST = "earshot-manifest.json"
_CHUNK = 1 << 20

Progress = Callable[[str, int, int | None], None]
"""progress(file name, bytes done, total bytes or None)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def files_digest(files: dict[str, str]) -> str:
    """One SHA-256 for a model: over its sorted "name sha256" lines (the model hash recorded
    in transcript provenance)."""
    lines = "".join(f"{name} {sha}\n" for name, sha in sorted(files.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("no 'files' mapping")
        return data
    except (OSError, ValueError) as error:
        raise ModelStoreError(
            f"{path}: unreadable manifest ({error}); fetch or import the model again"
        ) from error


_digest_cache: dict[tuple[str, float], str] = {}


def model_digest(directory: Path, files: Iterable[str]) -> str:
    """The model hash of ``directory``: from its manifest when it has one (``verify`` checks
    the manifest against the files), else by hashing ``files`` (cached per folder mtime)."""
    manifest = _read_manifest(directory)
    if manifest is not None:
        return files_digest({k: str(v["sha256"]) for k, v in manifest["files"].items()})
    key = (str(directory.resolve()), directory.stat().st_mtime)
    if key not in _digest_cache:
        _digest_cache[key] = files_digest(
            {name: _sha256(directory / name) for name in files if (directory / name).is_file()}
        )
    return _digest_cache[key]


def write_manifest(directory: Path, name: str, source: str) -> dict[str, Any]:
    """Hash every file of ``directory`` (except the manifest) into its manifest."""
    files = {
        path.name: {"sha256": _sha256(path), "bytes": path.stat().st_size}
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name != MANIFEST
    }
    found = find_entry(name)
    manifest = {
        "name": name,
        "hub_repo": found.hub_repo if found else None,
        "source": source,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8")
    return manifest


@dataclass(frozen=True)
class InstalledModel:
    """A model folder in the models directory that holds every file the catalogue lists for
    the full-precision model or for its int8 variant (``quantization``)."""

    name: str
    path: Path
    has_manifest: bool
    quantization: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "has_manifest": self.has_manifest,
            "quantization": self.quantization,
        }


def _variant(item: CatalogueEntry, folder: Path) -> tuple[bool, str | None]:
    """(complete, quantization): whether ``folder`` holds a whole variant of the model, and
    which (None = full precision, "int8")."""
    if folder.is_dir():
        for quantization, files in ((None, item.files), ("int8", item.int8_files)):
            if files and all((folder / f).is_file() for f in files):
                return True, quantization
    return False, None


def _models_dir(models_dir: str | Path) -> Path:
    return Path(models_dir).expanduser()


def installed_model(name: str, models_dir: str | Path) -> InstalledModel | None:
    """The installed copy of catalogue model ``name``, or None when absent or incomplete."""
    item = entry(name)
    folder = _models_dir(models_dir) / item.name
    complete, quantization = _variant(item, folder)
    if not complete:
        return None
    return InstalledModel(item.name, folder, (folder / MANIFEST).is_file(), quantization)


@dataclass(frozen=True)
class ModelStatus:
    """A catalogue entry and whether (and where) it is installed."""

    model: CatalogueEntry
    installed: InstalledModel | None
    missing_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.model.as_dict(),
            "installed": self.installed is not None,
            "path": str(self.installed.path) if self.installed else None,
            "quantization": self.installed.quantization if self.installed else None,
            "missing_files": list(self.missing_files),
        }


def list_models(models_dir: str | Path) -> list[ModelStatus]:
    """Every catalogue model with its installation status."""
    statuses = []
    for item in catalogue():
        folder = _models_dir(models_dir) / item.name
        missing = (
            tuple(f for f in item.files if not (folder / f).is_file())
            if folder.is_dir() and not _variant(item, folder)[0]
            else ()
        )
        statuses.append(ModelStatus(item, installed_model(item.name, models_dir), missing))
    return statuses


def _hub_url(base_url: str, repo: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/{repo}/resolve/main/{name}"


def _staging(models_dir: Path, name: str) -> Path:
    """A fresh hidden staging folder; those left by a fetch or import that was killed are
    removed first (they never look installed: `list`, `verify` and the engines skip them)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    for stale in models_dir.glob(f".{name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=models_dir))


def _install(staging: Path, target: Path, replace: bool) -> None:
    if target.exists():
        if not replace:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelStoreError(
                f"{target} already exists; pass --replace to overwrite it, or `earshot models "
                "verify` to check it"
            )
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SHA256 = re.compile(r'^(?:W/)?"?([0-9a-f]{64})"?$')


def _check_base_url(base_url: str) -> None:
    """Plain HTTP lets anyone on the path swap a model: only https, or http on this machine."""
    parsed = urlparse(base_url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK):
        return
    raise ModelStoreError(
        f"hub URL {base_url!r}: use https (plain http only for a mirror on this machine, "
        "e.g. http://127.0.0.1:8080)"
    )


def _published_sha256(response: Any) -> str | None:
    """The SHA-256 the hub publishes for a file: Hugging Face sends it as the (linked) ETag of
    large (LFS) files, on the redirect or the final answer."""
    for answer in (*response.history, response):
        for header in ("x-linked-etag", "etag"):
            match = _SHA256.match(answer.headers.get(header, "").strip().lower())
            if match:
                return match.group(1)
    return None


def fetch_model(
    name: str,
    models_dir: str | Path,
    *,
    base_url: str = "https://huggingface.co",
    replace: bool = False,
    progress: Progress | None = None,
    timeout: float = 60.0,
    quantization: str | None = None,
) -> InstalledModel:
    """Download catalogue model ``name`` from its hub repository (``BASE/REPO/resolve/main/FILE``,
    the Hugging Face layout; any mirror with that layout works) into the models directory,
    writing the SHA-256 manifest.  Opt-in: nothing else in Earshot touches the network.
    Where the hub publishes a file's SHA-256 (Hugging Face's ETag of large files) the download
    must match it."""
    import httpx

    _check_base_url(base_url)
    item = entry(name)
    files = item.variant_files(quantization)
    root = _models_dir(models_dir)
    staging = _staging(root, item.name)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            for file_name in files:
                url = _hub_url(base_url, item.hub_repo, file_name)
                try:
                    with client.stream("GET", url) as response:
                        if response.status_code != 200:
                            raise ModelStoreError(
                                f"fetching {item.name}: {url} answered HTTP "
                                f"{response.status_code}; check --hub-url / the models_hub_url "
                                "setting and that the repository still publishes this file"
                            )
                        total = response.headers.get("content-length")
                        published = _published_sha256(response)
                        digest = hashlib.sha256()
                        done = 0
                        with (staging / file_name).open("wb") as handle:
                            for block in response.iter_bytes(_CHUNK):
                                handle.write(block)
                                digest.update(block)
                                done += len(block)
                                if progress:
                                    progress(file_name, done, int(total) if total else None)
                        if published and digest.hexdigest() != published:
                            raise ModelStoreError(
                                f"fetching {item.name}: {file_name} does not match the SHA-256 "
                                f"the hub publishes for it ({published[:12]}...); the download "
                                "was damaged or altered on the way; nothing was installed"
                            )
                except httpx.HTTPError as error:
                    raise ModelStoreError(
                        f"fetching {item.name}: {url} failed ({type(error).__name__}: {error}); "
                        "this needs a machine with network access"
                    ) from error
        write_manifest(staging, item.name, f"{base_url.rstrip('/')}/{item.hub_repo}")
        target = root / item.name
        _install(staging, target, replace)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return InstalledModel(item.name, target, True, quantization)


def _check_against_manifest(directory: Path, manifest: dict[str, Any]) -> list[str]:
    problems = []
    for file_name, expected in sorted(manifest["files"].items()):
        path = directory / file_name
        if Path(file_name).name != file_name:
            problems.append(f"{file_name}: not a plain file name")
        elif not path.is_file():
            problems.append(f"{file_name}: missing")
        elif path.stat().st_size != expected.get("bytes", path.stat().st_size):
            problems.append(
                f"{file_name}: {path.stat().st_size} bytes, manifest says {expected['bytes']}"
            )
        elif _sha256(path) != expected.get("sha256"):
            problems.append(f"{file_name}: SHA-256 differs from the manifest")
    return problems


def import_model(
    source: str | Path,
    models_dir: str | Path,
    *,
    name: str | None = None,
    replace: bool = False,
) -> InstalledModel:
    """Copy a model folder (e.g. from removable media) into the models directory.

    A folder with a manifest (written by ``fetch`` on the connected machine) is checked file by
    file before anything is installed.  A folder without one needs ``name`` (a catalogue
    model); its files are checked against the catalogue's list and a manifest is written.
    """
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise ModelStoreError(f"{folder} is not a folder; give the model folder to import")
    manifest = _read_manifest(folder)
    if manifest is None:
        if not name:
            raise ModelStoreError(
                f"{folder} has no {MANIFEST}; fetch the model with `earshot models fetch` on the "
                "connected machine (it writes one), or pass --name MODEL to import it unchecked"
            )
        item = entry(name)
        complete, quantization = _variant(item, folder)
        if not complete:
            missing = [f for f in item.files if not (folder / f).is_file()]
            raise ModelStoreError(f"{folder} lacks {', '.join(missing)} of model {item.name}")
        copy = list(item.variant_files(quantization))
    else:
        item = entry(name or str(manifest.get("name")))
        problems = _check_against_manifest(folder, manifest)
        if problems:
            raise ModelStoreError(
                f"{folder} does not match its manifest: {'; '.join(problems)}; copy it again "
                "from the connected machine"
            )
        copy = [*manifest["files"], MANIFEST]
    root = _models_dir(models_dir)
    staging = _staging(root, item.name)
    try:
        for file_name in copy:
            shutil.copyfile(folder / file_name, staging / file_name)
        if manifest is None:
            write_manifest(staging, item.name, f"imported without manifest from {folder}")
        elif _check_against_manifest(staging, manifest):
            raise ModelStoreError(f"copying {folder} changed its files; check the medium")
        target = root / item.name
        _install(staging, target, replace)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    found = installed_model(item.name, root)
    return found or InstalledModel(item.name, target, True)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of re-hashing one installed model."""

    name: str
    path: str
    status: str  # ok | mismatch | no-manifest
    problems: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = list(self.problems)
        return data


def verify_models(models_dir: str | Path, names: Iterable[str] = ()) -> list[VerifyResult]:
    """Re-hash every model folder in the models directory (or only ``names``)."""
    root = _models_dir(models_dir)
    wanted = [entry(n).name for n in names]
    folders = (
        [root / n for n in wanted]
        if wanted
        else sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if root.is_dir()
        else []
    )
    results = []
    for folder in folders:
        if not folder.is_dir():
            results.append(VerifyResult(folder.name, str(folder), "mismatch", ("not installed",)))
            continue
        manifest = _read_manifest(folder)
        if manifest is None:
            results.append(
                VerifyResult(folder.name, str(folder), "no-manifest", (f"no {MANIFEST}",))
            )
            continue
        problems = tuple(_check_against_manifest(folder, manifest))
        results.append(
            VerifyResult(folder.name, str(folder), "mismatch" if problems else "ok", problems)
        )
    return results


@dataclass(frozen=True)
class DefaultChoice:
    """The engine `earshot process` uses when no --asr is given, and why."""

    spec: str | None
    model: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_default_asr(models_dir: str | Path) -> DefaultChoice:
    """The best installed model for Russian telephone audio, by the catalogue's ranking
    (GigaAM-v3 RNN-T, GigaAM-v3 CTC, T-one, Parakeet, Whisper)."""
    ranked = sorted(
        (e for e in catalogue() if e.default_rank is not None),
        key=lambda e: e.default_rank or 0,
    )
    for item in ranked:
        found = installed_model(item.name, models_dir)
        if found is None:
            continue
        better = [e.name for e in ranked if (e.default_rank or 0) < (item.default_rank or 0)]
        wer = "; ".join(f"{w.wer:g} % WER on {w.set} ({w.source})" for w in item.telephone_wer)
        reason = f"{item.name} is the best installed model for Russian telephone audio: {item.why}"
        if wer:
            reason += f"; {wer}"
        if better:
            reason += f"; better-ranked but not installed: {', '.join(better)}"
        return DefaultChoice(item.spec(str(found.path)), item.name, reason)
    return DefaultChoice(
        None,
        None,
        f"no speech model installed in {_models_dir(models_dir)}; run `earshot models list` "
        "and `earshot models fetch gigaam-v3-rnnt` on a connected machine",
    )


def resolve_asr_spec(spec: str, models_dir: str | Path, engines: Iterable[str] = ()) -> str:
    """Expand a bare catalogue name (``gigaam-v3-ctc``) or ``onnx-asr:MODEL`` without a folder
    into a full spec pointing at the installed copy; other specs are returned unchanged.
    ``engines`` are registered engine names, which win over model names."""
    name, _, rest = spec.partition(":")
    if name in set(engines) and not (name == "onnx-asr" and rest and ":" not in rest):
        return spec
    model = rest if name == "onnx-asr" else (name if not rest else "")
    item = find_entry(model) if model else None
    if item is None:
        return spec
    found = installed_model(item.name, models_dir)
    if found is None:
        raise ModelMissingError(
            f"model {item.name} is not installed in {_models_dir(models_dir)}; on a machine with "
            f"network run `earshot models fetch {item.name}`, then copy the folder and run "
            "`earshot models import FOLDER` here (or set models_dir / EARSHOT_MODELS_DIR)"
        )
    return item.spec(str(found.path))
