"""Counterfeit reports from anyone, with photos made safe; a refused upload leaves nothing behind."""

import io
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pillow_heif
import pytest
from PIL import Image
from sqlmodel import col, select

from gi_registry.domain import batches, photos, reports
from gi_registry.models import Report, ReportPhoto


def jpeg_with_gps(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 180, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (30.0, 7.0, 12.0), 3: "E", 4: (104.0, 38.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def bomb() -> bytes:
    """A small PNG that claims 20000 × 20000 pixels."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")
    return out.getvalue()


def heic(size=(640, 480), exif: bytes | None = None, xmp: bytes | None = None) -> bytes:
    """A HEIC as a phone saves it (a picture of a yellowish lemon), made with pillow-heif itself."""
    picture = Image.new("RGB", size, (200, 180, 40))
    picture.paste((255, 0, 0), (0, 0, 8, 8))  # a red mark in the top left corner, to tell a turn
    out = io.BytesIO()
    pillow_heif.from_pillow(picture).save(out, quality=60, exif=exif, xmp=xmp)
    return out.getvalue()


def heic_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (30.0, 7.0, 12.0), 3: "E", 4: (104.0, 38.0, 0.0)}  # GPS
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="30,7.2N"'
        b' exif:GPSLongitude="104,38.0E"/></rdf:RDF></x:xmpmeta>'
    )
    return heic(exif=exif.tobytes(), xmp=xmp)


def heic_claiming(width: int, height: int, picture=(64, 64)) -> bytes:
    """A HEIC whose header claims width × height pixels, its size box rewritten: a small file claiming
    millions is a bomb; decoded, it would fail (libheif compares), so refused as too big it was measured
    before any decoding. 64 × 64 is a whole number of coding blocks: no crop box says the size again."""
    data = heic(size=picture)
    at = data.index(b"ispe") + 8  # the box's version and flags, then width and height
    return data[:at] + width.to_bytes(4, "big") + height.to_bytes(4, "big") + data[at + 8 :]


def heic_damaged() -> bytes:
    """A HEIC whose coded picture says it is longer than the data there is (its first length field)."""
    data = heic()
    at = data.index(b"mdat") + 4
    return data[:at] + b"\xff\xff\xff\xff" + data[at + 4 :]


def upload_files(upload_dir) -> list[str]:
    return sorted(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else []


def post_report(client, photos=(), **fields):
    data = {"description": "包装上的二维码是印上去的，扫不出来", "place": "资阳市某超市", **fields}
    data["photos"] = [(io.BytesIO(content), name) for name, content in photos]
    return client.post("/report", data=data, content_type="multipart/form-data")


def test_a_report_with_a_photo_gets_a_tracking_number_and_a_public_status(client, app, labelled, db):
    _, codes = labelled
    response = post_report(client, photos=[("fruit.jpg", jpeg_with_gps())], code=codes[2], contact="13800000000")
    assert response.status_code == 302
    report = db.exec(select(Report)).one()
    assert report.tracking_no.startswith("JB-") and report.batch_id is not None and report.serial == 2
    status = client.get(response.location)
    assert report.tracking_no in status.text and "13800000000" not in status.text
    api = client.get(f"/api/v1/reports/{report.tracking_no}").json
    assert set(api) == {"tracking_no", "status", "updated_at", "outcome"} and api["status"] == api["outcome"] == "new"


def test_photos_are_reencoded_without_exif_under_random_names(client, app, world, db):
    post_report(client, photos=[("IMG_0001.jpg", jpeg_with_gps()), ("shot.png", png())])
    stored = db.exec(select(ReportPhoto)).all()
    assert len(stored) == 2
    for photo in stored:
        assert photo.filename.endswith(".jpg") and "IMG" not in photo.filename and len(photo.filename) == 36
        with Image.open(os.path.join(app.config["GI_UPLOAD_DIR"], photo.filename)) as image:
            assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info


def test_a_photo_with_too_many_pixels_is_named_in_chinese_units(client, world):
    page = post_report(client, photos=[("bomb.png", bomb())])
    assert page.status_code == 422 and "最多 2500 万像素" in page.text  # 25 million, as cameras are sold


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("evil.jpg", b"<?php system($_GET['c']); ?>", 415),
        ("doc.pdf", b"%PDF-1.4 not an image", 415),
        ("bomb.png", None, 413),
        ("huge.jpg", b"\xff\xd8" + b"0" * (9 * 1024 * 1024), 413),
        ("truncated.png", None, 415),
        ("bomb.heic", None, 413),
        ("truncated.heic", None, 415),
        ("damaged.heic", None, 415),
        ("understated.heic", None, 415),  # a picture bigger than its header says is not decoded whole
    ],
)
def test_a_bad_upload_is_refused_and_leaves_nothing_behind(client, app, world, db, name, content, status):
    if name == "bomb.png":
        content = bomb()
    if name == "truncated.png":
        content = png()[:60]
    if name == "bomb.heic":
        content = heic_claiming(6000, 5000)
    if name == "damaged.heic":
        content = heic_damaged()
    if name == "understated.heic":
        content = heic_claiming(64, 64, picture=(640, 480))
    if name == "truncated.heic":
        content = heic()[:-200]  # the container whole, the picture's coded data cut short
    response = client.post(
        "/api/v1/reports",
        content_type="multipart/form-data",
        data={"description": "可疑的柠檬", "photos": [(io.BytesIO(png()), "good.png"), (io.BytesIO(content), name)]},
    )
    assert response.status_code == status, response.json
    assert response.json["error"]["fields"] == {"photos": "photo 2 is refused"}  # which one, for the client
    assert db.exec(select(Report)).all() == [] and db.exec(select(ReportPhoto)).all() == []
    assert upload_files(app.config["GI_UPLOAD_DIR"]) == []


def test_more_than_three_photos_are_refused(client, app, world, db):
    response = post_report(client, photos=[(f"{n}.png", png()) for n in range(4)])
    assert response.status_code == 422
    assert db.exec(select(Report)).all() == [] and upload_files(app.config["GI_UPLOAD_DIR"]) == []


def test_an_api_photo_sent_under_another_field_name_is_refused_not_dropped(client, app, world, db):
    """A client that names the file field `photo` was told 201 while the photo, its evidence, was thrown away."""
    response = client.post(
        "/api/v1/reports",
        content_type="multipart/form-data",
        data={"description": "可疑的柠檬", "photo": (io.BytesIO(png()), "label.png")},
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid_fields" and "photo" in response.json["error"]["fields"]
    assert db.exec(select(Report)).all() == [] and upload_files(app.config["GI_UPLOAD_DIR"]) == []


def test_a_report_needs_a_description(client, world, db):
    assert post_report(client, description="").status_code == 422
    assert client.post("/api/v1/reports", json={"description": ""}).status_code == 422
    assert db.exec(select(Report)).all() == []


def test_a_json_report_without_a_code(client, world):
    response = client.post("/api/v1/reports", json={"description": "市场上有假冒资味标志的橙子", "place": "成都"})
    assert response.status_code == 201 and response.json["tracking_no"].startswith("JB-")


def test_the_tracking_number_carries_the_day_in_china(client, world, db, monkeypatch):
    """Filed at 16:30 UTC on 28 November, which is already 00:30 on the 29th in Ziyang."""
    monkeypatch.setattr(reports, "utcnow", lambda: datetime(2026, 11, 28, 16, 30, tzinfo=UTC))
    response = post_report(client)
    assert response.status_code == 302
    report = db.exec(select(Report)).one()
    assert report.tracking_no.startswith("JB-20261129-")
    page = client.get(response.location).text
    assert "2026-11-29" in page and "2026-11-28" not in page  # the last update, in China too


def test_an_unknown_tracking_number_is_404_on_page_and_api(client, world):
    assert client.get("/report/status?no=JB-20260101-AAAAAAAA").status_code == 404
    assert client.get("/api/v1/reports/JB-20260101-AAAAAAAA").status_code == 404


def test_reports_are_rate_limited(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="2 per hour").test_client()
    statuses = [client.post("/api/v1/reports", json={"description": "可疑的柠檬包装"}).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_the_scan_page_prefills_the_code_in_the_report_form(client, labelled):
    _, codes = labelled
    assert f'value="{codes[1]}"' in client.get(f"/report?code={codes[1]}").text


def test_a_failed_commit_takes_the_photos_with_it(app, db, world, keys, monkeypatch):
    from gi_registry.domain import reports

    filed = reports.file_report(
        session=db,
        data=reports.ReportInput(description="可疑的柠檬包装"),
        photo_uploads=[png()],
        keys=keys,
        upload_dir=app.config["GI_UPLOAD_DIR"],
        max_bytes=10**7,
        max_pixels=10**7,
    )
    assert len(upload_files(app.config["GI_UPLOAD_DIR"])) == 1

    def broken_commit():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        reports.commit_filed(session=db, report=filed, upload_dir=app.config["GI_UPLOAD_DIR"])
    assert upload_files(app.config["GI_UPLOAD_DIR"]) == []


def test_three_photos_each_within_the_limit_get_through_together(client, world, db):
    # 3 × 6 MB is more than a 16 MB request cap would let in, but well within "up to 8 MB each".
    padded = jpeg_with_gps() + b"\0" * (6 * 1024 * 1024)  # a decoder stops at the image's end marker
    response = post_report(client, photos=[(f"{n}.jpg", padded) for n in range(3)])
    assert response.status_code == 302, response.status_code
    assert len(db.exec(select(ReportPhoto)).all()) == 3


def jpeg_with_exif(exif: bytes, size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 180, 40)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_is_turned_upright_as_its_exif_says_before_the_exif_goes(client, app, world, db):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was held on its side
    assert post_report(client, photos=[("side.jpg", jpeg_with_exif(exif.tobytes()))]).status_code == 302
    with Image.open(os.path.join(app.config["GI_UPLOAD_DIR"], db.exec(select(ReportPhoto)).one().filename)) as image:
        assert image.size == (30, 40) and not image.getexif()


@pytest.mark.parametrize("path", ["/report", "/api/v1/reports"])
def test_a_photo_with_a_broken_exif_block_is_still_taken(client, app, world, db, path):
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Canon"
    broken = bytearray(exif.tobytes())
    # The first entry's tag 0x010F (Make, text) becomes 0x011F (XPosition, a number) still holding text:
    # Pillow reads the block but fails to write it back (the way exif_transpose would have).
    assert broken[6 + 10 : 6 + 12] == b"\x01\x0f"
    broken[6 + 11] = 0x1F
    content = jpeg_with_exif(bytes(broken))
    response = client.post(
        path,
        content_type="multipart/form-data",
        data={"description": "标签的EXIF坏了", "photos": [(io.BytesIO(content), "odd.jpg")]},
    )
    assert response.status_code in (201, 302), response.text
    [photo] = db.exec(select(ReportPhoto)).all()
    with Image.open(os.path.join(app.config["GI_UPLOAD_DIR"], photo.filename)) as image:
        assert image.format == "JPEG" and not image.getexif()


def test_a_refused_report_does_not_use_up_the_report_budget(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="2 per hour").test_client()
    too_short = [client.post("/api/v1/reports", json={"description": "假"}).status_code for _ in range(2)]
    filed = [client.post("/report", data={"description": "包装上的二维码是印上去的"}).status_code for _ in range(2)]
    assert too_short == [422, 422] and filed == [302, 302]
    assert client.post("/api/v1/reports", json={"description": "第三份举报"}).status_code == 429  # two filed an hour


def test_a_flood_of_refused_reports_is_limited_by_the_attempts_budget(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True, REPORT_ATTEMPT_RATE_LIMIT="3 per hour").test_client()
    refused = [client.post("/report", data={"description": "假"}).status_code for _ in range(3)]
    assert refused == [422, 422, 422]
    assert client.post("/api/v1/reports", json={"description": "包装上的二维码是印上去的"}).status_code == 429


def test_a_report_past_the_attempts_budget_comes_back_with_its_words(make_app, world):
    """Refused before the form is read (Flask-Limiter); phones behind one carrier address share the budget."""
    client = make_app(RATELIMIT_ENABLED=True, REPORT_ATTEMPT_RATE_LIMIT="1 per hour").test_client()
    assert client.post("/report", data={"description": "假"}).status_code == 422
    refused = client.post("/report", data={"description": "柠檬上的二维码扫不出来", "place": "雁江区某市场"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "举报未提交" in refused.text and "柠檬上的二维码扫不出来</textarea>" in refused.text
    assert 'value="雁江区某市场"' in refused.text
    assert client.get("/q/NOT-A-CODE").status_code == 200  # other pages keep their own budgets


def test_an_expired_report_form_comes_back_with_its_words_and_a_fresh_token(make_app, world, db):
    """An in-app browser that lost its session cookie, or a form left open past the token's life."""
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    words = {"description": "柠檬上的二维码扫不出来", "csrf_token": "stale"}
    expired = client.post("/report", data=words, headers={"Sec-Fetch-Site": "same-origin"})
    assert expired.status_code == 400 and "表单已过期" in expired.text
    assert "柠檬上的二维码扫不出来</textarea>" in expired.text
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', expired.text).group(1)
    assert client.post("/report", data={**words, "csrf_token": fresh}).status_code == 302
    assert len(db.exec(select(Report)).all()) == 1


@pytest.mark.parametrize(
    ("headers", "drawn_again"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Origin": "https://evil.example"}, False),
        ({"Referer": "https://evil.example/form"}, False),
        ({}, False),  # a browser that names no page: nothing proves the words the consumer's own
        ({"Referer": "http://localhost/report?code=AB"}, True),
        ({"Origin": "http://localhost"}, True),
    ],
)
def test_another_sites_post_to_the_report_form_is_not_drawn_with_its_words(make_app, world, headers, drawn_again):
    """Its CSRF check fails too; drawn again, its text would stand on the registry's page under our token."""
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    refused = client.post("/report", data={"description": "假冒！请拨打 400-000-0000 领取赔偿"}, headers=headers)
    assert refused.status_code == 400
    assert ("400-000-0000" in refused.text) is drawn_again
    assert ('name="csrf_token"' in refused.text) is drawn_again


def test_reports_sent_at_once_cannot_slip_past_the_budget(make_app, world, db, monkeypatch):
    app = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="2 per hour")
    file_report = reports.file_report

    def file_slowly(**kwargs):  # every submission is past the door before the first one is filed
        filed = file_report(**kwargs)
        time.sleep(0.3)
        return filed

    monkeypatch.setattr(reports, "file_report", file_slowly)
    together = threading.Barrier(6)

    def post(path):
        client = app.test_client()
        together.wait()
        if path == "/report":
            return client.post(path, data={"description": "同时寄出的举报"}).status_code
        return client.post(path, json={"description": "同时寄出的举报"}).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(post, ["/report", "/api/v1/reports"] * 3))
    assert statuses.count(429) == 4 and set(statuses) - {429} <= {201, 302}
    assert len(db.exec(select(Report)).all()) == 2 and upload_files(app.config["GI_UPLOAD_DIR"]) == []


