"""The unified social credit code (统一社会信用代码, GB 32100-2015) and its check character."""

import re
import unicodedata

from . import N_

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_SHAPE = re.compile(rf"^[{CHARSET}]{{18}}$")
_SPACE = re.compile(r"\s+")  # \s takes the full-width space of a Chinese input method too


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(char) * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """Why the value is not a valid USCC, or None when it is."""
    if not _SHAPE.match(value):
        return N_("must be 18 characters of 0-9 and A-Y without I, O, S, V, Z")
    if check_character(value[:17]) != value[17]:
        return N_("check character does not match")
    return None


def normalise(value: str) -> str:
    """The code as pasted from a certificate, which prints it in groups: every space gone, in capitals; typed
    by a Chinese input method left in full-width mode (９１ＭＡ…), as the ASCII code it means (NFKC)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", value)).upper()
