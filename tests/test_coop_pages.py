"""The cooperative's portal: its own batches only, registration through the form, labels and downloads."""

import html
import re
from datetime import date
from urllib.parse import unquote

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gi_registry.domain import batches, registry
from gi_registry.models import Batch

PAGES = [
    ("GET", "/coop/", {"coop"}),
    ("GET", "/coop/batches", {"coop", "admin", "regulator"}),
    ("GET", "/coop/batches/new", {"coop"}),
    ("GET", "/coop/batches/{id}", {"coop", "admin", "regulator"}),
    ("GET", "/coop/batches/{id}/qr.png", {"coop", "admin", "regulator"}),
    ("GET", "/coop/batches/{id}/labels.csv", {"coop", "admin", "regulator"}),
    ("POST", "/coop/batches/{id}/labels", {"coop"}),
    ("POST", "/coop/batches/{id}/recall", {"coop", "regulator"}),
    ("GET", "/coop/batches/{id}/correct", {"coop"}),
    ("POST", "/coop/batches/{id}/correct", {"coop"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), PAGES)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_each_portal_page_lets_only_its_roles_in(login_as, make_batch, method, path, allowed, who):
    batch = make_batch()
    response = login_as(who).open(path.format(id=batch.id), method=method, data={})
    if who is None:
        assert response.status_code == 302 and "/login" in response.location
    elif who not in allowed:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 422)


OWN_ONLY = [
    "/coop/batches/{id}",
    "/coop/batches/{id}/qr.png",
    "/coop/batches/{id}/qr.svg",
    "/coop/batches/{id}/labels.csv",
    "/coop/batches/{id}/labels.pdf",
    "/coop/batches/{id}/correct",
]


@pytest.mark.parametrize("path", OWN_ONLY)
def test_another_cooperative_cannot_open_a_batch_or_its_files(login_as, make_batch, db, keys, path):
    batch = make_batch()
    batches.issue_labels(session=db, batch=batch, count=3, keys=keys, actor=None)
    db.commit()
    assert login_as("coop_b").get(path.format(id=batch.id)).status_code == 404


CORRECTION = {"quantity": "5", "unit": "kg", "harvested_on": "2026-10-01", "origin_code": "512021126", "reason": "x"}


@pytest.mark.parametrize(
    "action", [("labels", {"count": "1"}), ("recall", {"reason": "not mine"}), ("correct", CORRECTION)]
)
def test_another_cooperative_cannot_change_a_batch(login_as, make_batch, db, action):
    batch = make_batch()
    path, data = action
    assert login_as("coop_b").post(f"/coop/batches/{batch.id}/{path}", data=data).status_code == 404
    db.refresh(batch)
    assert (batch.status, batch.labels_issued, batch.quantity) == ("active", 0, 100.0)


def test_the_list_shows_only_own_batches(login_as, make_batch):
    mine = make_batch()
    theirs = make_batch(licensee="coop_b")
    page = login_as("coop").get("/coop/batches").text
    assert mine.batch_no in page and theirs.batch_no not in page


def test_the_form_offers_only_licensed_products_and_their_origins(login_as, world):
    page = login_as("coop").get("/coop/batches/new").text
    assert "安岳柠檬" in page and "南薰镇" in page
    assert "乐至蚕茧" not in page and "512022" not in page


def test_registering_a_batch_through_the_form(login_as, db, world):
    response = login_as("coop").post(
        "/coop/batches/new",
        data={
            "product_code": "anyue-lemon",
            "quantity": "250.5",
            "unit": "kg",
            "harvested_on": "2026-10-20",
            "origin_code": "512021126",
            "grade": "一级",
        },
    )
    assert response.status_code == 302
    batch = db.exec(select(Batch)).one()
    assert (batch.quantity, batch.grade, batch.origin_code) == (250.5, "一级", "512021126")


# The registration form as a cooperative fills it in.
A_LEMON_BATCH = {
    "product_code": "anyue-lemon",
    "quantity": "10",
    "unit": "kg",
    "harvested_on": "2026-10-20",
    "origin_code": "512021126",
}


def test_a_licence_suspended_while_the_form_was_open_is_the_reason_given(login_as, db, world):
    client = login_as("coop")
    assert ">安岳柠檬</option>" in client.get("/coop/batches/new").text
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    refused = client.post("/coop/batches/new?lang=en", data=A_LEMON_BATCH)
    assert refused.status_code == 422 and "Not a valid choice" not in refused.text
    assert "no licence in force for it on the harvest date and today" in refused.text
    assert "The licence for this product on the harvest date is suspended or revoked." in refused.text
    assert db.exec(select(Batch)).all() == []
    assert ">安岳柠檬</option>" not in client.get("/coop/batches/new").text  # offered no more


def test_a_registration_form_sent_twice_makes_one_batch(login_as, db, world, make_app):
    """A double tap, or a resend on a slow line: the form's one-time token is kept with its batch."""
    client = login_as("coop")
    once = re.search(r'name="once" type="hidden" value="([\w-]+)"', client.get("/coop/batches/new").text).group(1)
    assert once not in client.get("/coop/batches/new").text  # every form drawn has its own
    sent = {**A_LEMON_BATCH, "once": once}
    first = client.post("/coop/batches/new", data=sent)
    again = client.post("/coop/batches/new", data=sent)
    batch = db.exec(select(Batch)).one()
    assert first.location == again.location == f"/coop/batches/{batch.id}"
    assert f"批次 {batch.batch_no} 已由此表单登记，未重复登记。" in client.get(again.location).text
    assert client.post("/coop/batches/new", data={**sent, "once": ""}).status_code == 302  # no token: no guard
    assert len(db.exec(select(Batch)).all()) == 2


