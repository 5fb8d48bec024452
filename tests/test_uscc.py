import pytest

from gi_registry.domain.uscc import check_character, normalise, uscc_problem


@pytest.mark.parametrize("real_code", ["9144030071526726XG", "91330100716105852F", "91110000802100433B"])
def test_published_codes_of_real_companies_pass(real_code):
    assert uscc_problem(real_code) is None


def test_every_wrong_check_character_is_refused():
    body = "9144030071526726X"
    right = check_character(body)
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY".replace(right, ""):
        assert uscc_problem(body + wrong) == "check character does not match"


@pytest.mark.parametrize(
    "shape", ["", "91440300715267", "9144030071526726XGX", "9144030071526726IG", "9144030071526726xg"]
)
def test_malformed_codes_are_refused_with_the_shape_reason(shape):
    assert "18 characters" in uscc_problem(shape)


@pytest.mark.parametrize(
    "typed",
    ["9144 0300 7152 6726 xg", "９１４４０３００７１５２６７２６ＸＧ", "９１４４\u3000０３００７１５２６７２６ｘｇ"],
)
def test_a_code_as_pasted_or_typed_in_full_width_normalises_to_its_ascii_form(typed):
    assert normalise(typed) == "9144030071526726XG"
