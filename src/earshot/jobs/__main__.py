"""`python -m earshot.jobs CASE`: the worker process a server starts for a case's jobs."""

import sys

from .worker import main

sys.exit(main())