def test_a_registration_form_sent_twice_at_once_still_makes_one_batch(login_as, db, world, monkeypatch):
    """The second request looked before the first committed: the database refuses it, and it says so."""
    client = login_as("coop")
    sent = {**A_LEMON_BATCH, "once": "race-race-race-race-1"}
    assert client.post("/coop/batches/new", data=sent).status_code == 302
    looked = []
    real = batches.registered_by_form

    def too_early_once(**kwargs):  # the first look-up ran before the other request's commit
        looked.append(kwargs["form_token"])
        return None if len(looked) == 1 else real(**kwargs)

    monkeypatch.setattr(batches, "registered_by_form", too_early_once)
    again = client.post("/coop/batches/new", data=sent)
    batch = db.exec(select(Batch)).one()
    assert again.location == f"/coop/batches/{batch.id}" and len(looked) == 2


def test_the_database_refuses_a_registration_forms_token_twice(db, world):
    """Two requests at once both pass the look-up; the unique index stops the second."""
    data = batches.BatchInput(
        product_code="anyue-lemon", quantity=10.0, unit="kg", harvested_on=date(2026, 10, 1), origin_code="512021"
    )
    register = {"session": db, "licensee": world["coop_a"], "data": data, "actor": None, "form_token": "t" * 22}
    batches.register_batch(**register)
    db.commit()
    with pytest.raises(IntegrityError):
        batches.register_batch(**register)
    db.rollback()


def test_an_origin_outside_the_area_is_refused_on_the_form(login_as, db, world):
    # A forged form post: the select only offers areas inside; the domain refuses anyway.
    response = login_as("coop").post(
        "/coop/batches/new",
        data={
            "product_code": "anyue-lemon",
            "quantity": "10",
            "unit": "kg",
            "harvested_on": "2026-10-20",
            "origin_code": "512022101",
        },
    )
    assert response.status_code == 422
    assert db.exec(select(Batch)).all() == []


def test_a_batch_form_names_every_problem_at_once_in_plain_words(login_as, db, grant):
    grant("lezhi-cocoon")  # the form now offers 乐至县's towns too, for cocoons
    client = login_as("coop")
    later = client.post(
        "/coop/batches/new?lang=zh",
        data={
            "product_code": "anyue-lemon",
            "quantity": "10",
            "unit": "kg",
            "harvested_on": "2099-10-20",  # in the future …
            "origin_code": "512022101",  # … and from 乐至县: both said in one go
        },
    )
    assert later.status_code == 422
    assert "采收日期不能晚于今天" in later.text and "不在保护范围内" in later.text
    typo = client.post(
        "/coop/batches/new?lang=zh",
        data={"product_code": "anyue-lemon", "quantity": "abc", "unit": "kg", "harvested_on": "2026/10/20"},
    )
    assert "不是有效的小数" in typo.text and "不小于 0.001" not in typo.text  # one complaint about the number
    assert "不是有效的日期值" in typo.text and "该字段是必填字段" not in typo.text  # a date, if not as expected
    bad_number_and_future = client.post(
        "/coop/batches/new?lang=zh",
        data={"product_code": "anyue-lemon", "quantity": "0", "unit": "kg", "harvested_on": "2099-10-20"},
    )
    text = bad_number_and_future.text
    assert "不小于 0.001" in text and "采收日期不能晚于今天" in text  # the form's complaint and the date's, together
    least = client.post(
        "/coop/batches/new?lang=zh",
        data={
            "product_code": "anyue-lemon",
            "quantity": "0.001",
            "unit": "kg",
            "harvested_on": "2026-10-01",
            "origin_code": "512021126",
        },
    )
    assert "不小于 0.001" not in least.text  # the form's own minimum passes the form …
    assert "数量不足以发放一个标签" in least.text  # … and the registry says what is wrong with it
    assert db.exec(select(Batch)).all() == []


def test_issue_labels_then_download_csv_and_pdf(login_as, make_batch):
    batch = make_batch(quantity=5)  # quota 10
    client = login_as("coop")
    assert client.post(f"/coop/batches/{batch.id}/labels", data={"count": "10"}).status_code == 302
    over = client.post(f"/coop/batches/{batch.id}/labels", data={"count": "1"})
    assert over.status_code == 422 and "超出" in over.text
    assert client.get(f"/coop/batches/{batch.id}/labels.csv").text.count("\n") == 11
    pdf = client.get(f"/coop/batches/{batch.id}/labels.pdf?grid=a4-24&first=3&last=4&batch_code=1")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert b"/Font" not in pdf.data and b"/Subtype /Form" in pdf.data  # text as outlines: no font to lack


def test_a_label_form_sent_twice_issues_its_labels_once(login_as, make_batch, db):
    """A double tap or a resend on a slow line: issued labels cannot be taken back."""
    batch = make_batch(quantity=5)  # quota 10
    client = login_as("coop")
    page = client.get(f"/coop/batches/{batch.id}").text
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"', page).group(1)
    assert seen == "0"
    sent = {"count": "3", "seen": seen}
    assert client.post(f"/coop/batches/{batch.id}/labels", data=sent).status_code == 302
    again = client.post(f"/coop/batches/{batch.id}/labels", data=sent)
    assert again.status_code == 409 and "此间已有标签发放：现已发放 3 个，本次未再发放" in again.text
    db.refresh(batch)
    assert batch.labels_issued == 3
    assert 'name="seen" type="hidden" value="3"' in again.text  # the page as it is now: sent again, it issues
    assert client.post(f"/coop/batches/{batch.id}/labels", data={"count": "3", "seen": "3"}).status_code == 302
    db.refresh(batch)
    assert batch.labels_issued == 6