def test_a_spent_budget_answers_429_with_the_wait_on_page_and_api(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="1 per hour").test_client()
    assert client.post("/api/v1/reports", json={"description": "第一份举报"}).status_code == 201
    for refused in (
        client.post("/api/v1/reports", json={"description": "第二份举报"}),
        client.post("/report", data={"description": "第二份举报"}),
    ):
        assert refused.status_code == 429 and 3000 < int(refused.headers["Retry-After"]) <= 3600
    assert "请 60 分钟后再试" in refused.text  # the wait the budget names, not a stock minute
    assert "举报未提交" in refused.text and "第二份举报</textarea>" in refused.text  # the words are kept


def test_photos_too_large_together_say_back_keeps_the_words(make_app, world):
    """Past the request's size limit nothing of the form is read, so it cannot come back filled in. The
    browser's Back button shows the form as it was typed: the page says to use it, and offers no link
    (a link, or the language switch, opens the form empty)."""
    client = make_app(MAX_CONTENT_LENGTH=64 * 1024).test_client()

    def too_large():
        return {"description": "柠檬上的二维码扫不出来", "photos": [(io.BytesIO(b"\xff\xd8" + b"0" * 70_000), "a.jpg")]}

    page = client.post("/report?lang=en", data=too_large(), content_type="multipart/form-data")
    assert page.status_code == 413
    assert "Your report was not sent" in page.text and "at most 3 photos of up to 8 MB each" in page.text
    assert "Back button" in page.text and "what you wrote is still there" in page.text
    main = page.text.split("<main>")[1]
    assert "<a " not in main.split("</main>")[0]  # no way back that loses the words
    assert 'hreflang="zh"' not in page.text  # nor a language switch, which is a link too
    assert 'href="/login"' not in page.text  # the consumer's own layout, not the staff pages'
    api = client.post("/api/v1/reports", data=too_large(), content_type="multipart/form-data")
    assert api.status_code == 413 and api.json["error"]["code"] == "payload_too_large"


