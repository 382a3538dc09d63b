"""The browser's intake and jobs: uploads streamed to disk, their preview, background jobs.

Thin on :mod:`earshot.jobs`: each route passes the request's actor to the library (which
checks the ``ingest`` permission, stages, previews, queues) and turns its typed refusals
into HTTP answers. A file is sent as the raw body of one PUT and written chunk by chunk
as it arrives, so neither the server nor the library ever holds a whole file; a body
announced or grown past ``upload_max_bytes`` is answered 413 with the limit in words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .. import jobs
from ..errors import EarshotError, JobNotFoundError, UploadError, UploadTooLargeError
from ..security.errors import PermissionDeniedError
from . import schemas
from .api import ERRORS, RowId, needs
from .context import Access, WebState
from .pages import render

__all__ = ["page_router", "router"]

router = APIRouter(prefix="/api", tags=["intake"])
page_router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

UploadId = Annotated[str, Field(max_length=64)]
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    413: {"description": "The file is larger than the upload limit (upload_max_bytes)."},
    422: {"description": "The library refused (bad path, already started, no files...)."},
}


class UploadOut(BaseModel):
    id: str
    operator: str
    started: bool
    files: list[dict[str, Any]]
    records: str | None
    job_id: int | None


class StoredFile(BaseModel):
    path: str
    size: int
    records: bool


class StartIn(BaseModel):
    process: bool = True


class PreviewOut(schemas._Open):
    """``earshot.ingest.preview.IngestPreview``: the records' column mapping, which row
    lands on which file, the files' recorder names, problems (the ingest's dry run)."""

    records_file: str | None
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    files: list[dict[str, Any]]
    problems: list[str]
    errors: list[str]
    counts: dict[str, int]


@contextmanager
def _library() -> Iterator[None]:
    try:
        yield
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except JobNotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except UploadTooLargeError as exc:
        raise HTTPException(status_code=413, detail=str(exc)) from None
    except UploadError as exc:
        status = 404 if str(exc).startswith("no upload") else 422
        raise HTTPException(status_code=status, detail=str(exc)) from None
    except EarshotError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


def _web(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def _kick(request: Request, access: Access) -> None:
    dispatcher = _web(request).jobs
    if dispatcher is not None:
        dispatcher.kick(access.case)


@router.post(
    "/cases/{case_id}/uploads",
    response_model=UploadOut,
    responses=ERRORS,
    openapi_extra=needs("INGEST"),
)
def new_upload(access: Access) -> dict[str, Any]:
    """Open a private upload folder to drop files, folders and archives into."""
    with _library():
        return jobs.new_upload(access.case, access.actor).as_dict()


@router.put(
    "/cases/{case_id}/uploads/{upload_id}/files",
    response_model=StoredFile,
    responses=UPLOAD_ERRORS,
    openapi_extra=needs("INGEST"),
)
async def put_file(
    request: Request,
    access: Access,
    upload_id: UploadId,
    path: Annotated[str, Query(max_length=4096)] = "",
    records: bool = False,
) -> dict[str, Any]:
    """One file of the upload as the raw request body (its folder path in `path`;
    `records`: the call-record table), streamed to disk in chunks."""
    limit = access.case.settings.upload_max_bytes
    with _library():
        # Disk work (mkdir, write, fsync) in worker threads: the event loop serves others.
        writer = await run_in_threadpool(
            jobs.upload_file, access.case, access.actor, upload_id, path, records=records,
            limit=limit,
        )  # fmt: skip
        try:
            announced = int(request.headers.get("content-length") or 0)
            if announced > limit:
                raise UploadTooLargeError(
                    f"{path.rsplit('/', 1)[-1]} ({announced:,} bytes) is larger than the "
                    f"upload limit of {limit:,} bytes; split it, or ask the admin to raise "
                    "upload_max_bytes"
                )
            async for chunk in request.stream():
                if chunk:
                    await run_in_threadpool(writer.write, chunk)
            size = await run_in_threadpool(writer.close)
        except BaseException:
            writer.abort()
            raise
    return {"path": path, "size": size, "records": records}


@router.get(
    "/cases/{case_id}/uploads/{upload_id}",
    response_model=UploadOut,
    responses=ERRORS,
    openapi_extra=needs("INGEST"),
)
def upload(access: Access, upload_id: UploadId) -> dict[str, Any]:
    """What the upload holds so far."""
    with _library():
        return jobs.upload_record(access.case, access.actor, upload_id).as_dict()


@router.get(
    "/cases/{case_id}/uploads/{upload_id}/preview",
    response_model=PreviewOut,
    responses=UPLOAD_ERRORS,
    openapi_extra=needs("INGEST"),
)
def preview(access: Access, upload_id: UploadId) -> dict[str, Any]:
    """How the upload would be taken in; writes nothing to the case."""
    with _library():
        return jobs.preview_upload(access.case, access.actor, upload_id).as_dict()


@router.post(
    "/cases/{case_id}/uploads/{upload_id}/start",
    response_model=schemas.JobRecord,
    responses=UPLOAD_ERRORS,
    openapi_extra=needs("INGEST"),
)
def start(
    request: Request, access: Access, upload_id: UploadId, body: StartIn | None = None
) -> dict[str, Any]:
    """Take the upload in as a background job (then process its new calls)."""
    settings = access.case.settings
    stages = settings.intake_stages.strip()
    process = (body or StartIn()).process and stages != "none"
    only = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    dispatcher = _web(request).jobs
    with _library():
        job = jobs.start_upload(
            access.case,
            access.actor,
            upload_id,
            process=process,
            only=only,
            backend=settings.process_backend,
            queue=dispatcher.queue_of(access.case) if dispatcher else "local",
        )
        _kick(request, access)
    return job.as_dict()


@router.delete(
    "/cases/{case_id}/uploads/{upload_id}",
    status_code=204,
    responses=UPLOAD_ERRORS,
    openapi_extra=needs("INGEST"),
)
def discard(access: Access, upload_id: UploadId) -> Response:
    """Throw away an upload that was not taken in."""
    with _library():
        jobs.discard_upload(access.case, access.actor, upload_id)
    return Response(status_code=204)


@router.get("/cases/{case_id}/jobs/{job_id}", response_model=schemas.JobRecord, responses=ERRORS)
def job(access: Access, job_id: RowId) -> dict[str, Any]:
    """One job with its progress: per call and stage, failures, ETA."""
    with _library():
        return jobs.get_job(access.case, job_id).as_dict()


@router.post(
    "/cases/{case_id}/jobs/{job_id}/cancel",
    response_model=schemas.JobRecord,
    responses=UPLOAD_ERRORS,
    openapi_extra=needs("INGEST"),
)
def cancel(access: Access, job_id: RowId) -> dict[str, Any]:
    """Cancel a queued job, or stop a running one at its next step."""
    with _library():
        return jobs.cancel_job(access.case, access.actor, job_id).as_dict()


@router.post(
    "/cases/{case_id}/jobs/{job_id}/retry",
    response_model=schemas.JobRecord,
    responses=UPLOAD_ERRORS,
    openapi_extra=needs("INGEST"),
)
def retry(request: Request, access: Access, job_id: RowId) -> dict[str, Any]:
    """Queue a failed, cancelled or interrupted job again."""
    with _library():
        out = jobs.retry_job(access.case, access.actor, job_id).as_dict()
        _kick(request, access)
    return out


@page_router.get("/cases/{case_id}/intake")
def intake_page(request: Request, access: Access) -> Response:
    """Drop calls and a call-record file, see the preview, start the job."""
    return render(
        request,
        "intake.html",
        access,
        page="intake",
        limit=access.case.settings.upload_max_bytes,
        limit_text=_size(access.case.settings.upload_max_bytes),
    )


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


@page_router.get("/cases/{case_id}/jobs")
def jobs_page(request: Request, access: Access) -> Response:
    """The case's background jobs with live progress, cancel and retry."""
    return render(request, "jobs.html", access, page="jobs")
