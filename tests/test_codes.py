"""Signed label codes: round trips, forgeries, canonical spelling, key rotation, settings."""

import base64
import random
import string

import pytest

from gi_registry.domain import codes
from gi_registry.domain.codes import (
    QR_ALPHANUMERIC,
    CodeKeys,
    ParsedCode,
    code_url,
    new_secret,
    parse_code,
    sign_code,
)

OLD = "old-secret-0123456789abcdef"
NEW = "new-secret-0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@pytest.fixture
def keys():
    return CodeKeys.from_setting(new_secret())


@pytest.mark.parametrize(
    ("batch_id", "serial"),
    [(1, 0), (1, 1), (127, 127), (128, 128), (16383, 100_000), (2**24 - 1, 2**20 - 1), (2**63 - 1, 2**63 - 1)],
)
def test_round_trip(keys, batch_id, serial):
    code = sign_code(keys=keys, batch_id=batch_id, serial=serial)
    assert parse_code(code, keys=keys) == ParsedCode(key_id=1, batch_id=batch_id, serial=serial)


def test_serial_zero_is_the_batch_code(keys):
    batch_code = sign_code(keys=keys, batch_id=42, serial=0)
    assert parse_code(batch_code, keys=keys).serial == 0
    assert batch_code != sign_code(keys=keys, batch_id=42, serial=1)


def test_codes_are_upper_case_base32_without_padding(keys):
    code = sign_code(keys=keys, batch_id=1234, serial=5678)
    assert set(code) <= set(B32)
    assert "=" not in code


@pytest.mark.parametrize(
    ("batch_id", "serial", "length"),
    [(1, 1, 18), (16383, 16383, 21), (2**24 - 1, 2**20 - 1, 26), (2**28 - 1, 2**21 - 1, 26)],
)
def test_code_length(keys, batch_id, serial, length):
    assert len(sign_code(keys=keys, batch_id=batch_id, serial=serial)) == length


def test_same_input_gives_the_same_code(keys):
    assert sign_code(keys=keys, batch_id=5, serial=6) == sign_code(keys=keys, batch_id=5, serial=6)


def test_rotation_keeps_old_codes_and_signs_with_the_new_key():
    before = CodeKeys.from_setting(OLD)
    after = CodeKeys.from_setting(f"2:{NEW},1:{OLD}")
    old_code = sign_code(keys=before, batch_id=9, serial=3)
    new_code = sign_code(keys=after, batch_id=9, serial=3)
    assert parse_code(old_code, keys=after) == ParsedCode(key_id=1, batch_id=9, serial=3)
    assert parse_code(new_code, keys=after) == ParsedCode(key_id=2, batch_id=9, serial=3)
    # The old deployment does not know key 2, and a retired key stops verifying.
    assert parse_code(new_code, keys=before) is None
    assert parse_code(old_code, keys=CodeKeys.from_setting(f"2:{NEW}")) is None


def test_every_one_character_change_fails(keys):
    code = sign_code(keys=keys, batch_id=777, serial=31337)
    for index, original in enumerate(code):
        for char in B32.replace(original, ""):
            changed = code[:index] + char + code[index + 1 :]
            assert parse_code(changed, keys=keys) is None, changed


def test_dropped_or_added_characters_fail(keys):
    code = sign_code(keys=keys, batch_id=777, serial=31337)
    for index in range(len(code)):
        assert parse_code(code[:index] + code[index + 1 :], keys=keys) is None
        assert parse_code(code[:index] + "A" + code[index:], keys=keys) is None


def test_random_strings_fail(keys):
    rng = random.Random(20260101)
    alphabets = [B32, B32.lower(), string.ascii_letters + string.digits, string.printable]
    for _ in range(600):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert parse_code(text, keys=keys) is None, text


def test_another_secret_fails(keys):
    forged = sign_code(keys=CodeKeys.from_setting(new_secret()), batch_id=1, serial=1)
    assert parse_code(forged, keys=keys) is None


def test_lower_case_is_accepted(keys):
    code = sign_code(keys=keys, batch_id=12, serial=34)
    assert parse_code(code.lower(), keys=keys) == parse_code(code, keys=keys)
    assert parse_code(code[:5].lower() + code[5:], keys=keys) is not None


@pytest.mark.parametrize(
    "spoil",
    [
        lambda c: c + "=" * (-len(c) % 8),
        lambda c: " " + c,
        lambda c: c + "\n",
        lambda c: c[:10] + " " + c[10:],
        lambda c: c[:10] + "-" + c[10:],
        # Look-alikes that str.upper() would fold into ASCII.
        lambda c: c.replace("I", "ı", 1) if "I" in c else c + "ı",
        lambda c: "".join(chr(ord(ch) + 0xFEE0) for ch in c),  # full-width forms
        lambda c: c.encode(),
        lambda c: None,
    ],
)
def test_other_spellings_are_rejected(keys, spoil):
    code = sign_code(keys=keys, batch_id=12, serial=34)
    assert parse_code(spoil(code), keys=keys) is None


