"""Photos without what a camera writes into them: a photo is published, its metadata must not be.

A phone's photo carries EXIF (the GPS position it was taken at, the camera, the time, often the owner's
name), XMP, IPTC and comments. A photo taken at home gives the home's exact position away, so every photo
is stored decoded and encoded again with only the pixels (Pillow), whatever channel brought it: the API's
``media`` upload, an MMS, a Telegram photo. What a viewer needs to show it as taken is kept: the colour
profile, transparency, an animation's frames and timing, and the EXIF orientation, applied to the pixels
(the tag itself goes with the rest). A JPEG keeps its quantization tables and chroma subsampling, so its
quality is the camera's; a lossless WebP stays lossless, a lossy one is encoded at quality 90.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from PIL import Image, ImageOps, ImageSequence, JpegImagePlugin

log = logging.getLogger(__name__)

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
# What of an image's ``info`` the encoders need to draw it as it was; everything else (exif, xmp, comment,
# PNG text chunks, ...) is left behind.
_DRAWING_INFO = ("transparency", "background", "loop", "duration", "icc_profile", "dpi")
_LOSSY_WEBP_QUALITY = 90


def without_metadata(data: bytes, media_type: str) -> bytes | None:
    """The image in ``data`` encoded again as ``media_type`` without its metadata; None when Pillow
    cannot decode it as that type (truncated, corrupt, or only its first bytes are an image's)."""
    image_format = _FORMATS[media_type]
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            image.load()
            return _encoded(image, image_format, lossless_webp=_lossless_webp(data))
    # Pillow's decoders say "not an image of this kind" with OSError, SyntaxError, ValueError, EOFError,
    # struct.error, ... depending on the format and where the bytes go wrong; any of them means the same.
    except Exception as exc:
        log.warning("a %s photo could not be decoded (%s); it is stored as received", media_type, exc)
        return None


def _encoded(image: Image.Image, image_format: str, *, lossless_webp: bool) -> bytes:
    options: dict[str, Any] = {}
    icc_profile = image.info.get("icc_profile")
    if icc_profile:
        options["icc_profile"] = icc_profile
    if image_format == "WEBP":
        options["lossless"] = lossless_webp
        options["quality"] = 100 if lossless_webp else _LOSSY_WEBP_QUALITY
    # An animated GIF or WebP: every frame, each shown as long. A JPEG's other frames (an iPhone's MPO holds
    # a depth or HDR gain map after the photo) are not the picture, and carry metadata of their own.
    if image_format in ("GIF", "WEBP") and getattr(image, "n_frames", 1) > 1:
        frames = [_clean(frame.copy()) for frame in ImageSequence.Iterator(image)]
        options.update(
            save_all=True,
            append_images=frames[1:],
            duration=[frame.info.get("duration", 0) for frame in frames],
            loop=image.info.get("loop", 0),
        )
        shown = frames[0]
    else:
        shown = _clean(ImageOps.exif_transpose(image))
        if image_format == "JPEG":
            # The camera's own tables: encoded again at the quality it was taken at.
            options["qtables"] = getattr(image, "quantization", None) or None
            options["subsampling"] = JpegImagePlugin.get_sampling(image)
    out = io.BytesIO()
    shown.save(out, image_format, **options)
    return out.getvalue()


def _clean(image: Image.Image) -> Image.Image:
    """``image`` with only the ``info`` its encoder needs: Pillow's encoders write some of the rest (a
    JPEG's or a GIF's comment) back when it is there."""
    image.info = {key: image.info[key] for key in _DRAWING_INFO if key in image.info}
    return image


def _lossless_webp(data: bytes) -> bool:
    """Whether a WebP file's image data is lossless (a ``VP8L`` chunk, at the top or in its first
    animation frame) rather than lossy (``VP8 ``)."""
    offset, end = 12, len(data)
    while offset + 8 <= end:
        fourcc = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        # An animation frame: a 16-byte header, then the frame's own chunks.
        offset = offset + 8 + 16 if fourcc == b"ANMF" else offset + 8 + size + (size & 1)
    return False
