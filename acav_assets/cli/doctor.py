"""``acav doctor``: whether the download stack is whole (ffmpeg, yt-dlp, the JS runtime and
the EJS solver scripts YouTube needs, cookies, proxy, the storage root)."""

from __future__ import annotations

from typing import Annotated

import typer

from acav_assets.cli.app import app
from acav_assets.cli.common import HomeOption, acav, print_summary, resolved, stderr
from acav_assets.cli.pipeline import SitesOption, download_stack, read_sites


@app.command("doctor")
def doctor(
    home: HomeOption = None,
    cookies: Annotated[
        str | None,
        typer.Option(help="Cookies file for yt-dlp (default: $ACAV_YTDLP_COOKIES)."),
    ] = None,
    proxy: Annotated[
        str | None, typer.Option(help="Proxy URL (default: the environment's).")
    ] = None,
    sites: SitesOption = None,
) -> None:
    """Check the download stack: ffmpeg, yt-dlp, the JS runtime and the EJS solver scripts
    YouTube needs, the cookies file, the proxy and the storage root; exit 1 if degraded."""
    from rich.markup import escape
    from rich.table import Table

    from acav_assets.core.media import DownloadSettings

    settings = DownloadSettings(
        cookies_file=cookies or resolved(acav(home)).ytdlp_cookies,
        proxy=proxy,
        sites=read_sites(sites),
    )
    report = download_stack(home, settings)
    table = Table("part", "", "state")
    for fact in report.facts:
        mark = "[green]ok[/]" if fact.ok else "[red]!![/]"
        state = fact.value + ("" if fact.ok else f": {fact.problem}")
        table.add_row(fact.name, mark, escape(state))
    stderr.print(table)
    if not report.ok:
        stderr.print(
            "[red]YouTube downloads are degraded:[/] " + escape("; ".join(report.problems))
        )
    print_summary({"ok": report.ok, **report.as_dict()})
    if not report.ok:
        raise typer.Exit(1)
