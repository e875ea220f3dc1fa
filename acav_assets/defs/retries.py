"""What a step that touches the network or a GPU does when it fails: it is retried.

Why: on a cluster a download step meets a flaky DNS answer, an object store's 503 or a pod
that lost its node, and an embedding step a GPU that went away (an XID error, a preempted
node). Waiting and trying the step again fixes those; exponential backoff with jitter keeps a
fleet of pods that failed together from retrying together. Both steps are idempotent (a
re-run reuses finished downloads and replaces the shard's rows), so a retry repeats no work
twice and leaves nothing twice. A failure that a retry cannot fix (a bad setting, a missing
weight file) is raised as ``dg.Failure(allow_retries=False)`` by :func:`not_retried`.

Run retries (``run_retries`` in both instance files) cover the rest: a run whose worker
died. They skip runs that failed in a step (``retry_on_asset_or_op_failure: false``), which
these policies already retried.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg

# Downloads: 4 tries over about 1 + 2 + 4 = 7 minutes (+-1 minute each), long enough for a
# short outage of a site or the object store, short of the hour a rate limit lasts (that is
# the retry_deferred_schedule's).
NETWORK_RETRY = dg.RetryPolicy(
    max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
# GPUs: 3 tries, 2 then 6 minutes apart at most (full jitter), for the node pool to replace a
# lost node.
GPU_RETRY = dg.RetryPolicy(
    max_retries=2, delay=120, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)


@contextlib.contextmanager
def not_retried(*errors: type[BaseException]) -> Iterator[None]:
    """Turn ``errors`` raised in the block into a failure the retry policy skips."""
    try:
        yield
    except errors as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