def test_recall_from_the_page(login_as, make_batch, db):
    batch = make_batch()
    client = login_as("coop")
    assert client.post(f"/coop/batches/{batch.id}/recall", data={"reason": ""}).status_code == 422
    assert client.post(f"/coop/batches/{batch.id}/recall", data={"reason": "虫害"}).status_code == 302
    db.refresh(batch)
    assert batch.status == "recalled"
    assert "已召回" in client.get(f"/coop/batches/{batch.id}").text


@pytest.mark.parametrize("who", ["coop", "regulator"])
def test_the_recall_form_says_consumers_will_read_its_reason(login_as, make_batch, keys, who):
    """The scan page shows the recall's reason to every buyer, as the case page's recall form warns."""
    batch = make_batch()
    page = login_as(who).get(f"/coop/batches/{batch.id}?lang=en").text
    assert "with this reason: write it for consumers, without names or case details." in html.unescape(page)
    login_as(who).post(f"/coop/batches/{batch.id}/recall", data={"reason": "质检员李四发现虫害"})
    code = batches.label_for(batch=batch, serial=0, keys=keys, base_url="").code
    assert "质检员李四发现虫害" in login_as(None).get(f"/q/{code}").text


@pytest.mark.parametrize(
    "query",
    ["first=8&last=3", "first=11", "first=20&last=30", "last=0", "first=0&last=0", "first=abc", "first=-3"]
    + ["first=1000000000", "first=²"],
)
def test_a_label_range_with_no_issued_label_is_refused_not_printed_blank(login_as, make_batch, db, keys, query):
    batch = make_batch(quantity=5)
    batches.issue_labels(session=db, batch=batch, count=10, keys=keys, actor=None)
    db.commit()
    client = login_as("coop")
    assert client.get(f"/coop/batches/{batch.id}/labels.pdf?first=3&last=8").status_code == 200
    refused = client.get(f"/coop/batches/{batch.id}/labels.pdf?{query}")
    assert refused.status_code == 303 and unquote(refused.location) == f"/coop/batches/{batch.id}?{query}"  # kept
    reasons = {
        "first=8&last=3": "序号范围颠倒",
        "last=0": "标签编号从 1 开始",  # no label 0: not a range the wrong way round
        "first=0&last=0": "标签编号从 1 开始",
        "first=abc": "编号须为整数",  # refused, not read as the whole batch
        "first=-3": "标签编号从 1 开始",  # a whole number, but none a label has
        "first=1000000000": "没有编号这么大的标签",
        "first=²": "编号须为整数",
    }
    why = reasons.get(query, "该编号范围内没有已发放的标签")
    back = client.get(refused.location).text
    assert why in back  # said on the batch page, where the sheet's choices are, as they were made
    for name, value in (pair.split("=") for pair in query.split("&")):
        assert f'name="{name}" min="1" max="10" value="{value}"' in back


def test_quantities_show_their_unit_in_words(login_as, make_batch):
    kilos = make_batch(quantity=100)
    tonnes = make_batch(quantity=2, unit="t")
    client = login_as("coop")
    for path in (f"/coop/batches/{kilos.id}", "/coop/batches"):
        assert "100 千克" in client.get(f"{path}?lang=zh").text
        assert "100 kg" in client.get(f"{path}?lang=en").text
    assert "2 吨" in client.get(f"/coop/batches/{tonnes.id}?lang=zh").text
    assert "2 tonnes" in client.get(f"/coop/batches/{tonnes.id}?lang=en").text


def test_the_portal_names_products_and_origins_in_the_pages_language(login_as, make_batch):
    batch = make_batch()
    client = login_as("coop")
    chinese = client.get("/coop/batches?lang=zh").text
    assert ">安岳柠檬</option>" in chinese and ">安岳柠檬</td>" in chinese
    english = client.get("/coop/batches?lang=en").text
    assert ">Anyue Lemon</option>" in english and ">Anyue Lemon</td>" in english and "安岳柠檬<" not in english
    form = client.get("/coop/batches/new?lang=en").text
    assert 'label="Anyue Lemon"' in form and ">Anyue Lemon</option>" in form and "Nanxun Town (512021126)" in form
    assert "南薰镇" not in form and "安岳柠檬<" not in form
    assert "南薰镇" in client.get("/coop/batches/new?lang=zh").text
    assert "Nanxun Town" in client.get(f"/coop/batches/{batch.id}?lang=en").text
    assert "南薰镇" in client.get(f"/coop/batches/{batch.id}?lang=zh").text


def test_past_the_quota_the_page_names_how_many_are_left(login_as, make_batch):
    batch = make_batch(quantity=5)  # quota 10
    client = login_as("coop")
    assert client.post(f"/coop/batches/{batch.id}/labels?lang=en", data={"count": "8"}).status_code == 302
    over = client.post(f"/coop/batches/{batch.id}/labels?lang=en", data={"count": "5"})
    assert over.status_code == 422 and "at most 2 more" in over.text and "%(left)s" not in over.text


