"""Uploaded media (the multipart ``media`` extension): checked, stored under data_dir, served by us.

The type is decided from the file's own bytes, not from what the client declares, so a script renamed
to .jpg is refused. Files are named by a random id, never by the client's file name. Every photo is
stored without its metadata (``image_metadata``): what is served is public.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.open311.errors import InvalidInput, NotFound
from bot.open311.image_metadata import without_metadata

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}
_TYPES_BY_EXTENSION = {extension: media_type for media_type, extension in _EXTENSIONS.items()}
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(jpg|png|gif|webp)$")
# GeoReport v2 has one media_url per request: the photos after it are listed at the end of the description.
_MORE_PHOTOS = "\n\nMore photos: "


def with_more_photos(words: str, more: Sequence[str], limit: int | None = None) -> str:
    """A description: ``words``, then the photos after the request's first listed at its end. Cut to
    ``limit`` characters with an ellipsis, the words cut and the photos kept."""
    tail = f"{_MORE_PHOTOS}{' '.join(more)}" if more else ""
    if limit is not None and len(words) + len(tail) > limit:
        words = words[: max(limit - len(tail) - 1, 0)].rstrip() + "…"
    return (words + tail)[:limit] if limit is not None else words + tail


def more_photos(description: str) -> tuple[str, list[str]]:
    """A description's words and the photos listed at its end (``with_more_photos`` undone)."""
    words, found, tail = description.rpartition(_MORE_PHOTOS)
    urls = tail.split()
    if not found or not urls or not all(url.startswith(("http://", "https://")) for url in urls):
        return description, []
    return words, urls


def sniff_media_type(data: bytes) -> str | None:
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True, slots=True)
class StoredMedia:
    name: str
    media_type: str
    path: Path


class MediaStore:
    def __init__(
        self, directory: Path, public_base_url: str, allowed_types: list[str], max_bytes: int
    ) -> None:
        self.directory = directory
        self.public_base_url = public_base_url.rstrip("/")
        self.allowed_types = frozenset(allowed_types)
        self.max_bytes = max_bytes

    def save(self, data: bytes) -> StoredMedia:
        """Checks and stores an upload without its metadata (GPS position, camera, owner); InvalidInput
        (field ``media``) when it is empty, too big or not an allowed image type. A file that only starts
        as an image of its type (truncated, corrupt) is stored as received, as before: what cannot be
        decoded cannot be encoded again."""
        if not data:
            raise InvalidInput("media is empty", field="media")
        if len(data) > self.max_bytes:
            raise InvalidInput(f"media is larger than {self.max_bytes} bytes", field="media")
        media_type = sniff_media_type(data)
        if media_type is None or media_type not in self.allowed_types:
            allowed = ", ".join(sorted(self.allowed_types))
            raise InvalidInput(f"media must be one of: {allowed}", field="media")
        data = without_metadata(data, media_type) or data
        self.directory.mkdir(parents=True, exist_ok=True)
        name = secrets.token_urlsafe(18) + _EXTENSIONS[media_type]
        path = self.directory / name
        temporary = path.with_suffix(path.suffix + ".part")
        temporary.write_bytes(data)
        os.replace(temporary, path)  # readers never see a half-written file
        return StoredMedia(name=name, media_type=media_type, path=path)

    def url_for(self, name: str) -> str:
        return f"{self.public_base_url}/{name}"

    def open(self, name: str) -> StoredMedia:
        if not _NAME.fullmatch(name):
            raise NotFound("no such media", field="media")
        path = self.directory / name
        if not path.is_file():
            raise NotFound("no such media", field="media")
        return StoredMedia(name=name, media_type=_TYPES_BY_EXTENSION[path.suffix], path=path)

    def link(self, url: str) -> str:
        """The URL to give out for a stored one: a file of ours at the address we answer at now
        (``url_for``), whatever host, port or path it was stored with, so that a restart on another
        address or a public_url set later keeps every earlier photo's link alive (the stored URL only
        identifies the file); any other URL (a client's media_url, a file we do not hold) as given."""
        parts = urlsplit(url)
        folder, _, name = parts.path.rstrip("/").rpartition("/")
        if parts.scheme not in ("http", "https") or not folder.endswith("/media") or not self.has(name):
            return url
        return self.url_for(name)

    def name_in(self, url: str) -> str | None:
        """The name of the file a URL of ours (``url_for``) points at, stored or not; None when the URL
        does not end in a name the store gives. Only the name is compared: workers with no ``public_url``
        each name their own port in the URLs."""
        name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return name if _NAME.fullmatch(name) else None

    def has(self, name: str) -> bool:
        return bool(_NAME.fullmatch(name)) and (self.directory / name).is_file()

    def delete(self, name: str) -> bool:
        """Deletes a stored file (no longer served); False when there was none."""
        if not _NAME.fullmatch(name):
            return False
        try:
            (self.directory / name).unlink()
        except FileNotFoundError:
            return False
        return True