def test_a_report_past_the_budget_speaks_of_photos_only_when_some_were_chosen(make_app, world):
    """ "The photos must be chosen again" puzzled a reporter who chose none; one who chose some is told so
    under the photos field, as every other refusal does."""
    client = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="1 per hour").test_client()
    assert client.post("/api/v1/reports", json={"description": "第一份举报"}).status_code == 201
    words_only = client.post("/report?lang=en", data={"description": "第二份举报"})
    assert words_only.status_code == 429 and "Your report was not sent" in words_only.text
    assert "photos" not in words_only.text.split("<form")[0] and "not kept with the form" not in words_only.text
    photos = post_report(client, photos=[("fruit.jpg", png())], lang="en")
    assert photos.status_code == 429
    assert photos.text.count("Your photos were not kept with the form: choose them again.") == 1


def test_the_report_form_says_a_spent_budget_before_anything_is_written(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="1 per hour").test_client()
    assert "请 60 分钟后再试" not in client.get("/report").text
    assert client.post("/api/v1/reports", json={"description": "第一份举报"}).status_code == 201
    page = client.get("/report")
    assert page.status_code == 200 and "请 60 分钟后再试" in page.text and 'href="tel:12315"' in page.text


def test_a_refused_form_says_what_to_fix_once_and_in_plain_words(client, world):
    short = client.post("/report", data={"description": "假"})
    assert short.status_code == 422 and "请至少写 4 个字，最多 4000 个字" in short.text
    client.get("/report?lang=en")
    not_an_image = post_report(client, photos=[("fruit.jpg", b"not an image at all")])
    assert not_an_image.status_code == 422
    assert not_an_image.text.count("Photos must be JPEG, HEIC, PNG, WebP, GIF or BMP images") == 1
    assert "Your photos were not kept with the form: choose them again." in not_an_image.text


