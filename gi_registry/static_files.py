"""Static files under URLs that name their content, so a phone keeps them.

Flask serves static files `no-cache`: every scan page asked again for its stylesheet, script and icon (three
more requests to the app, and a round trip before the page could be drawn). A URL made by url_for carries
`?v=` and the content's hash; asked for with that version, the file is kept a year, and a changed file
gets a new URL. A URL with no version, or an old one, is still asked about each time.
"""

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request

KEPT_SECONDS = 365 * 24 * 3600


def version(path: Path) -> str:
    """The file's content version, or "" for no file; read again only when its size or time changes."""
    try:
        stat = path.stat()
        return _hashed(path, stat.st_mtime_ns, stat.st_size)
    except OSError:  # gone, or swapped by a deploy between the two looks: linked unversioned, asked about each time
        return ""


@lru_cache(maxsize=256)
def _hashed(path: Path, _mtime_ns: int, _size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _static_path(filename: str) -> Path:
    return Path(current_app.static_folder) / filename


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        found = version(_static_path(values["filename"]))
        if found:
            values["v"] = found


def _keep_versioned(response):
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    named = request.args.get("v")
    if named and named == version(_static_path(request.view_args["filename"])):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = KEPT_SECONDS
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(_add_version)
    app.after_request(_keep_versioned)
