"""Credentials never leave acav in a URL: user:password@ and signing parameters are masked,
everything else of the URL is kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acav_assets.core.redaction import MASK, redact


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("http://u:p@h:1/x", "http://***@h:1/x"),
        ("Unable to connect to proxy socks5://bob@10.0.0.1:1080 (refused)",
         "Unable to connect to proxy socks5://***@10.0.0.1:1080 (refused)"),
        ("https://example.com/a@b", "https://example.com/a@b"),
        ("https://example.com/p?email=a@b.com", "https://example.com/p?email=a@b.com"),
        ("no url here", "no url here"),
        ("https://b.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=deadbeef&X-Amz-Expires=60",
         "https://b.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60"),
        ("ERROR: https://cdn.example/v.mp4?token=abc&id=7: HTTP Error 403",
         "ERROR: https://cdn.example/v.mp4?token=***&id=7: HTTP Error 403"),
        ("https://r1.googlevideo.com/videoplayback?sig=AOq0&lsig=AG3&itag=18",
         "https://r1.googlevideo.com/videoplayback?sig=***&lsig=***&itag=18"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("https://x.blob.core.windows.net/c/v.mp4?sv=2024&sp=r&sig=abc%3D",
         "https://x.blob.core.windows.net/c/v.mp4?sv=2024&sp=r&sig=***"),
        ("s3://key:secret@bucket/acav", "s3://***@bucket/acav"),
    ],
)  # fmt: skip
def test_redact_masks_userinfo_and_signing_parameters(text, clean):
    assert redact(text) == clean


@given(
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789%-_.~", min_size=8),
    name=st.sampled_from(["X-Amz-Signature", "token", "sig", "access_token", "Signature"]),
    user=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1),
)
def test_redacted_text_never_holds_the_secret(secret, name, user):
    url = f"https://{user}:{secret}@host.example/v.mp4?a=1&{name}={secret}&b=2"
    clean = redact(f"failed: {url} (twice: {url})")
    assert secret not in clean
    assert clean.count(MASK) == 4 and "a=1" in clean and "b=2" in clean


def test_a_parameter_whose_name_a_shortened_message_cut_is_masked():
    text = "Extracting URL: http://h/v.mp4?X-Amz-Signature=***&X-Amz-Credent...oken=abc&id=7"
    assert redact(text) == (
        "Extracting URL: http://h/v.mp4?X-Amz-Signature=***&X-Amz-Credent...oken=***&id=7"
    )