def test_a_large_quantity_reads_as_people_write_it(login_as, make_batch):
    batch = make_batch(quantity=1234567)
    client = login_as("coop")
    assert "1,234,567" in client.get(f"/coop/batches/{batch.id}").text
    listing = client.get("/coop/batches").text
    assert "1,234,567" in listing and "e+" not in listing


def test_a_recall_without_a_reason_says_so_at_the_top(login_as, make_batch):
    batch = make_batch()
    refused = login_as("coop").post(f"/coop/batches/{batch.id}/recall", data={"reason": ""})
    assert refused.status_code == 422 and refused.text.index("未召回该批次") < refused.text.index("<h2>")


def test_a_batch_past_a_tightened_quota_shows_none_left_never_a_negative(login_as, make_batch, db, world, keys):
    batch = make_batch(quantity=10)  # quota 20
    batches.issue_labels(session=db, batch=batch, count=20, keys=keys, actor=None)
    world["lemon"].kg_per_label = 1.0  # the quota falls to 10
    db.add(world["lemon"])
    db.commit()
    client = login_as("coop")
    page = client.get(f"/coop/batches/{batch.id}?lang=en").text
    assert "-10 more" not in page and 'name="count"' not in page and "quota is used up" in page
    over = client.post(f"/coop/batches/{batch.id}/labels?lang=en", data={"count": "1"})
    assert over.status_code == 422 and "quota would be exceeded" in over.text and "quota is used up" in over.text


def test_the_batch_page_shows_the_notes_line_by_line(login_as, make_batch):
    batch = make_batch(notes="雨后采摘\n<b>冷藏</b>")
    page = login_as("regulator").get(f"/coop/batches/{batch.id}").text
    assert "雨后采摘<br>&lt;b&gt;冷藏&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("quantity", "unit", "why"),
    [
        ("0.4", "kg", "too little for a single label"),
        ("6000", "t", "at most 10,000,000 labels"),
        ("0.0005", "kg", "at least 0.001 and at most 1,000,000,000"),  # not "more than 0": it is
    ],
)
def test_the_form_refuses_a_quantity_giving_no_label_or_too_many(login_as, db, world, quantity, unit, why):
    response = login_as("coop").post(
        "/coop/batches/new?lang=en",
        data={
            "product_code": "anyue-lemon",
            "quantity": quantity,
            "unit": unit,
            "harvested_on": "2026-10-20",
            "origin_code": "512021126",
        },
    )
    assert response.status_code == 422 and why in response.text
    assert db.exec(select(Batch)).all() == []


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("1,000", 1000.0), ("１，０００", 1000.0), ("12,500.5", 12500.5), ("1_000", None), ("1,5", None)],
)
def test_a_quantity_is_read_as_people_write_amounts(login_as, db, world, typed, kept):
    """Thousands grouped by commas (a Chinese keyboard's full-width ones too); not Python's 1_000."""
    form = {"product_code": "anyue-lemon", "unit": "kg", "harvested_on": "2026-10-20", "origin_code": "512021126"}
    response = login_as("coop").post("/coop/batches/new?lang=en", data={**form, "quantity": typed})
    registered = db.exec(select(Batch)).all()
    if kept is None:
        assert response.status_code == 422 and "Not a valid decimal value." in response.text and registered == []
    else:
        assert response.status_code == 302 and [batch.quantity for batch in registered] == [kept]


@pytest.mark.parametrize(
    ("who", "path"), [("coop", "labels.csv"), ("coop", "labels.pdf?grid=a4-24&first=2"), ("regulator", "labels.pdf")]
)
def test_a_recalled_batch_gives_no_labels_to_print_but_keeps_its_own_qr(login_as, labelled, db, who, path):
    batch, _ = labelled
    batches.recall_batch(session=db, batch=batch, reason="农残超标", actor=None)
    db.commit()
    client = login_as(who)
    client.get("/?lang=en")
    refused = client.get(f"/coop/batches/{batch.id}/{path}")
    assert refused.status_code == 303 and refused.location.startswith(f"/coop/batches/{batch.id}")
    back = client.get(f"/coop/batches/{batch.id}")  # the flash waits for the next page
    assert "labels can no longer be downloaded" in back.text and "Download the PDF sheet" not in back.text
    assert client.get(f"/coop/batches/{batch.id}/qr.png").status_code == 200


def test_staff_keep_a_recalled_batchs_code_list_for_the_investigation(login_as, labelled, db):
    batch, codes = labelled
    batches.recall_batch(session=db, batch=batch, reason="农残超标", actor=None)
    db.commit()
    desk = login_as("regulator")
    assert f"/coop/batches/{batch.id}/labels.csv" in desk.get(f"/coop/batches/{batch.id}").text
    listed = desk.get(f"/coop/batches/{batch.id}/labels.csv")
    assert listed.status_code == 200 and codes[1] in listed.get_data(as_text=True)


@pytest.mark.parametrize("query", ["grid=bad&batch_id=2", "grid=bad&_method=POST", "grid=bad&_external=1&x=y"])
def test_a_refused_sheet_returns_with_only_the_sheets_own_choices(login_as, labelled, query):
    batch, _ = labelled
    refused = login_as("coop").get(f"/coop/batches/{batch.id}/labels.pdf?{query}")
    assert refused.status_code == 303 and refused.location == f"/coop/batches/{batch.id}?grid=bad"


