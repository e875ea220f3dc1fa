"""Steps that touch the network or a GPU retry with exponential backoff and jitter; a failure
no retry can fix is not retried."""

from __future__ import annotations

import dagster as dg

from acav_assets.definitions import defs
from acav_assets.defs.retries import not_retried


def _policy(asset: str) -> dg.RetryPolicy | None:
    return defs.get_assets_def(asset).op.retry_policy


def test_download_and_gpu_steps_retry_with_backoff_and_jitter_and_no_other_step_does() -> None:
    graph = defs.resolve_asset_graph()
    retried = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_executable and _policy(key.to_user_string()) is not None
    }
    assert retried == {"videos", "clips", "audio_embeddings", "visual_embeddings"}
    for asset in retried:
        policy = _policy(asset)
        assert policy.max_retries >= 2 and policy.delay > 0
        assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter is not None


def test_a_failure_no_retry_can_fix_skips_the_retry_policy() -> None:
    attempts = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
    def flaky() -> None:
        attempts.append(1)
        with not_retried(ValueError):
            raise ValueError("bad setting")

    result = dg.materialize([flaky], raise_on_error=False)
    assert not result.success and len(attempts) == 1
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "bad setting" in str(failure.step_failure_data.error)

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def transient() -> None:
        attempts.append(2)
        if attempts.count(2) < 2:
            raise ConnectionError("reset by peer")

    assert dg.materialize([transient]).success and attempts.count(2) == 2
