"""The domain core: plain functions over a session; nothing here knows about HTTP."""

import unicodedata


def N_(message: str) -> str:
    """Mark a message for the catalogues; the web layer translates it when it shows it."""
    return message


def ascii_digits(text: str) -> bool:
    """Only 0-9: str.isdigit() also takes ² and other digits that int() refuses or a code never holds."""
    return text.isascii() and text.isdigit()


def ascii_dashes(text: str) -> str:
    """Any dash (Unicode's Pd: a Chinese keyboard's "—" or "–" for the key marked "-") as the printed "-"."""
    return "".join("-" if unicodedata.category(c) == "Pd" else c for c in text)


def as_printed(text: str) -> str:
    """Text typed on a Chinese keyboard as a label prints it: full-width letters and digits as ASCII (NFKC),
    any dash as "-"."""
    return ascii_dashes(unicodedata.normalize("NFKC", text))


class DomainError(Exception):
    """A refused operation, with a stable snake_case code and per-field reasons.

    `params` fill the %(name)s placeholders of the message and the field reasons once translated, so the
    catalogue holds one msgid whatever the numbers.
    """

    status = 422

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: dict | None = None,
        status: int | None = None,
        params: dict | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.params = params or {}
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str):
        super().__init__("not_found", f"{what} not found")
        self.what = what


class Conflict(DomainError):
    status = 409