def test_staff_see_whose_batch_each_is_and_filter_by_licensee(login_as, make_batch, world):
    lemon = make_batch()
    cocoon = make_batch(licensee="coop_b")
    client = login_as("regulator")
    listing = client.get("/coop/batches").text
    assert ">安岳柠檬合作社</a></td>" in listing and ">乐至蚕桑合作社</a></td>" in listing
    only_b = client.get(f"/coop/batches?licensee={world['coop_b'].id}").text
    assert cocoon.batch_no in only_b and lemon.batch_no not in only_b
    for odd in ("abc", "0", "99999999999999999999"):  # ignored, as the other filters' odd values are
        assert lemon.batch_no in client.get(f"/coop/batches?licensee={odd}").text


@pytest.mark.parametrize("query", ["status=bogus", "product=lezhi-cocoon", "product=nope"])
def test_a_filter_value_the_list_does_not_offer_is_dropped_and_said(login_as, make_batch, query):
    """Else the list came back empty under a choice that reads "All"."""
    lemon = make_batch()
    page = login_as("coop").get(f"/coop/batches?{query}&lang=en").text
    assert lemon.batch_no in page
    assert f"“{query.split('=')[1]}” is not one of this filter&#39;s choices: the page is shown without it." in page


@pytest.mark.parametrize("typed", ["ＡＹ－２０２６－０００００１", "AY—2026—000001", "ay–2026", " ＡＹ-2026 "])
def test_a_batch_number_typed_on_a_chinese_keyboard_finds_the_batch(login_as, make_batch, typed):
    """A Chinese input method types full-width letters and digits, and "—" or "–" for the key marked "-"."""
    lemon = make_batch()
    page = login_as("coop").get("/coop/batches", query_string={"q": typed}).text
    assert lemon.batch_no in page and html.escape(typed.strip(), quote=True) in page


def test_a_cooperative_filters_by_its_own_products_and_not_by_licensee(login_as, make_batch, world):
    page = login_as("coop").get(f"/coop/batches?licensee={world['coop_b'].id}").text
    assert ">安岳柠檬</option>" in page and ">乐至蚕茧</option>" not in page
    assert 'name="licensee"' not in page and "乐至蚕桑合作社" not in page


def test_a_suspended_licence_tells_its_cooperative_why(login_as, db, world):
    registry.change_licence_state(
        session=db, licence=world["licence_a"], action="suspend", reason="抽检农残超标，整改后申请恢复", actor=None
    )
    db.commit()
    assert "抽检农残超标，整改后申请恢复" in login_as("coop").get("/coop/").text
    assert "抽检农残超标" not in login_as("coop_b").get("/coop/").text


def test_a_batch_under_a_suspended_licence_says_so_instead_of_offering_labels(login_as, db, world, make_batch):
    batch = make_batch()
    client = login_as("coop")
    issue_form = f'action="/coop/batches/{batch.id}/labels"'
    assert issue_form in client.get(f"/coop/batches/{batch.id}").text
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    page = client.get(f"/coop/batches/{batch.id}?lang=zh").text
    assert 'class="badge suspended"' in page and "许可状态为“已暂停”，不能发放单件标签" in page
    assert issue_form not in page


def test_a_withdrawn_product_is_not_offered_for_batches_or_labels(login_as, db, world, grant, make_batch):
    """The registry refuses both (the product is withdrawn): the pages no longer offer what it refuses."""
    batch = make_batch()
    grant("lezhi-cocoon")
    world["lemon"].status = "withdrawn"
    db.add(world["lemon"])
    db.commit()
    client = login_as("coop")
    form = client.get("/coop/batches/new").text
    assert 'value="lezhi-cocoon"' in form and 'value="anyue-lemon"' not in form
    page = client.get(f"/coop/batches/{batch.id}?lang=en").text
    assert f'action="/coop/batches/{batch.id}/labels"' not in page
    assert "No unit labels can be issued: the product has been withdrawn from the register." in page
    sent = {"product_code": "anyue-lemon", "quantity": "10", "unit": "kg", "harvested_on": "2026-10-01"}
    refused = client.post("/coop/batches/new?lang=en", data=sent | {"origin_code": "512021126"})
    assert refused.status_code == 422 and "the product is withdrawn" in refused.text


def test_a_cooperative_licensed_only_for_withdrawn_products_is_told_so(login_as, db, world):
    world["lemon"].status = "withdrawn"
    db.add(world["lemon"])
    db.commit()
    form = login_as("coop").get("/coop/batches/new?lang=en").text
    assert 'name="product_code"' not in form
    assert "the products your cooperative is licensed for have been withdrawn from the register" in form


def test_a_page_past_the_last_one_offers_the_last_page(login_as, make_batch):
    for _ in range(3):
        make_batch()
    client = login_as("coop")
    client.get("/?lang=en")
    page = client.get("/coop/batches?per_page=2&page=99").text
    assert "Page 99 is past the last one." in page and 'href="/coop/batches?per_page=2&amp;page=2"' in page


def test_a_large_quota_is_written_in_groups_of_three_digits(login_as, make_batch):
    batch = make_batch(quantity=5000, unit="t")  # 10,000,000 labels at 0.5 kg each
    assert "10,000,000" in login_as("coop").get(f"/coop/batches/{batch.id}").text


