"""Network reach: the addresses a download may connect to, checked on every request.

A manifest URL, a redirect, or a segment URL inside a playlist can name the deployment's own
network: a cloud metadata service on 169.254.169.254, a database on 10.0.0.5, a dashboard on
localhost. With ``DownloadSettings.refuse_private_addresses`` (on in the cluster, off for
local work and the tests, which serve media on 127.0.0.1), every URL yt-dlp is about to
request is resolved and refused unless each address it resolves to is a global one; so is
every redirect before it is followed (``PublicOnlyYoutubeDL``), and every URL of the
formats chosen for a download, which ffmpeg fetches itself for sectioned downloads. A URL
that is not http(s) (a redirect to ``file://``) is refused whatever the setting.

What is left: ffmpeg, fetching the sections of a video, follows HTTP redirects and playlist
segments on its own, and a host may resolve differently a moment later (DNS rebinding);
SECURITY.md says so.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import yt_dlp
from yt_dlp.networking._requests import RequestsRH

from acav_assets.core.media.ytdlp_errors import DownloadStopped
from acav_assets.core.reasons import Reason
from acav_assets.core.redaction import redact

_SCHEMES = ("http", "https")


def _not_global(host: str, port: int | None) -> str | None:
    """Why ``host`` is not a global address (or does not resolve to only global ones)."""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return None  # the request fails on its own, with the resolver's message
        addresses = {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found}
    for address in sorted(addresses, key=str):
        mapped = getattr(address, "ipv4_mapped", None) or address
        if not mapped.is_global or mapped.is_multicast:
            return f"{host} is {mapped}, not a global address"
    return None


def check_url(url: str, *, refuse_private: bool) -> None:
    """Raise ``DownloadStopped`` unless ``url`` is http(s) and (with ``refuse_private``) names
    only global addresses."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        scheme = parts.scheme or "no"
        raise DownloadStopped(Reason.URL_REFUSED, f"{scheme} scheme in {redact(url)[:200]}")
    if not refuse_private or not parts.hostname:
        return
    try:
        port = parts.port
    except ValueError:
        port = None
    if (why := _not_global(parts.hostname, port)) is not None:
        raise DownloadStopped(Reason.PRIVATE_ADDRESS, why)


def format_urls(info: dict[str, Any]) -> Iterator[str]:
    """Every URL of the formats yt-dlp chose for a download: the media, their manifests and
    their fragments."""
    for chosen in [info, *(info.get("requested_formats") or [])]:
        for key in ("url", "manifest_url", "fragment_base_url"):
            if isinstance(chosen.get(key), str):
                yield chosen[key]
        base = chosen.get("fragment_base_url") or ""
        for fragment in chosen.get("fragments") or []:
            if isinstance(fragment, dict) and (fragment.get("url") or fragment.get("path")):
                yield fragment.get("url") or urljoin(base, fragment["path"])


class _CheckedRequestsRH(RequestsRH):
    """yt-dlp's requests handler, checking each redirect before it is followed (only
    http(s); and only global addresses where ``refuse_private``)."""

    refuse_private: ClassVar[bool] = False

    def _check_redirect(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.is_redirect:
            target = urljoin(response.url, response.headers["location"])
            check_url(target, refuse_private=self.refuse_private)
        return response

    def _create_instance(self, cookiejar: Any, legacy_ssl_support: Any = None) -> Any:
        session = super()._create_instance(cookiejar, legacy_ssl_support)
        session.hooks["response"].append(self._check_redirect)
        return session


class _PublicOnlyRequestsRH(_CheckedRequestsRH):
    refuse_private = True


class CheckedYoutubeDL(yt_dlp.YoutubeDL):
    """A ``YoutubeDL`` whose every request goes through the checked handler and no other, so
    nothing it fetches escapes the check."""

    handler: ClassVar[type[_CheckedRequestsRH]] = _CheckedRequestsRH

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        return super().build_request_director([self.handler], preferences)

    def urlopen(self, req: Any) -> Any:
        """Every request yt-dlp makes (pages, media, fragments) passes here first; checked
        here rather than in the handler, whose errors the request director rewraps."""
        url = req if isinstance(req, str) else getattr(req, "url", None) or req.get_full_url()
        check_url(url, refuse_private=self.handler.refuse_private)
        return super().urlopen(req)


class PublicOnlyYoutubeDL(CheckedYoutubeDL):
    """``CheckedYoutubeDL`` that also refuses every non-global address."""

    handler = _PublicOnlyRequestsRH


def youtube_dl(params: dict[str, Any], *, refuse_private: bool) -> yt_dlp.YoutubeDL:
    """The ``YoutubeDL`` of one download, checked as the settings say."""
    return (PublicOnlyYoutubeDL if refuse_private else CheckedYoutubeDL)(params)