def test_of_several_photos_the_refused_one_is_named_and_all_must_be_chosen_again(client, world, db):
    page = client.post(
        "/report?lang=en",
        data={
            "description": "包装上的二维码是印上去的",
            "photos": [(io.BytesIO(png()), "label.png"), (io.BytesIO(b"not an image"), "receipt.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "receipt.jpg: Photos must be JPEG, HEIC, PNG, WebP, GIF or BMP images." in page.text
    assert "Your photos were not kept with the form: choose them again." in page.text
    assert db.exec(select(Report)).all() == []


def test_the_status_page_in_the_other_language_keeps_the_thanks(client, world):
    response = post_report(client)
    thanks = client.get(response.location).text
    switch = thanks.split('hreflang="en"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    english = client.get(f"/report/status{switch}").text
    assert "Thank you. Your report was received." in english and "Received" in english


def test_a_pasted_label_url_is_read_as_its_code(client, labelled, db):
    """Generic scanner apps give the whole URL; the report still points to the batch and serial."""
    _, codes = labelled
    assert post_report(client, code=f"HTTP://127.0.0.1:5000/Q/{codes[4]}?from=scanner").status_code == 302
    url = f"https://gi.example.cn/q/{codes[5].lower()}"
    assert client.post("/api/v1/reports", json={"description": "假冒的柠檬包装", "code": url}).status_code == 201
    filed = db.exec(select(Report).order_by(Report.id)).all()
    assert [(r.code, r.serial) for r in filed] == [(codes[4], 4), (codes[5], 5)]
    assert all(r.batch_id is not None for r in filed)
    assert filed[1].description.endswith(f"[URL] {url}")  # the site it was pasted from is kept as evidence


def test_a_pasted_link_of_another_shape_is_no_code_but_evidence(client, world, db):
    """A lookalike site's link names none of the registry's codes: not a part of its path taken for one."""
    link = "https://fake-ziyang-gi.example.com/verify?id=AAAA"
    assert post_report(client, code=link, description="扫码跳到了这个网站").status_code == 302
    filed = db.exec(select(Report)).one()
    assert (filed.code, filed.batch_id) == ("", None)
    assert filed.description == f"扫码跳到了这个网站\n\n[URL] {link}"


def test_a_report_at_full_length_with_a_long_pasted_url_is_filed_whole(client, labelled, db):
    """The URL goes below the 4,000 characters written; PostgreSQL refused the row when they had no room."""
    _, codes = labelled
    url = f"https://gi.example.cn/q/{codes[6]}?" + "x" * (300 - 43)
    assert len(url) == 300
    response = client.post("/api/v1/reports", json={"description": "假" * 4000, "code": url})
    assert response.status_code == 201
    assert db.exec(select(Report)).one().description == "假" * 4000 + f"\n\n[URL] {url}"


def test_a_description_that_filled_the_box_is_taken_though_each_line_break_arrives_as_two(client, world, db):
    """The box's maxlength counts a line break once; the browser sends it as CRLF."""
    lines = ["假" * 399] * 10  # 3990 characters and 9 breaks: 3999 as the box counted them
    assert post_report(client, description="\r\n".join(lines)).status_code == 302
    assert db.exec(select(Report)).one().description == "\n".join(lines)


def test_four_characters_are_a_description_three_are_not(client, world):
    assert client.post("/api/v1/reports", json={"description": "假冒柠檬"}).status_code == 201
    assert post_report(client, description="假柠檬").status_code == 422


FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}  # a Chinese keyboard's ＡＹ－２０２６


def test_a_label_read_off_its_print_points_the_report_to_its_batch(client, labelled, db):
    """Without a scanner a consumer types what the label prints beside the code: batch number and No."""
    batch, _codes = labelled
    typings = [
        (f"{batch.batch_no} No. 000005", (batch.id, 5)),
        (f"{batch.batch_no}第5号", (batch.id, 5)),
        (batch.batch_no.translate(FULL_WIDTH) + " 第５号", (batch.id, 5)),
        (batch.batch_no.replace("-", "—") + " No.5", (batch.id, 5)),  # the dash a Chinese keyboard's "-" gives
        (batch.batch_no.lower(), (batch.id, 0)),  # the batch code's label prints no number
        (f"{batch.batch_no} 买于2026年5月", (batch.id, 0)),  # a date after it is no serial
        (f"{batch.batch_no}-99999", (batch.id, None)),  # never issued: the batch is kept, a copy's evidence
        (f"{batch.batch_no[:-1]}12", (None, None)),  # a seven-digit number is no batch of ours
    ]
    for typed, expected in typings:
        assert post_report(client, code=typed).status_code == 302
        filed = db.exec(select(Report).order_by(col(Report.id).desc())).first()
        assert (filed.batch_id, filed.serial) == expected, typed


def test_a_pasted_gs1_link_is_read_by_the_signed_code_it_carries(client, labelled, keys, db):
    batch, codes = labelled
    label = batches.label_for(batch=batch, serial=5, keys=keys, base_url="", gtin="06901234000016")
    link = "https://gi.example.cn" + label.gs1_url
    assert "/21/5?8030=" in link
    assert post_report(client, code=link).status_code == 302
    filed = db.exec(select(Report)).one()
    assert (filed.code, filed.batch_id, filed.serial) == (codes[5], batch.id, 5)


def test_a_code_typed_as_printed_adds_nothing_to_the_description(client, labelled, db):
    _, codes = labelled
    assert post_report(client, code=f" {codes[4].lower()} ", description="标签印刷模糊").status_code == 302
    assert db.exec(select(Report)).one().description == "标签印刷模糊"


def test_a_code_field_that_is_no_code_is_kept_as_written(client, world, db):
    assert post_report(client, code="  印着 AY-2026 ").status_code == 302
    assert db.exec(select(Report)).one().code == "印着 AY-2026"


def test_a_tracking_number_is_found_without_its_dashes(client, world, db):
    number = client.post("/api/v1/reports", json={"description": "可疑的柠檬包装"}).json["tracking_no"]
    compact = number.replace("-", "").lower()
    assert client.get(f"/report/status?no={compact}").status_code == 200
    assert client.get(f"/api/v1/reports/{number[:11]} {number[11:]}").status_code == 200


@pytest.mark.parametrize(
    "typing",
    [
        lambda number: number.translate(FULL_WIDTH),  # a Chinese keyboard in full-width mode
        lambda number: number.replace("-", "－"),  # a Chinese keyboard's dash (U+FF0D)
        lambda number: number.replace("-", "—"),  # an em dash, as a pinyin keyboard gives for "-"
        lambda number: number.replace("-", " – ") + "\u3000",  # an en dash, an ideographic space after
    ],
    ids=["full-width", "full-width-dash", "em-dash", "en-dash-and-spaces"],
)
def test_a_tracking_number_typed_on_a_chinese_keyboard_is_found(client, world, typing):
    number = client.post("/api/v1/reports", json={"description": "可疑的柠檬包装"}).json["tracking_no"]
    typed = typing(number)
    assert client.get("/report/status", query_string={"no": typed}).status_code == 200, typed
    assert client.get(f"/api/v1/reports/{typed}").json["tracking_no"] == number


def test_a_48_megapixel_phone_photo_is_taken_and_scaled_down(client, world, db):
    """A JPEG is decoded at a reduced scale, so it is measured by what is decoded (12 MP here)."""
    out = io.BytesIO()
    Image.new("RGB", (8000, 6000), (120, 160, 60)).save(out, format="JPEG", quality=30)
    assert post_report(client, photos=[("IMG_48MP.jpg", out.getvalue())]).status_code == 302
    stored = db.exec(select(ReportPhoto)).one()
    assert (stored.width, stored.height) == (2048, 1536)


@pytest.mark.parametrize("path", ["/report", "/api/v1/reports"])
def test_a_heic_phone_photo_is_taken_as_a_jpeg_without_its_exif_or_xmp(client, app, world, db, path):
    """Phones set to save HEIF upload .heic files as they are; their GPS is in the EXIF and the XMP."""
    response = client.post(
        path,
        content_type="multipart/form-data",
        data={"description": "可疑的柠檬", "photos": [(io.BytesIO(heic_with_gps()), "IMG_20240501_101010.heic")]},
    )
    assert response.status_code in (201, 302), response.text
    [photo] = db.exec(select(ReportPhoto)).all()
    assert (photo.width, photo.height) == (640, 480)
    with open(os.path.join(app.config["GI_UPLOAD_DIR"], photo.filename), "rb") as handle:
        stored = handle.read()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info and "xmp" not in image.info
        assert image.getpixel((320, 240))[0] in range(190, 211)  # the picture itself came through
    for trace in (b"PhoneMaker", b"GPS", b"xmpmeta", b"104,38"):
        assert trace not in stored


def test_a_heic_turned_by_the_camera_is_stored_upright_once():
    """HEIF keeps the turn in the container (irot), which the decoder applies, and pillow-heif sets the
    EXIF orientation to 1: the picture must not be turned a second time by the EXIF."""
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held on its side; pillow-heif writes this as the container's turn
    cleaned = photos.clean_photo(heic(size=(40, 30), exif=exif.tobytes()), max_bytes=8 << 20, max_pixels=25_000_000)
    upright = Image.open(io.BytesIO(cleaned.jpeg))
    assert upright.size == (30, 40) and not upright.getexif()
    red, green, _ = upright.getpixel((27, 2))  # the top left mark, turned to the top right
    assert red > 200 and green < 60


@pytest.mark.parametrize(("width", "height"), [(6000, 5000), (20000, 20000)])
def test_a_heic_claiming_too_many_pixels_is_refused_before_it_is_decoded(client, world, db, width, height):
    response = client.post(
        "/api/v1/reports",
        content_type="multipart/form-data",
        data={"description": "可疑的柠檬", "photos": [(io.BytesIO(heic_claiming(width, height)), "big.heic")]},
    )
    assert response.status_code == 413 and "at most 25 million" in response.json["error"]["message"]
    assert db.exec(select(Report)).all() == []


def test_the_report_form_offers_heic_photos(client, world):
    page = client.get("/report?lang=en").text
    assert 'accept="image/*,.heic,.heif"' in page  # a picker that knows no HEIC type still lists the files
    assert "JPEG, HEIC, PNG, WebP, GIF or BMP" in page


def test_a_png_beyond_the_pixel_bound_is_refused_saying_the_bound(client, world, db):
    out = io.BytesIO()
    Image.new("1", (6000, 5000)).save(out, format="PNG")  # 30 MP decoded whole; the bound is 25
    response = client.post(
        "/api/v1/reports",
        content_type="multipart/form-data",
        data={"description": "可疑的柠檬", "photos": [(io.BytesIO(out.getvalue()), "scan.png")]},
    )
    assert response.status_code == 413 and "at most 25 million" in response.json["error"]["message"]
    client.get("/report?lang=en")
    page = post_report(client, photos=[("scan.png", out.getvalue())]).text
    assert "at most 25 million" in page and "%(" not in page
    assert db.exec(select(Report)).all() == []


@pytest.mark.parametrize(("ending", "said"), [("dismissed", "举报不成立"), ("confirmed", "已确认为假冒")])
def test_a_closed_case_still_tells_the_filer_what_it_came_to(client, db, world, file_report, ending, said):
    filed = file_report(reports.ReportInput(description="超市里的柠檬标签可疑"))
    regulator = world["users"]["regulator"]
    steps = ["triaged", "investigating", ending, "closed"] if ending == "confirmed" else [ending, "closed"]
    for step in steps:
        reports.transition(session=db, report=filed, to_status=step, note="处理", actor=regulator)
    db.commit()
    page = client.get(f"/report/status?no={filed.tracking_no}").text
    assert "已结案" in page and said in page
    api = client.get(f"/api/v1/reports/{filed.tracking_no}").json
    assert (api["status"], api["outcome"]) == ("closed", ending)


def _clean(image: Image.Image, fmt: str, **save) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    cleaned = photos.clean_photo(out.getvalue(), max_bytes=8 << 20, max_pixels=25_000_000)
    return Image.open(io.BytesIO(cleaned.jpeg))


def test_a_large_transparent_picture_is_laid_on_white_not_black():
    """Black writing on a transparent screenshot must stay readable once scaled down."""
    picture = Image.new("RGBA", (3000, 2000), (0, 0, 0, 0))
    picture.paste((0, 0, 0, 255), (1000, 900, 2000, 1100))  # a black bar of "writing"
    cleaned = _clean(picture, "PNG")
    assert cleaned.width == 2048
    assert cleaned.getpixel((50, 50))[0] > 240 and cleaned.getpixel((1024, 682))[0] < 15


def test_a_long_phone_screenshot_decodes_small_and_is_kept():
    cleaned = _clean(Image.new("RGB", (1080, 24000), (200, 200, 200)), "JPEG", quality=40)  # 26 MP stored
    assert cleaned.height == 2048


def test_a_phone_camera_mpo_is_taken_as_the_jpeg_it_is():
    first, second = Image.new("RGB", (640, 480), (1, 2, 3)), Image.new("RGB", (640, 480), (4, 5, 6))
    assert _clean(first, "MPO", save_all=True, append_images=[second]).size == (640, 480)


def test_a_16_bit_grey_picture_keeps_its_greys():
    assert _clean(Image.new("I;16", (300, 200), 30000), "PNG").getpixel((5, 5))[0] in range(110, 124)


def test_a_form_sent_back_says_its_photos_must_be_chosen_again(client, world):
    photo = (io.BytesIO(png()), "label.png")
    page = client.post("/report", data={"description": "假", "photos": [photo]}, content_type="multipart/form-data")
    assert page.status_code == 422 and "照片未随表单保留，请重新选择。" in page.text
    plain = client.post("/report", data={"description": "假"})
    assert "请重新选择" not in plain.text  # no photo chosen: nothing to say about photos


def test_an_unknown_tracking_number_is_told_at_its_box(client, world):
    """A screen reader on the box hears why the number it holds found nothing; a number found is no error."""
    page = client.get("/report/status?no=ZZZZ").text
    box = page.split('<input id="no"')[1].split(">")[0]
    assert 'aria-invalid="true"' in box and 'aria-describedby="no-problem"' in box
    assert 'id="no-problem"' in page
    assert "aria-invalid" not in client.get("/report/status").text


def _language_switch(page: str) -> str:
    return re.search(r"<header>.*?</header>", page, re.S).group(0)


def test_the_language_switch_of_a_refused_report_keeps_the_words_and_files_nothing(client, world, db):
    """After a refusal the switch was a link to /report?lang=en: the form came back empty, the words lost."""
    typed = {"description": "假", "place": "资阳市某超市", "contact": "13800000000", "code": "AY-2026-000001 No. 3"}
    refused = client.post("/report", data=typed)
    assert refused.status_code == 422
    switch = _language_switch(refused.text)
    assert 'form="report-form"' in switch and 'formaction="/report/language?lang=en"' in switch
    assert 'formenctype="application/x-www-form-urlencoded"' in switch  # the photos' bytes are not sent for it
    english = client.post("/report/language?lang=en", data={**typed, "photos": "label.jpg"})
    assert english.status_code == 200 and "Report a counterfeit" in english.text
    for words in typed.values():
        assert words in english.text
    assert "Your photos were not kept with the form: choose them again." in english.text
    assert "Please write at least 4 and at most 4000 characters." in english.text  # the refusal, now readable
    assert 'action="/report"' in english.text  # the form sends to the report, not to the switch
    assert 'formaction="/report/language?lang=zh"' in _language_switch(english.text)  # and back again
    assert db.exec(select(Report)).all() == []


def test_a_fresh_report_forms_switch_stays_a_link(client, world):
    assert '<a href="?lang=en"' in _language_switch(client.get("/report").text)


@pytest.mark.parametrize(
    ("headers", "drawn_again"),
    [({"Sec-Fetch-Site": "same-origin"}, True), ({"Sec-Fetch-Site": "cross-site"}, False), ({}, False)],
)
def test_the_language_switch_needs_the_forms_token_or_a_page_of_this_site(make_app, world, headers, drawn_again):
    """Another site's post must not put its words on the registry's report form; an expired form of ours
    switches with its words, and a fresh token, as nothing was being sent."""
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    sent = {"description": "假冒！请拨打 400-000-0000 领取赔偿", "csrf_token": "stale"}
    answer = client.post("/report/language?lang=en", data=sent, headers=headers)
    assert answer.status_code == (200 if drawn_again else 400)
    assert ("400-000-0000" in answer.text) is drawn_again
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/report").text).group(1)
    assert client.post("/report/language?lang=en", data={**sent, "csrf_token": token}).status_code == 200


@pytest.mark.parametrize(
    ("name", "is_photo"),
    [
        ("0" * 32 + ".jpg", True),
        ("0" * 32 + ".jpg\n", False),
        ("../" + "0" * 29 + ".jpg", False),
        ("A" * 32 + ".jpg", False),
    ],
)
def test_only_the_names_the_store_gives_are_photos(name, is_photo):
    """What a backup takes, a restore writes and removes: a line break after the name is no photo's."""
    assert bool(photos.NAME.match(name)) is is_photo