def test_large_label_counts_read_in_groups_in_the_list_and_in_the_quotas_refusal(login_as, make_batch):
    batch = make_batch(quantity=5000)  # quota 10,000
    client = login_as("coop")
    assert client.post(f"/coop/batches/{batch.id}/labels?lang=en", data={"count": "1030"}).status_code == 302
    assert '<td data-label="Labels">1,030</td>' in client.get("/coop/batches?lang=en").text
    over = client.post(f"/coop/batches/{batch.id}/labels?lang=en", data={"count": "9000"})
    assert over.status_code == 422 and "at most 8,970 more" in over.text


def test_a_year_in_a_refusal_is_not_grouped_like_a_count(login_as, make_batch):
    batch = make_batch()  # harvested 2026-10-01: its number names 2026
    client = login_as("coop")
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct").text)
    sent = {**form, "harvested_on": "2025-12-31", "reason": "typo"}
    page = client.post(f"/coop/batches/{batch.id}/correct?lang=en", data=sent)
    assert "names the year 2026" in page.text and "2,026" not in page.text


def test_a_correction_sent_without_the_quantity_is_told_so_not_a_server_error(login_as, make_batch, db):
    """A script (or a form cut short) that leaves the field out: the form held the batch's float."""
    batch = make_batch()
    client = login_as("coop")
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct").text)
    del form["quantity"]
    sent = client.post(f"/coop/batches/{batch.id}/correct?lang=en", data={**form, "grade": "特级", "reason": "r"})
    assert sent.status_code == 422 and "This field is required." in sent.text
    db.refresh(batch)
    assert batch.grade != "特级"


@pytest.mark.parametrize(("lang", "banner"), [("en", "The batch cannot be registered."), ("zh", "无法登记该批次。")])
def test_a_refusal_above_the_form_reads_as_a_sentence(login_as, world, lang, banner):
    form = {"product_code": "anyue-lemon", "quantity": "10", "unit": "kg", "harvested_on": "2099-10-20"}
    page = login_as("coop").post(f"/coop/batches/new?lang={lang}", data={**form, "origin_code": "512021126"})
    assert page.status_code == 422 and f'<p class="flash error" role="status">{banner}</p>' in page.text


def test_a_batch_page_leads_back_to_the_list_and_names_its_product_in_the_pages_language(login_as, make_batch):
    batch = make_batch()
    page = login_as("coop").get(f"/coop/batches/{batch.id}?lang=en").text
    assert '<a href="/coop/batches">← All batches</a>' in page
    assert '<dd>Anyue Lemon <span class="muted">安岳柠檬</span></dd>' in page


def test_issuing_no_label_says_how_many_may_be_issued_at_a_time(login_as, make_batch):
    batch = make_batch()
    page = login_as("coop").post(f"/coop/batches/{batch.id}/labels?lang=zh", data={"count": "0"})
    assert page.status_code == 422 and "每次 1 至 1,000,000 个，且不超过剩余可发放数" in page.text
    typo = login_as("coop").post(f"/coop/batches/{batch.id}/labels?lang=zh", data={"count": "abc"})
    assert "不是有效的整数" in typo.text and "每次 1 至" not in typo.text  # one complaint, about what was typed


def correction_of(page: str) -> dict:
    """The correction form's fields as the page fills them in."""
    fields = dict(re.findall(r'<input[^>]* name="(\w+)"[^>]* value="([^"]*)"', page))
    fields |= dict(re.findall(r'<select[^>]* name="(\w+)".*?<option selected value="([^"]*)"', page, re.S))
    fields |= dict(re.findall(r'<textarea[^>]* name="(\w+)"[^>]*>\s*([^<]*)</textarea>', page))
    return {name: html.unescape(value) for name, value in fields.items()}


def test_a_cooperative_corrects_a_mistyped_quantity_from_the_batch_page(login_as, make_batch, db):
    batch = make_batch(quantity=100.0)
    client = login_as("coop")
    detail = client.get(f"/coop/batches/{batch.id}?lang=en").text
    assert f'href="/coop/batches/{batch.id}/correct"' in detail
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct?lang=en").text)
    assert (form["quantity"], form["harvested_on"], form["origin_code"]) == ("100", "2026-10-01", "512021126")
    response = client.post(
        f"/coop/batches/{batch.id}/correct?lang=en", data={**form, "quantity": "10", "reason": "多打了一个零"}
    )
    assert response.status_code == 302
    assert "Batch AY-2026-000001 corrected: Quantity." in client.get(response.location + "?lang=en").text
    db.refresh(batch)
    assert batch.quantity == 10.0


def test_after_labels_the_correction_form_offers_only_what_may_still_change(login_as, labelled, db):
    batch, _codes = labelled  # 10 labels issued
    client = login_as("coop")
    page = client.get(f"/coop/batches/{batch.id}/correct?lang=en").text
    assert 'name="quantity"' in page and 'name="harvested_on"' not in page and 'name="origin_code"' not in page
    assert "recall the batch and register it again" in page
    assert "At least 5 kg: 10 unit labels are issued." in page  # 10 × 0.5 kg
    # A date sent anyway is not taken: the form has no such field.
    sent = {**correction_of(page), "harvested_on": "2026-09-01", "notes": "补充说明", "reason": "补录"}
    assert client.post(f"/coop/batches/{batch.id}/correct", data=sent).status_code == 302
    db.refresh(batch)
    assert (batch.harvested_on.isoformat(), batch.notes) == ("2026-10-01", "补充说明")
    page = client.get(f"/coop/batches/{batch.id}/correct?lang=en").text
    refused = client.post(
        f"/coop/batches/{batch.id}/correct?lang=en", data={**correction_of(page), "quantity": "4", "reason": "r"}
    )
    assert refused.status_code == 422 and "at least 5 kg for the 10 labels already issued" in refused.text


