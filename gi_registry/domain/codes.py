"""Stateless signed label codes: pack (key id, batch id, serial) and a truncated HMAC.

Layout of the raw bytes before base32:

    header   1 byte   key id (1..31) in the high 5 bits, format 0 in the low 3
    batch    varint   LEB128, minimal
    serial   varint   LEB128, minimal (0 = the batch-level code)
    mac      8 bytes  HMAC-SHA256(secret, DOMAIN + the bytes above)[:8]

A batch id below 2^14 and a serial below 2^14 give 13 bytes = 21 characters;
batch ids below 2^28 and serials below 2^21 stay within 16 bytes = 26 characters.
The text is upper-case RFC 4648 base32 without padding, so a URL built from it
fits QR alphanumeric mode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit, urlunsplit

DOMAIN = b"gi-registry/label-code/v1\x00"
MAC_BYTES = 8
MAX_KEY_ID = 31
MIN_SECRET_CHARS = 16
MAX_NUMBER = 2**63 - 1  # a PostgreSQL bigint; its varint takes at most 9 bytes
# Longest code: header + two 9-byte varints + MAC = 27 bytes = 44 characters.
MAX_CODE_CHARS = 44
QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_FORMAT = 0


@dataclass(frozen=True)
class CodeKeys:
    """Signing secrets by key id; `current` signs, every id verifies."""

    # repr=False keeps secrets out of logs and tracebacks.
    keys: dict[int, bytes] = field(repr=False)
    current: int

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("GI_CODE_KEY: no keys")
        for key_id, secret in self.keys.items():
            _check_key(key_id, secret)
        if self.current not in self.keys:
            raise ValueError(f"GI_CODE_KEY: current key id {self.current} has no secret")

    @classmethod
    def from_setting(cls, value: str) -> CodeKeys:
        """Parse GI_CODE_KEY: a bare secret (key id 1) or "3:new,2:old" (first is current)."""
        value = (value or "").strip()
        if not value:
            raise ValueError("GI_CODE_KEY is empty; set it to a secret such as new_secret()")
        if ":" not in value and "," not in value:
            return cls(keys={1: value.encode()}, current=1)
        pairs = [_parse_pair(item, n) for n, item in enumerate(value.split(","), 1)]
        keys = dict(pairs)
        if len(keys) != len(pairs):
            raise ValueError("GI_CODE_KEY lists a key id twice")
        return cls(keys=keys, current=pairs[0][0])

    def fingerprints(self) -> dict[str, str]:
        """Each key's id and a digest that tells the key apart and gives nothing of it away: a backup keeps
        them (never the keys), so a restore under other keys is caught before every label reads as forged."""
        check = b"gi-registry code key fingerprint"
        return {
            str(key_id): hmac.new(secret, check, hashlib.sha256).hexdigest()[:16]
            for key_id, secret in self.keys.items()
        }


@dataclass(frozen=True)
class ParsedCode:
    key_id: int
    batch_id: int
    serial: int


def _parse_pair(item: str, position: int) -> tuple[int, bytes]:
    key_id, sep, secret = item.strip().partition(":")
    if not sep or not key_id.isdigit() or not key_id.isascii():
        # Say where, never what: the item may be a secret.
        raise ValueError(f"GI_CODE_KEY item {position} is not 'id:secret'")
    return int(key_id), secret.strip().encode()


def _check_key(key_id: int, secret: bytes) -> None:
    if not 1 <= key_id <= MAX_KEY_ID:
        raise ValueError(f"GI_CODE_KEY: key id {key_id} is outside 1..{MAX_KEY_ID}")
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(
            f"GI_CODE_KEY: the secret of key id {key_id} is shorter than "
            f"{MIN_SECRET_CHARS} characters; make one with: {NEW_SECRET}"
        )


# What an operator runs for a secret (messages name it, not a Python function).
NEW_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def new_secret() -> str:
    """A fresh random secret for GI_CODE_KEY."""
    return secrets.token_urlsafe(32)


def _varint(number: int) -> bytes:
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _read_varint(raw: bytes, pos: int) -> tuple[int, int] | None:
    """Decode a minimal LEB128 varint at pos; None if truncated or padded."""
    number = shift = 0
    for index in range(pos, min(len(raw), pos + 9)):
        byte = raw[index]
        number |= (byte & 0x7F) << shift
        if not byte & 0x80:
            # A trailing 0x00 continuation would give a second spelling of the number.
            if byte == 0 and index > pos:
                return None
            return number, index + 1
        shift += 7
    return None


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, DOMAIN + payload, hashlib.sha256).digest()[:MAC_BYTES]


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def sign_code(*, keys: CodeKeys, batch_id: int, serial: int) -> str:
    """The code of a unit label (serial 1..N) or of the batch itself (serial 0)."""
    if not (1 <= batch_id <= MAX_NUMBER and 0 <= serial <= MAX_NUMBER):
        raise ValueError("batch_id must be in 1..2^63-1 and serial in 0..2^63-1")
    header = bytes([keys.current << 3 | _FORMAT])
    payload = header + _varint(batch_id) + _varint(serial)
    return _b32(payload + _mac(keys.keys[keys.current], payload))


def _decode_b32(code: str) -> bytes | None:
    """Strict base32: no padding, no stray characters, zero trailing bits."""
    if not code.isascii() or not code.isalnum() or len(code) > MAX_CODE_CHARS:
        return None
    text = code.upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error:
        return None
    # Re-encoding rejects non-zero unused bits, the second spelling of a code.
    return raw if _b32(raw) == text else None


def _unpack(raw: bytes) -> ParsedCode | None:
    if len(raw) < 3 + MAC_BYTES or raw[0] & 0b111 != _FORMAT:
        return None
    batch = _read_varint(raw, 1)
    serial = batch and _read_varint(raw, batch[1])
    if not serial or serial[1] != len(raw) - MAC_BYTES or batch[0] < 1:
        return None
    return ParsedCode(key_id=raw[0] >> 3, batch_id=batch[0], serial=serial[0])


def parse_code(code: str, *, keys: CodeKeys) -> ParsedCode | None:
    """The fields of a genuine code, or None if malformed, of an unknown key, or forged."""
    raw = _decode_b32(code) if isinstance(code, str) else None
    parsed = raw and _unpack(raw)
    secret = parsed and keys.keys.get(parsed.key_id)
    if not secret:
        return None
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    return parsed if hmac.compare_digest(mac, _mac(secret, payload)) else None


def code_in(text: str) -> str:
    """The code a consumer typed, or the code in the label's URL they pasted (what generic scanner apps
    give): `HTTP://HOST/Q/CODE?x` gives CODE, and a GS1 Digital Link the code it carries in AI 8030 (its
    signature). A link of any other shape (a lookalike site's "/verify?id=…") carries none: "". Upper-cased,
    as codes are read case-insensitively; full-width letters and digits (a Chinese keyboard's) as ASCII."""
    text = unicodedata.normalize("NFKC", text).strip()
    try:
        parts = urlsplit(text) if "://" in text else None
    except ValueError:  # a URL that is none (an unclosed IPv6 host): read as typed, and so no code
        parts = None
    if parts is None:
        return text.upper().rpartition("/Q/")[2].strip("/")
    if signed := parse_qs(parts.query).get("8030"):
        return signed[0].strip().upper()
    _head, marker, tail = parts.path.upper().rpartition("/Q/")
    return tail.strip("/") if marker else ""


def _is_alphanumeric(text: str) -> bool:
    return set(text) <= QR_ALPHANUMERIC


def _upper_origin(base_url: str) -> str:
    """Upper-case scheme and host (case-insensitive) but never the user info."""
    parts = urlsplit(base_url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = userinfo + at + hostport.upper()
    return urlunsplit((parts.scheme.upper(), netloc, parts.path, parts.query, parts.fragment))


def code_url(base_url: str, code: str) -> str:
    """BASE/Q/CODE, all upper-case where that lets the QR use alphanumeric mode."""
    base = base_url.rstrip("/")
    upper = _upper_origin(base)
    if _is_alphanumeric(upper):
        base = upper
    return f"{base}/Q/{code.upper()}"
