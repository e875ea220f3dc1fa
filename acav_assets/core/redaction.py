"""Credentials out of every URL acav writes where someone else reads it.

A manifest may list signed URLs (an S3 presigned ``X-Amz-Signature``, a CDN's ``token=``,
a site's ``sig=``), a proxy or a source URL may carry ``user:password@``, and yt-dlp quotes
them back in its errors. Whatever reaches a log line, a table row, the exported CSV or the
UI's metadata goes through ``redact`` first: the user and password become ``***``, and so
does the value of every query parameter that signs or authorises the request. The URL keeps
its host, path and other parameters, so a row still says which video it was.
"""

from __future__ import annotations

import re

# user[:password]@ right after a scheme
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@?#]+@")
# Parameters whose value signs or authorises a request, by their whole (lowercased) name...
_SECRET_NAMES = frozenset(
    {
        "sig", "lsig", "signature", "key", "apikey", "api_key", "auth", "token", "policy",
        "key-pair-id", "x-amz-credential", "x-goog-credential", "password", "passwd", "pass",
        "secret", "session", "code", "jwt",
    }
)  # fmt: skip
# ...or by a word inside it (x-amz-signature, x-amz-security-token, access_token, hdnts...)
_SECRET_WORDS = re.compile(r"signature|token|secret|password|credential|hdnts|hdnea")
# name=value after ? or & (or ; in some CDNs), up to the next separator, quote or space
_PARAMETER = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&;#\s\"'<>]+)=(?P<value>[^&;#\s\"'<>]*)")
# a parameter whose name a shortened message cut ("X-Amz-Credent...oken=..." in yt-dlp's
# logs): its name cannot be known, so its value is masked
_CUT = re.compile(r"(?P<lead>\.\.\.|…)(?P<name>[^=&;#\s\"'<>]*)=(?P<value>[^&;#\s\"'<>]*)")
MASK = "***"


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or _SECRET_WORDS.search(lowered) is not None


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    if "=" not in text:
        return text
    text = _PARAMETER.sub(
        lambda m: f"{m['lead']}{m['name']}={MASK}" if _is_secret(m["name"]) else m[0], text
    )
    return _CUT.sub(lambda m: f"{m['lead']}{m['name']}={MASK}", text)


def redact_optional(text: str | None) -> str | None:
    """``redact`` for a column that may be null."""
    return None if text is None else redact(text)
