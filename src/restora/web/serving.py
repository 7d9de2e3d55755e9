"""The web app's limits and the checks of ``restora serve``'s options, without Gradio (so the
command line can check its options, and warn, before the page is built).

The defaults are those of a page anyone on a network might reach: smaller than the command
line's, since one visitor's upload should not be able to take the server's memory.
"""

from __future__ import annotations

import ipaddress

DEFAULT_MAX_PIXELS = 24_000_000
"""Largest upload the page decodes (24 megapixels, a large phone or camera photo); checked from
the file's header before any decoding. ``restora restore`` keeps the library's 150 MP."""

DEFAULT_MAX_UPLOAD_MB = 50.0
"""Largest upload Gradio accepts (megabytes); a bigger file is refused while it arrives."""

DEFAULT_MAX_STORAGE_MB = 500.0
"""Uploads the server holds at once, all visitors together (megabytes); an upload that would go
over it is refused before it is read (HTTP 413)."""

DEFAULT_MAX_CLIENT_MB = 150.0
"""Uploads one client address holds at once (megabytes; HTTP 429 beyond it): three uploads of
the largest size."""

DEFAULT_UPLOADS_PER_MINUTE = 20
"""Upload requests one client address may make in a minute (HTTP 429 beyond it)."""

UNCLAIMED_UPLOAD_SECONDS = 120
"""An upload that no open page has used (no upload check, no run) this long after it arrived is
deleted, as is a partial file left by an upload that broke off."""

UPLOAD_SWEEP_SECONDS = 30
"""How often the server looks for such uploads."""

DEFAULT_MAX_QUEUE = 8
"""Runs that may wait behind the running one; one more is told that the server is busy."""

QUEUE_HEADROOM = 4
"""Gradio's own queue holds this many events more than :data:`DEFAULT_MAX_QUEUE` (upload
checks wait in it too); it is the hard bound behind the page's own, friendlier one."""

CACHE_SWEEP_SECONDS = 600
CACHE_MAX_AGE_SECONDS = 3600
"""Every ten minutes Gradio deletes the app's files older than an hour, for sessions that never
ended cleanly (a browser that crashed); a session that ends deletes its own files at once."""

BUSY_MESSAGE = (
    "restora is busy with other people's runs and its queue is full; try again in a minute"
)

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine (127.0.0.0/8, ::1,
    localhost); 0.0.0.0, a LAN address or any other name is reachable from the network."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_auth(text: str) -> tuple[str, str]:
    """``USER:PASSWORD`` as (user, password); the user name may not hold a colon, the password
    may. Raises ValueError (whose message never repeats the password) on anything else."""
    user, colon, password = text.partition(":")
    if not colon or not user.strip() or not password:
        raise ValueError(
            "expected USER:PASSWORD, a non-empty user name and a non-empty password "
            "separated by a colon"
        )
    if user != user.strip():
        raise ValueError("the user name may not start or end with a space")
    return user, password


def exposure_warning(host: str, share: bool = False, auth: bool = False) -> str | None:
    """The warning ``restora serve`` prints on stderr when the page is reachable from other
    machines (a non-loopback ``host`` or a Gradio share link); None when only this one sees
    it."""
    reasons = []
    if not is_loopback(host):
        reasons.append(f"it listens on {host}, so anyone who can reach this machine")
    if share:
        reasons.append("--share makes a public link, so anyone who has the link")
    if not reasons:
        return None
    who = " and ".join(reasons)
    if auth:
        return (
            f"warning: {who} can open the page; it asks for the --auth password, which "
            "travels unencrypted over plain HTTP (put it behind HTTPS on an untrusted network)"
        )
    return (
        f"warning: {who} can use the web app without a password (upload images, run restora "
        "on this machine's CPU and memory); add --auth USER:PASSWORD, or keep --host 127.0.0.1"
    )


def resolve_max_pixels(max_pixels: float | None) -> int:
    """The page's pixel limit: ``max_pixels`` when given, else ``RESTORA_MAX_PIXELS`` when
    set, else :data:`DEFAULT_MAX_PIXELS`."""
    if max_pixels is not None:
        return int(max_pixels)
    from restora.settings import settings

    configured = settings().max_pixels
    return DEFAULT_MAX_PIXELS if configured is None else int(configured)