def test_a_correction_without_a_reason_or_outside_the_area_says_why_and_changes_nothing(
    login_as, make_batch, db, grant
):
    grant("lezhi-cocoon")
    batch = make_batch()
    client = login_as("coop")
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct").text)
    no_reason = client.post(f"/coop/batches/{batch.id}/correct?lang=en", data={**form, "grade": "特级"})
    assert no_reason.status_code == 422 and "Say why the batch is corrected" in no_reason.text
    lezhi = {**form, "origin_code": "512022", "reason": "r"}  # a choice of the cocoon's, not the lemon's
    outside = client.post(f"/coop/batches/{batch.id}/correct?lang=en", data=lezhi)
    assert outside.status_code == 422 and "Not a valid choice" in outside.text
    db.refresh(batch)
    assert (batch.grade, batch.origin_code) == ("", "512021126")


def test_a_recalled_batch_offers_no_correction(login_as, make_batch, db):
    batch = make_batch()
    batches.recall_batch(session=db, batch=batch, reason="r", actor=None)
    db.commit()
    client = login_as("coop")
    assert "/correct" not in client.get(f"/coop/batches/{batch.id}").text
    response = client.get(f"/coop/batches/{batch.id}/correct?lang=en")
    assert response.status_code == 302
    assert "A recalled batch cannot be corrected." in client.get(response.location + "?lang=en").text


def test_a_batch_under_a_suspended_licence_offers_no_correction(login_as, make_batch, db, world):
    batch = make_batch()
    client = login_as("coop")
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct").text)  # opened before the suspension
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    page = client.get(f"/coop/batches/{batch.id}?lang=en").text
    assert "/correct" not in page and "nor any detail corrected while the licence is suspended" in page
    response = client.get(f"/coop/batches/{batch.id}/correct?lang=en")
    assert response.status_code == 302
    assert "cannot be corrected while the licence is suspended" in client.get(response.location + "?lang=en").text
    sent = client.post(f"/coop/batches/{batch.id}/correct?lang=en", data={**form, "quantity": "9000", "reason": "r"})
    assert sent.status_code == 302
    db.refresh(batch)
    assert batch.quantity != 9000


def test_a_note_added_leaves_a_quantity_with_many_decimals_as_it_was(login_as, make_batch, db):
    batch = make_batch(quantity=80.12345)
    client = login_as("coop")
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct").text)
    assert form["quantity"] == "80.12345"
    response = client.post(
        f"/coop/batches/{batch.id}/correct?lang=en", data={**form, "notes": "冷库 3 号", "reason": "补录"}
    )
    assert "corrected: Notes." in client.get(response.location + "?lang=en").text
    db.refresh(batch)
    assert (batch.quantity, batch.notes) == (80.12345, "冷库 3 号")


def test_a_batch_whose_origin_left_the_area_can_still_be_corrected_in_other_details(login_as, make_batch, db, world):
    batch = make_batch(origin_code="512021126")
    registry.save_product(
        session=db,
        actor=None,
        product=world["lemon"],
        data=registry.ProductInput(
            code="anyue-lemon", name="安岳柠檬", name_en="Anyue Lemon", kind="gi_product", area_codes=["512021100"]
        ),
    )
    db.commit()
    client = login_as("coop")
    form = correction_of(client.get(f"/coop/batches/{batch.id}/correct").text)
    assert form["origin_code"] == "512021126"  # still offered, so the form goes through
    response = client.post(f"/coop/batches/{batch.id}/correct", data={**form, "grade": "二级", "reason": "r"})
    assert response.status_code == 302
    db.refresh(batch)
    assert (batch.grade, batch.origin_code) == ("二级", "512021126")


def test_a_form_opened_before_another_correction_does_not_undo_it(login_as, make_batch, db):
    batch = make_batch(quantity=100.0, unit="jin")
    client = login_as("coop")
    url = f"/coop/batches/{batch.id}/correct?lang=en"
    opened = correction_of(client.get(url).text)  # in one tab
    first = client.post(url, data={**opened, "quantity": "120", "grade": "一级", "reason": "称重有误"})
    assert first.status_code == 302  # saved from another tab
    late = {**opened, "notes": "冷库 3 号", "grade": "特级", "reason": "补录"}  # still says 100 and no grade
    answer = client.post(url, data=late)
    assert answer.status_code == 409
    assert "Nothing was saved: the batch was changed after you opened this form." in answer.text
    # Left alone in this tab, the quantity takes the other change; the grade, changed in both, stays this one.
    assert "<li>Quantity: 100 jin → 120 jin (now in the form below)</li>" in answer.text
    assert "<li>Grade: — → 一级; your form says 特级, which saving again keeps</li>" in answer.text
    again = correction_of(answer.text)
    assert (again["quantity"], again["grade"], again["notes"]) == ("120", "特级", "冷库 3 号")
    db.refresh(batch)
    assert (batch.quantity, batch.grade, batch.notes) == (120.0, "一级", "")
    assert client.post(url, data=again | {"reason": "确认"}).status_code == 302
    db.refresh(batch)
    assert (batch.quantity, batch.grade, batch.notes) == (120.0, "特级", "冷库 3 号")