def _unused_bits(code: str) -> int:
    return 5 * len(code) - 8 * (5 * len(code) // 8)


def test_nonzero_trailing_bits_are_rejected(keys):
    # 13 bytes = 21 characters leave 1 unused bit; 14 bytes leave 3.
    for serial in (1000, 20000):
        code = sign_code(keys=keys, batch_id=1000, serial=serial)
        unused = _unused_bits(code)
        assert unused > 0
        last = B32.index(code[-1])
        for low in range(1, 1 << unused):
            variant = code[:-1] + B32[last | low]
            padded = variant + "=" * (-len(variant) % 8)
            assert base64.b32decode(padded) == base64.b32decode(code + "=" * (-len(code) % 8))
            assert parse_code(variant, keys=keys) is None


def test_non_minimal_varints_are_rejected(keys):
    # A correctly MACed payload whose serial 5 is spelled 0x85 0x00 must not verify.
    secret = keys.keys[keys.current]
    payload = bytes([keys.current << 3]) + bytes([100]) + bytes([0x85, 0x00])
    code = codes._b32(payload + codes._mac(secret, payload))
    assert parse_code(code, keys=keys) is None


def test_unknown_format_bits_are_rejected(keys):
    secret = keys.keys[keys.current]
    payload = bytes([keys.current << 3 | 1, 100, 5])
    assert parse_code(codes._b32(payload + codes._mac(secret, payload)), keys=keys) is None


@pytest.mark.parametrize(("batch_id", "serial"), [(0, 1), (-1, 1), (1, -1), (2**63, 1), (1, 2**63)])
def test_sign_rejects_impossible_numbers(keys, batch_id, serial):
    with pytest.raises(ValueError):
        sign_code(keys=keys, batch_id=batch_id, serial=serial)


def test_setting_bare_secret_is_key_one():
    keys = CodeKeys.from_setting(f"  {OLD}  ")
    assert keys.current == 1
    assert keys.keys == {1: OLD.encode()}


def test_setting_list_first_is_current():
    keys = CodeKeys.from_setting(f"3:{NEW}, 2:{OLD}")
    assert keys.current == 3
    assert keys.keys == {3: NEW.encode(), 2: OLD.encode()}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("short", "shorter than 16"),
        (f"0:{OLD}", "outside 1..31"),
        (f"32:{OLD}", "outside 1..31"),
        (f"x:{OLD}", "item 1 is not 'id:secret'"),
        (f"2:{NEW},{OLD}", "item 2 is not 'id:secret'"),
        (f"2:{NEW},", "item 2 is not 'id:secret'"),
        (f"2:{NEW},2:{OLD}", "twice"),
        ("2:", "shorter than 16"),
        (f"١:{OLD}", "item 1"),
    ],
)
def test_bad_settings_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        CodeKeys.from_setting(value)


def test_the_bounds_themselves_are_allowed():
    """Key id 31 and a secret of exactly 16 characters are the last ones allowed, not the first refused."""
    keys = CodeKeys.from_setting(f"31:{'s' * 16}")
    code = sign_code(keys=keys, batch_id=1, serial=1)
    assert parse_code(code, keys=keys) == ParsedCode(key_id=31, batch_id=1, serial=1)


def test_secrets_stay_out_of_repr():
    assert OLD not in repr(CodeKeys.from_setting(OLD))


def test_new_secret_is_long_and_usable():
    secret = new_secret()
    assert len(secret) >= 43
    assert CodeKeys.from_setting(secret).current == 1


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:5000", "HTTP://127.0.0.1:5000/Q/ABC"),
        ("http://127.0.0.1:5000/", "HTTP://127.0.0.1:5000/Q/ABC"),
        ("https://gi.ziyang.gov.cn", "HTTPS://GI.ZIYANG.GOV.CN/Q/ABC"),
        ("HTTPS://GI.ZIYANG.GOV.CN/", "HTTPS://GI.ZIYANG.GOV.CN/Q/ABC"),
        # A case-sensitive path keeps the base as given.
        ("https://gi.ziyang.gov.cn/trace", "https://gi.ziyang.gov.cn/trace/Q/ABC"),
        ("https://gi.ziyang.gov.cn/TRACE", "HTTPS://GI.ZIYANG.GOV.CN/TRACE/Q/ABC"),
    ],
)
def test_code_url(base, url):
    assert code_url(base, "abc") == url


def test_code_urls_fit_qr_alphanumeric_mode(keys):
    code = sign_code(keys=keys, batch_id=2**24 - 1, serial=2**20 - 1)
    for base in ("http://127.0.0.1:5000", "https://gi.ziyang.gov.cn"):
        assert set(code_url(base, code)) <= QR_ALPHANUMERIC
