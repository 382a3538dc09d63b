"""Background jobs of a case: uploads taken in, ingest and processing run by a worker.

The application layer of the browser's intake (and of `earshot jobs`): every function
takes the :class:`~earshot.security.roles.Actor` and checks the ``ingest`` permission,
and the state of every job lives in the case database (the ``jobs`` table), so jobs
survive the process that ran them. See docs/web.md, "Bringing material in".
"""

from __future__ import annotations

from ..ingest.watch import JobSummary
from .dispatch import JobDispatcher, rq_target
from .queue import (
    cancel_job,
    claim_job,
    get_job,
    list_background_jobs,
    recover_jobs,
    retry_job,
    submit_job,
)
from .run import run_job
from .uploads import (
    UploadRecord,
    UploadWriter,
    discard_upload,
    new_upload,
    preview_upload,
    start_upload,
    upload_file,
    upload_record,
)
from .worker import LocalWorkers, run_queued_job, work

__all__ = [
    "JobDispatcher",
    "JobSummary",
    "LocalWorkers",
    "UploadRecord",
    "UploadWriter",
    "cancel_job",
    "claim_job",
    "discard_upload",
    "get_job",
    "list_background_jobs",
    "new_upload",
    "preview_upload",
    "recover_jobs",
    "retry_job",
    "rq_target",
    "run_job",
    "run_queued_job",
    "start_upload",
    "submit_job",
    "upload_file",
    "upload_record",
    "work",
]
