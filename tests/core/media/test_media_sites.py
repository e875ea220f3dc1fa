"""Per-site yt-dlp settings: checked at start, passed to yt-dlp as its own options."""

from __future__ import annotations

import pytest
import yt_dlp
from hypothesis import given
from hypothesis import strategies as st

from acav_assets.core.media import parse_sites, site_of
from acav_assets.core.media.fetch import ytdlp_params
from acav_assets.core.media.options import DownloadSettings
from acav_assets.core.media.sites import SiteOptions
from acav_assets.core.media.stack import packaged_deno

VIDEO = "https://www.youtube.com/watch?v=aaaaaaaaaaa"
BGUTIL = "youtubepot-bgutilhttp"


@pytest.mark.parametrize(
    ("url", "site"),
    [
        (VIDEO, "youtube"),
        ("https://youtu.be/aaaaaaaaaaa", "youtube"),
        ("https://m.youtube.com/playlist?list=PL1", "youtube"),
        ("https://www.vimeo.com/123", "vimeo.com"),
        ("http://127.0.0.1:8000/a.mp4", "127.0.0.1"),
        ("https://notyoutube.com/watch?v=aaaaaaaaaaa", "notyoutube.com"),
    ],
)
def test_site_of_names_youtube_and_other_hosts(url, site):
    assert site_of(url) == site


def test_site_settings_reach_yt_dlp_as_its_own_options(tmp_path):
    sites = parse_sites(
        {
            "YouTube": {
                "extractor_args": {
                    "youtube": {"player_client": ["default", "mweb"]},
                    BGUTIL: {"base_url": "http://127.0.0.1:4416"},
                },
                "sleep_requests": 0.75,
                "sleep_interval": 2,
                "max_sleep_interval": 5,
            }
        }
    )
    settings = DownloadSettings(sites=sites)
    params = ytdlp_params(str(tmp_path), "v", settings, url=VIDEO, sectioned=False)
    with yt_dlp.YoutubeDL(params) as ydl:
        assert (ydl.params["sleep_interval_requests"], ydl.params["sleep_interval"]) == (0.75, 2)
        assert ydl.params["max_sleep_interval"] == 5
        youtube = ydl.get_info_extractor("Youtube")
        assert youtube._configuration_arg("player_client") == ["default", "mweb"]
        base_url = youtube._configuration_arg("base_url", ie_key=BGUTIL, casesense=True)
        assert base_url == ["http://127.0.0.1:4416"]
    other = ytdlp_params(str(tmp_path), "v", settings, url="http://h/a.mp4", sectioned=False)
    assert "extractor_args" not in other and "sleep_interval" not in other
    assert other["js_runtimes"] == {"deno": {"path": packaged_deno()}}


def test_extractor_args_take_yt_dlp_s_command_line_spelling():
    typed = parse_sites(
        {"youtube": {"extractor_args": {"YouTube": {"Player-Client": ["default", "mweb"]}}}}
    )
    spelled = parse_sites({"youtube": {"extractor_args": ["youtube:player-client=default,mweb"]}})
    assert typed == spelled
    assert typed["youtube"].extractor_args == {"youtube": {"player_client": ("default", "mweb")}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"youtube": {"sleep_between": 1}}, "unknown settings ['sleep_between']"),
        ({"youtube": {"sleep_requests": -1}}, "sleep_requests=-1"),
        ({"youtube": {"sleep_requests": "1"}}, "sleep_requests='1'"),
        ({"youtube": {"max_sleep_interval": 3}}, "max_sleep_interval needs"),
        ({"youtube": {"sleep_interval": 4, "max_sleep_interval": 3}}, "max_sleep_interval"),
        ({"youtube": {"js_runtime": "rhino"}}, "js_runtime='rhino'"),
        ({"youtube": {"trip_after": 0}}, "trip_after=0"),
        ({"youtube": {"trip_after": True}}, "trip_after=True"),
        ({"youtube": {"extractor_args": {"youtube": {"player_client": [1]}}}}, "player_client"),
        ({"youtube": {"extractor_args": "player_client=web"}}, "is not IE_KEY:ARGS"),
        ({"youtube": {"extractor_args": 3}}, "extractor_args must map"),
        ({"youtube": 3}, "settings must be a mapping"),
        ([("youtube", {})], "sites must map"),
    ],
)
def test_bad_site_settings_fail_at_once_with_their_name(raw, message):
    with pytest.raises(ValueError, match="site|sites") as caught:
        parse_sites(raw)
    assert message in str(caught.value)


def test_a_site_without_settings_gets_the_defaults():
    assert DownloadSettings().site_options("youtube") == SiteOptions()
    assert parse_sites(None) == {} and parse_sites({"vimeo.com": None}) == {
        "vimeo.com": SiteOptions()
    }


def test_ingest_options_check_their_site_settings():
    from acav_assets.core.media import IngestOptions

    def options(sites):
        return IngestOptions(download=DownloadSettings(sites=sites))

    assert options({"youtube": {"sleep_requests": 1}}).validate()
    with pytest.raises(ValueError, match=r"unknown settings \['bogus'\]"):
        options({"youtube": {"bogus": 1}}).validate()
    with pytest.raises(ValueError, match="trip_after=0"):
        options({"youtube": SiteOptions(trip_after=0)}).validate()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    ["extractor_args", "sleep_requests", "sleep_interval", "max_sleep_interval",
     "js_runtime", "js_runtime_path", "trip_after", "other"]
)  # fmt: skip


@given(st.dictionaries(st.text(max_size=8), st.dictionaries(_KEYS, _JSON) | _JSON, max_size=3))
def test_arbitrary_site_settings_parse_or_fail_with_a_value_error(raw):
    try:
        sites = parse_sites(raw)
    except ValueError:
        return
    for name, settings in sites.items():
        assert settings.validate(name) is settings