def test_a_form_without_what_it_showed_keeps_the_users_values_and_asks_again(login_as, make_batch, db):
    batch = make_batch(quantity=100.0)
    client = login_as("coop")
    url = f"/coop/batches/{batch.id}/correct?lang=en"
    sent = {**correction_of(client.get(url).text), "seen": "not what a form sends", "grade": "一级", "reason": "r"}
    answer = client.post(url, data=sent)
    assert (
        answer.status_code == 409 and "<li>Grade: —; your form says 一级, which saving again keeps</li>" in answer.text
    )
    db.refresh(batch)
    assert batch.grade == ""


def test_the_batch_page_tells_its_history_with_what_each_correction_changed(login_as, make_batch, db, world, keys):
    batch = make_batch(quantity=100.0, origin_code="512021126")
    coop = world["users"]["coop"]
    details = batches.BatchDetails.of
    batches.correct_batch(
        session=db, batch=batch, data=details(batch, origin_code="512021100"), reason="产地选错", actor=coop
    )
    batches.issue_labels(session=db, batch=batch, count=5, keys=keys, actor=coop)
    batches.recall_batch(session=db, batch=batch, reason="抽检不合格", actor=world["users"]["regulator"])
    db.commit()
    history = login_as("coop").get(f"/coop/batches/{batch.id}?lang=en").text.split("<h2>History</h2>")[1]
    rows = re.findall(r"<tr><td[^>]*>.*?</tr>", history, re.S)
    assert [re.search(r'data-label="Action">([^<]+)', row).group(1).strip() for row in rows] == [
        "Batch registered",
        "Batch corrected",
        "Unit labels issued",
        "Batch recalled",
    ]
    assert "产地选错" in rows[1] and "<del>Nanxun Town (512021126)</del> → Yueyang Town (512021100)" in rows[1]
    assert "1–5" in rows[2] and "coop@test.cn" in rows[2]
    # The cooperative reads who recalled it by role; staff read the official's address.
    assert "抽检不合格" in rows[3] and "Market supervision" in rows[3] and "reg@test.cn" not in history
    assert "reg@test.cn" in login_as("regulator").get(f"/coop/batches/{batch.id}").text


def test_a_quantity_is_kept_with_the_unit_its_user_meant(login_as, make_batch, db):
    """One tab says 1.2 t; another, opened before, 1,200 (kg): saving the second must not make 1,200 t."""
    batch = make_batch(quantity=1000.0, unit="kg")
    client = login_as("coop")
    url = f"/coop/batches/{batch.id}/correct?lang=en"
    opened = correction_of(client.get(url).text)
    assert client.post(url, data={**opened, "quantity": "1.2", "unit": "t", "reason": "换算"}).status_code == 302
    answer = client.post(url, data={**opened, "quantity": "1200", "reason": "称重"})
    assert answer.status_code == 409
    again = correction_of(answer.text)
    assert (again["quantity"], again["unit"]) == ("1200", "kg")
    assert "your form says 1,200 kg, which saving again keeps" in answer.text
    assert client.post(url, data=again | {"reason": "确认"}).status_code == 302
    db.refresh(batch)
    assert (batch.quantity, batch.unit) == (1200.0, "kg")


def test_a_detail_fixed_meanwhile_by_issued_labels_is_still_told(login_as, make_batch, db, keys):
    batch = make_batch()
    client = login_as("coop")
    url = f"/coop/batches/{batch.id}/correct?lang=en"
    opened = correction_of(client.get(url).text)
    batches.correct_batch(
        session=db, batch=batch, data=batches.BatchDetails.of(batch, origin_code="512021100"), reason="r", actor=None
    )
    batches.issue_labels(session=db, batch=batch, count=1, keys=keys, actor=None)
    db.commit()
    answer = client.post(url, data={**opened, "notes": "补录", "reason": "r"})
    assert answer.status_code == 409
    assert (
        "Origin: Nanxun Town (512021126) → Yueyang Town (512021100) (fixed now that labels are issued)" in answer.text
    )


def test_notes_a_browser_sends_back_with_crlf_are_not_taken_for_a_change(login_as, make_batch, db):
    batch = make_batch(notes="冷库\n3 号")  # as the API stores them
    client = login_as("coop")
    url = f"/coop/batches/{batch.id}/correct?lang=en"
    opened = correction_of(client.get(url).text) | {"notes": "冷库\r\n3 号"}  # as a browser sends a textarea
    batches.correct_batch(
        session=db, batch=batch, data=batches.BatchDetails.of(batch, grade="一级"), reason="r", actor=None
    )
    db.commit()
    answer = client.post(url, data={**opened, "reason": "r"})
    assert answer.status_code == 409 and "Notes" not in answer.text.split("Nothing was saved")[1].split("</ul>")[0]
    assert correction_of(answer.text)["grade"] == "一级"


@pytest.mark.parametrize("seen", ['{"quantity": "abc"}', '{"unit": ["x"]}', "[]", '{"origin_code": {}}'])
def test_an_edited_record_of_what_the_form_showed_is_no_500(login_as, make_batch, db, seen):
    batch = make_batch()
    client = login_as("coop")
    url = f"/coop/batches/{batch.id}/correct?lang=en"
    answer = client.post(
        url, data={**correction_of(client.get(url).text), "seen": seen, "grade": "一级", "reason": "r"}
    )
    assert answer.status_code == 409 and "your form says 一级" in answer.text
