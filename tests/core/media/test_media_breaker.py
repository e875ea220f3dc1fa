"""The per-site circuit breaker against an obvious model, on random answer sequences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from acav_assets.core.media import SiteBreaker
from acav_assets.core.reasons import PUSHBACK, Reason


def _reference(events: list[tuple[str, str | None]], trip_after: int) -> dict[str, str]:
    """Obvious model: a site opens at the answer ending its first run of ``trip_after``
    pushbacks in a row; that answer's reason is kept."""
    opened: dict[str, str] = {}
    for site in {s for s, _ in events}:
        streak = 0
        for other, reason in events:
            if other != site:
                continue
            streak = streak + 1 if reason in PUSHBACK else 0
            if streak == trip_after:
                opened[site] = reason
                break
    return opened


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["youtube", "vimeo.com"]),
            st.sampled_from([None, Reason.BOT_CHECK, Reason.RATE_LIMITED, Reason.HTTP_404]),
        ),
        max_size=40,
    ),
    st.integers(1, 4),
)
def test_breaker_opens_a_site_after_n_pushbacks_in_a_row(events, trip_after):
    breaker = SiteBreaker(lambda site: trip_after)
    opened_at = []
    for index, (site, reason) in enumerate(events):
        if breaker.record(site, reason):
            opened_at.append(index)
    assert breaker.open_ == _reference(events, trip_after)
    assert len(opened_at) == len(breaker.open_)  # each site opens once
    for site in {"youtube", "vimeo.com"}:
        assert breaker.allows(site) == (site not in breaker.open_)


def test_breaker_threshold_is_per_site():
    breaker = SiteBreaker({"youtube": 2, "vimeo.com": 3}.__getitem__)
    for _ in range(2):
        breaker.record("youtube", Reason.BOT_CHECK)
        breaker.record("vimeo.com", Reason.RATE_LIMITED)
    assert not breaker.allows("youtube") and breaker.allows("vimeo.com")
