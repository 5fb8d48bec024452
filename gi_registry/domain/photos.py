"""Report photos made safe: the type decoded not guessed, bombs refused, re-encoded as JPEG without metadata."""

import io
import math
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import Image, UnidentifiedImageError

from . import N_, DomainError

# HEIC/HEIF, which phones set to "high efficiency" save, is read by pillow-heif's opener, registered here
# once for the whole process. Only the picture itself is read: not the embedded thumbnail (which a
# crafted file could make another picture), nor depth maps or other auxiliary images.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# MPO: the JPEG some phone cameras save; HEIF: the format Pillow names a .heic/.heif file by
ACCEPTED_FORMATS = {"JPEG", "MPO", "HEIF", "PNG", "WEBP", "GIF", "BMP"}
JPEG_FORMATS = {"JPEG", "MPO"}
MAX_SIDE = 2048  # what a regulator needs to see; bigger only costs storage
NAME = re.compile(r"[0-9a-f]{32}\.jpg\Z")  # the names store() gives: nothing else is ever a photo


@dataclass(frozen=True)
class CleanPhoto:
    jpeg: bytes
    width: int
    height: int


def clean_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> CleanPhoto:
    """Decode, check and re-encode one upload; raise a DomainError (413/415/422) for anything unsafe.

    `max_pixels` bounds the pixels decoded, which is what costs memory: a JPEG is decoded at the
    smallest of 1/2, 1/4 or 1/8 scale that still gives the stored size, so a 48-megapixel phone photo
    decodes as 12 and passes, while a PNG or a HEIC is decoded whole and must be within the bound as it
    is. Either way the size is read from the file's header and checked before anything is decoded."""
    if len(data) > max_bytes:
        raise DomainError("photo_too_large", N_("a photo is larger than allowed"), status=413)
    try:
        with warnings.catch_warnings():
            # Pillow warns before it errors on decompression bombs; a warning is already too big here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise _wrong_type()
            if image.format in JPEG_FORMATS:
                image.draft("RGB", stored_size(image.size))
            if image.width * image.height > max_pixels:
                raise _too_many_pixels(max_pixels)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    # A damaged HEIC fails in libheif's words: EOFError for coded data cut short, RuntimeError for a picture
    # bigger than its header says (libheif will not decode past the size measured above).
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, RuntimeError):
        raise _wrong_type() from None
    return _reencode(image)


def stored_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a picture is kept at: within MAX_SIDE on its longer side, its shape unchanged. Asking a
    JPEG's draft for this (not a square) lets a long screenshot decode small too."""
    width, height = size
    scale = min(MAX_SIDE / max(width, height), 1.0)
    return max(math.ceil(width * scale), 1), max(math.ceil(height * scale), 1)


def _wrong_type() -> DomainError:
    return DomainError("photo_type", N_("photos must be JPEG, HEIC, PNG, WebP, GIF or BMP images"), status=415)


def _too_many_pixels(max_pixels: int) -> DomainError:
    return DomainError(
        "photo_too_many_pixels",
        N_("a photo has too many pixels (at most %(megapixels)s million)"),
        params={"megapixels": max_pixels // 1_000_000},
        status=413,
    )


# EXIF orientation → the turn that makes the picture upright (as ImageOps.exif_transpose does).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright_turn(image: Image.Image) -> Image.Transpose | None:
    """The turn that makes the picture upright as its EXIF orientation says, since the EXIF goes.

    Not ImageOps.exif_transpose: it writes the EXIF block back, and Pillow fails in a dozen ways on
    the broken blocks some phones and chat apps save. A block that cannot be read leaves it as it is."""
    try:
        return _UPRIGHT.get(image.getexif().get(0x0112))
    except Exception:  # Pillow raises struct.error, TypeError, ValueError… on a broken block
        return None


def _reencode(image: Image.Image) -> CleanPhoto:
    turn = _upright_turn(image)
    if image.mode.startswith("I"):  # 16-bit grey: brought to 8 bits, or every light pixel clips to white
        image = image.convert("I").point(lambda v: v / 257).convert("L")
    # Other modes are converted first: resampling bands a palette's colours, and some modes it cannot do.
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))  # before the rest, which then works on the small picture
    image = _on_white(image) if image.mode in ("RGBA", "LA") else image.convert("RGB")
    if turn is not None:
        image = image.transpose(turn)
    # Pillow carries a JPEG comment (and other text) over in info and writes it back: drop it all.
    image.info = {}
    out = io.BytesIO()
    # Saved without exif= or icc_profile= and with an empty info, it carries no GPS, camera or other metadata.
    image.save(out, format="JPEG", quality=85, optimize=True)
    return CleanPhoto(jpeg=out.getvalue(), width=image.width, height=image.height)


def _on_white(image: Image.Image) -> Image.Image:
    """A picture with transparency laid on white, as a viewer shows it: dropping the alpha channel would
    leave whatever colour the transparent pixels hold, often black, and hide black writing on them."""
    background = Image.new("RGBA", image.size, "white")
    return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")


def store(photos: list[CleanPhoto], *, upload_dir: str) -> list[str]:
    """Write the photos under random names; on any failure remove what was written."""
    folder = Path(upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for photo in photos:
            name = f"{secrets.token_hex(16)}.jpg"
            with open(folder / name, "xb") as handle:
                handle.write(photo.jpeg)
            written.append(name)
    except OSError:
        remove(written, upload_dir=upload_dir)
        raise
    return written


def remove(names: list[str], *, upload_dir: str) -> None:
    for name in names:
        try:
            os.remove(Path(upload_dir) / name)
        except FileNotFoundError:
            pass
