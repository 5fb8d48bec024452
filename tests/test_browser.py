"""Real headless Chromium at a phone viewport: the scan page, languages, and a report that reaches the regulator."""

import subprocess

import pytest
from PIL import Image

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, PHONE, LiveServer
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

if CHROMIUM is None:  # pragma: no cover - the project installs it (scripts/system-deps.sh)
    raise RuntimeError(
        "Debian's chromium is not installed: run `make system-deps`; browser tests cannot pass without it"
    )


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live(app, labelled):
    with LiveServer(app) as server:
        yield server


def signed_in(browser, live, email: str, then: str, **context):
    """A laptop's browser page, logged in as one of the world's accounts and led on to `then`."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **context).new_page()
    page.goto(f"{live.url}/login?next={then}")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    return page


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_scan_page_on_a_phone_in_chinese_then_english(browser, live, labelled):
    _, codes = labelled
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{live.url}/Q/{codes[1]}")
    verdict = page.locator(".verdict")
    assert verdict.locator("h1").inner_text() == "正品"
    assert "此码已被查询 1 次" in page.locator(".count").inner_text()
    assert no_sideways_scroll(page)
    box = verdict.bounding_box()
    assert box["width"] <= 375 and box["y"] < 200  # the verdict is the first thing on the screen
    page.get_by_role("link", name="English").click()
    assert page.locator(".verdict h1").inner_text() == "Genuine"
    assert page.locator("html").get_attribute("lang") == "en"
    assert no_sideways_scroll(page)
    # Zoomed to 200% (half the CSS width): each fact's value keeps a line of its own, the words whole.
    page.set_viewport_size({"width": 187, "height": 667})
    assert page.locator(".facts dd").first.bounding_box()["width"] > 120
    assert page.locator(".verdict h1").bounding_box()["height"] < 60  # "Genuine" on one line, not "Genuin / e"
    assert no_sideways_scroll(page)


def test_the_scan_page_reads_without_javascript(browser, live, labelled):
    _, codes = labelled
    page = browser.new_context(**PHONE, java_script_enabled=False).new_page()
    page.goto(f"{live.url}/q/{codes[2]}")
    assert page.locator(".verdict h1").inner_text() == "正品"
    assert page.locator(".share").is_hidden()  # the optional place button needs JavaScript


def test_going_back_from_the_report_form_is_no_second_scan(browser, make_app, labelled):
    """Else the buyer's own first scan would read as someone else's, and push the label towards a warning.
    With CSRF on, as in production: the report form gives the browser its first session cookie."""
    _, codes = labelled
    with LiveServer(make_app(WTF_CSRF_ENABLED=True)) as live:
        page = browser.new_context(**PHONE).new_page()
        page.goto(f"{live.url}/q/{codes[3]}")
        page.get_by_role("link", name="举报疑似假冒产品").click()
        page.go_back()
        assert "此码已被查询 1 次" in page.locator(".count").inner_text()
        page.goto(f"{live.url}/q/{codes[3]}")  # opened again from the label: a scan
        assert "此码已被查询 2 次" in page.locator(".count").inner_text()


def test_sharing_a_place_thanks_only_once_it_is_stored(browser, live, labelled):
    _, codes = labelled
    context = browser.new_context(**PHONE, geolocation={"latitude": 30.12, "longitude": 104.63}, permissions=[])
    context.grant_permissions(["geolocation"], origin=live.url)
    page = context.new_page()
    page.goto(f"{live.url}/q/{codes[4]}")
    page.get_by_role("button", name="分享我的大致位置").click()
    page.locator(".share .done").wait_for()
    assert page.locator(".share button").is_hidden()  # no second tap offered
    assert page.locator(".share .denied").is_hidden()
    page.goto(f"{live.url}/q/{codes[5]}")
    page.route("**/q/place", lambda route: route.fulfill(status=400, json={"error": {"code": "bad_token"}}))
    page.get_by_role("button", name="分享我的大致位置").click()
    page.locator(".share .denied").wait_for()  # an expired page is told, not thanked
    assert page.locator(".share .done").is_hidden()


def test_an_invalid_code_on_a_phone_offers_the_report(browser, live):
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{live.url}/q/FAKE2CODE3XYZ")
    assert "无效码" in page.locator(".verdict h1").inner_text()
    assert no_sideways_scroll(page)
    page.get_by_role("link", name="举报疑似假冒产品").click()
    assert page.locator("input[name=code]").input_value() == "FAKE2CODE3XYZ"


def test_a_photo_too_large_is_named_before_the_upload_and_the_text_stays(browser, live, tmp_path):
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8" + b"0" * (9 * 1024 * 1024))  # more than the 8 MB each photo may have
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live.url}/report")
    phone.locator("textarea[name=description]").fill("标签上的二维码扫不出来")
    phone.locator("input[type=file]").set_input_files(str(big))
    problem = phone.locator("#photo-problem")
    assert problem.is_visible() and "huge.jpg" in problem.inner_text()
    phone.get_by_role("button", name="提交举报").click()  # held back: nothing is sent, nothing is lost
    assert phone.url.endswith("/report")
    assert phone.locator("textarea[name=description]").input_value() == "标签上的二维码扫不出来"


def test_photos_too_large_to_send_without_javascript_keep_the_words_behind_back(browser, make_app, tmp_path):
    """Without the script that holds such photos back, the request passes its size limit and nothing of it is
    read: the page says to go back, and Back shows the form as typed (CSRF on, as in production)."""
    big, small = tmp_path / "big.jpg", tmp_path / "small.jpg"
    big.write_bytes(b"\xff\xd8" + b"0" * 200_000)
    Image.new("RGB", (400, 300), (220, 200, 30)).save(small, format="JPEG")
    with LiveServer(make_app(WTF_CSRF_ENABLED=True, MAX_CONTENT_LENGTH=100_000)) as live:
        phone = browser.new_context(**PHONE, java_script_enabled=False).new_page()
        phone.goto(f"{live.url}/report?code=AY-2026-000001")
        phone.locator("textarea[name=description]").fill("标签上的二维码扫不出来")
        phone.locator("input[name=place]").fill("资阳市雁江区某超市")
        phone.locator("input[type=file]").set_input_files(str(big))
        with phone.expect_navigation() as refused:
            phone.get_by_role("button", name="提交举报").click()
        assert refused.value.status == 413 and phone.locator("p.flash.error").is_visible()
        assert no_sideways_scroll(phone)
        phone.go_back()
        assert phone.locator("textarea[name=description]").input_value() == "标签上的二维码扫不出来"
        assert phone.locator("input[name=place]").input_value() == "资阳市雁江区某超市"
        phone.locator("input[type=file]").set_input_files(str(small))
        phone.get_by_role("button", name="提交举报").click()
        assert phone.locator(".tracking").inner_text().startswith("JB-")


def test_a_report_with_a_photo_reaches_the_regulators_queue(browser, live, labelled, tmp_path):
    _, codes = labelled
    photo = tmp_path / "fake.jpg"
    Image.new("RGB", (800, 600), (220, 200, 30)).save(photo, format="JPEG")
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live.url}/q/{codes[3]}")
    phone.locator("a.button", has_text="举报").click()
    phone.locator("textarea[name=description]").fill("超市里卖的柠檬标签是复印的")
    phone.locator("input[name=place]").fill("资阳市雁江区某超市")
    phone.locator("input[type=file]").set_input_files(str(photo))
    assert no_sideways_scroll(phone)
    phone.get_by_role("button", name="提交举报").click()
    tracking = phone.locator(".tracking").inner_text()
    assert tracking.startswith("JB-")
    phone.set_viewport_size({"width": 320, "height": 640})  # the narrowest phones: the number still fits
    assert no_sideways_scroll(phone) and phone.locator(".tracking").evaluate("e => e.scrollWidth <= e.clientWidth")

    desk = signed_in(browser, live, "reg@test.cn", "/regulator/reports")
    with desk.expect_navigation(wait_until="load"):  # "load": the case page's photos included
        desk.get_by_role("link", name=tracking).click()
    assert "超市里卖的柠檬标签是复印的" in desk.content()
    image = desk.locator(".photos img").first
    assert image.evaluate("img => img.complete && img.naturalWidth") == 800


def test_a_regulator_works_a_case_from_new_to_closed_with_a_recall(browser, live, labelled, db, file_report):
    from gi_registry.domain import reports
    from gi_registry.models import Batch

    batch, codes = labelled
    filed = file_report(reports.ReportInput(description="标签是复印的", code=codes[4]))
    desk = signed_in(browser, live, "reg@test.cn", "/regulator/reports", locale="zh-CN")
    desk.get_by_role("link", name=filed.tracking_no).click()

    def step(status: str, note: str):
        desk.locator("select[name=step-status]").select_option(status)
        desk.locator("textarea[name=step-note]").fill(note)
        with desk.expect_navigation():  # the case page again, after the redirect: not the page before it
            desk.locator("form[action$='/step'] button").click()
        assert "已推进" in desk.content() or desk.locator(".flash.success").count() == 1

    step("triaged", "受理")
    step("investigating", "现场核查")
    unasked = []

    def note(dialog):
        unasked.append(dialog.message)
        dialog.dismiss()

    desk.on("dialog", note)
    with desk.expect_navigation():  # no reason yet: not asked "for good?", the server says what is missing
        desk.locator("form.recall button").click()
    desk.remove_listener("dialog", note)
    assert unasked == [] and desk.locator(".flash.error").count() == 1
    desk.locator("textarea[name=recall-reason]").fill("核实为假冒标签流通批次")
    asked = []
    desk.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    desk.locator("form.recall button").click()  # a recall cannot be undone: asked first, and not confirmed …
    assert asked == ["确定召回该批次？召回后不能恢复。"]
    db.expire_all()
    assert db.get(Batch, batch.id).status == "active"
    desk.once("dialog", lambda dialog: dialog.accept())
    # The dialog's answer submits after the click returns: wait for the page that answers, as the old page's
    # form going away (which the test waited for) comes before the new page is there.
    with desk.expect_navigation():
        desk.locator("form.recall button").click()  # … then confirmed
    assert desk.locator(".flash.success").count() == 1 and desk.locator("form.recall").count() == 0
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live.url}/q/{codes[1]}")
    assert phone.locator(".verdict").get_attribute("class") == "verdict revoked"
    asked.clear()
    desk.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    step("confirmed", "确认假冒")
    assert asked == []  # a step on the way is not asked about …
    step("closed", "结案")
    assert asked == ["此步之后，案件不能再改回之前的状态。确定继续？"]  # … the one that ends the case is
    history = desk.locator("table").first.inner_text()
    for note in ("受理", "现场核查", "确认假冒", "结案"):
        assert note in history
    assert desk.locator("select[name=step-status]").count() == 0  # nothing follows `closed`


def test_a_field_being_corrected_drops_the_servers_old_complaint(browser, live):
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(f"{live.url}/report")
    phone.locator("textarea[name=description]").fill("假")
    phone.get_by_role("button", name="提交举报").click()
    complaint = phone.locator(".field.has-error p.error")
    complaint.wait_for(state="visible")  # the form comes back from the server: wait for that page
    phone.wait_for_load_state("load")  # and for its deferred script, which listens for the typing
    assert "至少写 4 个字" in complaint.inner_text()
    phone.locator("textarea[name=description]").fill("标签上的二维码扫不出来")
    assert not complaint.is_visible()


def test_the_batch_form_offers_only_the_chosen_products_towns(browser, live, grant):
    grant("lezhi-cocoon")
    page = signed_in(browser, live, "coop@test.cn", "/coop/batches/new", locale="zh-CN")
    offered = "o => [...o.options].filter(x => !x.parentNode.disabled).map(x => x.value)"
    page.locator("select[name=product_code]").select_option("anyue-lemon")
    lemon = page.locator("select[name=origin_code]").evaluate(offered)
    assert "512021126" in lemon and not any(code.startswith("512022") for code in lemon)
    page.locator("select[name=product_code]").select_option("lezhi-cocoon")
    cocoon = page.locator("select[name=origin_code]").evaluate(offered)
    assert cocoon and all(code.startswith("512022") for code in cocoon)
    assert page.locator("select[name=origin_code]").input_value() in cocoon  # no town of the other product kept


def test_the_town_chosen_stays_chosen_when_the_form_comes_back_or_the_product_changes(browser, live, db, grant):
    from gi_registry.domain import registry

    # A brand over the whole county offers the lemon's towns too: the same town in two groups.
    brand = registry.ProductInput(
        code="anyue-brand", name="安岳品牌", name_en="Anyue Brand", kind="public_brand", area_codes=["512021"]
    )
    registry.save_product(session=db, data=brand, actor=None)
    grant("anyue-brand")
    page = signed_in(browser, live, "coop@test.cn", "/coop/batches/new", locale="zh-CN")
    origin = page.locator("select[name=origin_code]")
    page.locator("select[name=product_code]").select_option("anyue-lemon")
    origin.select_option("512021126")
    page.locator("select[name=product_code]").select_option("anyue-brand")
    assert origin.input_value() == "512021126"  # the same town, now from the brand's group
    page.locator("select[name=product_code]").select_option("anyue-lemon")
    page.locator("input[name=quantity]").fill("0")
    with page.expect_navigation():
        page.locator("form.form button[type=submit]").click()
    assert page.locator(".field.has-error").count() >= 1  # the form came back with its complaint …
    assert origin.input_value() == "512021126"  # … and the town chosen
    assert page.locator("select[name=product_code]").input_value() == "anyue-lemon"


def test_deactivating_an_account_is_asked_about_though_its_reason_is_optional(browser, live, db, world):
    from gi_registry.models import User

    page = signed_in(browser, live, "admin@test.cn", f"/admin/accounts/{world['users']['coop'].id}", locale="zh-CN")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("form[data-confirm] button", has_text="停用").click()
    assert asked == ["确定停用该账号？其所有登录将立即结束。"]
    db.expire_all()
    assert db.get(User, world["users"]["coop"].id).is_active  # not confirmed: nothing done


def test_a_cooperative_corrects_a_mistyped_quantity_on_the_batch_page(browser, live, make_batch, db):
    batch = make_batch(quantity=100.0)
    page = signed_in(browser, live, "coop@test.cn", f"/coop/batches/{batch.id}", locale="zh-CN")
    page.get_by_role("link", name="更正录入错误").click()
    quantity = page.locator("input[name=quantity]")
    assert quantity.input_value() == "100"
    quantity.fill("10")
    page.locator("textarea[name=reason]").fill("多打了一个零")
    page.get_by_role("button", name="保存更正").click()
    assert f"批次 {batch.batch_no} 已更正：数量。" in page.locator(".flash.success").inner_text()
    assert "10 千克" in page.locator(".facts").inner_text()
    db.refresh(batch)
    assert batch.quantity == 10.0


def test_a_pasted_link_breaks_rather_than_push_staff_pages_sideways_on_a_phone(
    browser, live, labelled, db, world, file_report
):
    """A reporter pastes the fake label's link; a recall's reason quotes it: it has no place to break."""
    from gi_registry.domain import batches, reports

    batch, _codes = labelled
    link = "https://fake-ziyang-gi.example.com/verify?id=" + "A1b2C3d4" * 25
    filed = file_report(reports.ReportInput(description=f"假货链接 {link}", code=link[:64], place=link[:200]))
    batches.recall_batch(session=db, batch=batch, reason=f"仿冒标签见 {link}", actor=world["users"]["coop"])
    db.commit()
    desk = signed_in(browser, live, "reg@test.cn", "/regulator/reports", locale="zh-CN")
    desk.set_viewport_size(PHONE["viewport"])
    for path in (f"/regulator/reports/{filed.id}", f"/coop/batches/{batch.id}", "/admin/audit"):
        desk.goto(f"{live.url}{path}")
        assert link[:40] in desk.content(), path
        assert no_sideways_scroll(desk), path


def test_a_long_latin_licensee_name_breaks_rather_than_push_the_directory_sideways(browser, live, db, world):
    """An enterprise registered under a long romanised name: on a phone each cell is a line of its own."""
    licensee = world["coop_b"]
    licensee.name = "ZiyangLezhiSericultureCooperativeUnion" * 2
    db.add(licensee)
    db.commit()
    phone = browser.new_context(**PHONE).new_page()
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.goto(f"{live.url}/licensees")
    assert licensee.name in phone.content()
    assert no_sideways_scroll(phone)


def test_a_reports_paragraphs_stay_paragraphs_for_the_officer(browser, live, file_report):
    from gi_registry.domain import reports

    filed = file_report(reports.ReportInput(description="买的柠檬标签模糊。\n\n包装上没有合作社名称。"))
    desk = signed_in(browser, live, "reg@test.cn", f"/regulator/reports/{filed.id}", locale="zh-CN")
    told = desk.locator("dd.written").first.inner_text()
    assert told == "买的柠檬标签模糊。\n\n包装上没有合作社名称。"


def test_the_scan_page_with_the_phones_text_size_turned_up(browser, live, labelled):
    """Android's and WeChat's text size setting scales every font (px too) but not the viewport, so a
    media query on the width never fires: at 200% each fact's value still gets a line of its own."""
    _, codes = labelled
    page = browser.new_context(**PHONE, bypass_csp=True).new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(f"{live.url}/q/{codes[6]}?lang=en")
    page.add_style_tag(content="html{font-size:200%!important}body{font-size:34px!important}")
    assert page.locator(".facts dd").first.bounding_box()["width"] > 200  # not "A / n / y / u / e"
    lines = "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length }"
    assert page.get_by_role("link", name="中文").evaluate(lines) == 1  # not "中" above "文"
    assert no_sideways_scroll(page)


def test_a_printed_scan_page_keeps_its_verdict_readable(browser, live, labelled, tmp_path):
    """A buyer prints the page for the shop or the market office. Browsers print no backgrounds unless
    told to: the verdict's white words on its coloured box came out white on white paper."""
    _, codes = labelled
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{live.url}/q/{codes[7]}")
    page.pdf(path=str(tmp_path / "scan.pdf"), format="A4")  # as the print dialog does by default
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", tmp_path / "scan.pdf", tmp_path / "p"], check=True
    )
    printed = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
    colours = printed.getcolors(maxcolors=1 << 24)
    green = sum(n for n, (r, g, b) in colours if abs(r - 0x1A) < 30 and abs(g - 0x7F) < 30 and abs(b - 0x37) < 30)
    assert green > 1000  # the genuine verdict's box, under its white words


def test_the_home_page_zoomed_on_a_phone_does_not_scroll_sideways(browser, live):
    """Zoomed to 200% a 360px phone is 180 CSS pixels wide: the product cards, at least 200px, stuck out."""
    page = browser.new_context(**PHONE).new_page()
    page.set_viewport_size({"width": 180, "height": 640})
    page.goto(f"{live.url}/")
    assert no_sideways_scroll(page)


def test_the_public_pages_links_and_controls_are_big_enough_to_tap(browser, live):
    """An older thumb on a cheap phone: the menu, the footer's links and the directory's search were 15 to
    40px tall, next to each other; 44px is the least a finger hits without zooming first."""
    page = browser.new_context(**PHONE).new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    for path in ("/", "/licensees"):
        page.goto(f"{live.url}{path}")
        targets = page.locator(
            "header.top a, header.top button, footer a, .filters :is(input, select, button), main .button"
        )
        heights = {
            target.inner_text() or target.get_attribute("name"): target.bounding_box()["height"]
            for target in targets.all()
        }
        assert heights and all(height >= 44 for height in heights.values()), (path, heights)


@pytest.mark.parametrize("path", ["/dashboard/", "/admin/", f"/admin/licensees/{1}"])
def test_staff_pages_on_a_phone_do_not_scroll_sideways(browser, live, path):
    """An officer glancing at the figures on a phone, zoomed to 200% (180 CSS pixels wide): a grid's column
    is at most the page's width."""
    desk = signed_in(browser, live, "admin@test.cn", path, locale="zh-CN")
    desk.set_viewport_size({"width": 180, "height": 740})
    desk.goto(f"{live.url}{path}")
    assert no_sideways_scroll(desk), path


def test_a_printed_batch_or_case_page_leaves_out_the_forms(browser, live, labelled, file_report):
    """An officer prints a case for the file, a cooperative a batch for its records: the empty boxes to
    recall, suspend or issue, and their buttons (grey on white paper), pushed the history to a second page."""
    from gi_registry.domain import reports

    batch, codes = labelled
    filed = file_report(reports.ReportInput(description="标签模糊", code=codes[3]))
    desk = signed_in(browser, live, "reg@test.cn", f"/regulator/reports/{filed.id}", locale="zh-CN")
    coop = signed_in(browser, live, "coop@test.cn", f"/coop/batches/{batch.id}", locale="zh-CN")
    for page in (desk, coop):
        assert page.locator("main form.form").first.is_visible()  # on screen they are there
        page.emulate_media(media="print")
        assert not page.locator("main form").filter(visible=True).count(), page.url
        assert not page.locator("main h2").filter(has_text="召回").filter(visible=True).count(), page.url
        assert page.locator("main table").first.is_visible()  # the history prints


def test_the_audit_logs_changed_fields_stay_readable_on_a_laptop_and_a_tablet(browser, live, labelled, db, world):
    """A field's English name ("Inspection certificate number") took its own width in the narrow reason
    column and left the value a letter or two a line ("Y / J / -"); on a tablet the table ran off the page."""
    from gi_registry.domain import batches

    batches.recall_batch(session=db, batch=labelled[0], reason="农残检测超标，请勿食用", actor=world["users"]["coop"])
    db.commit()
    desk = signed_in(browser, live, "admin@test.cn", "/admin/audit?entity_type=batch", locale="en")
    for width in (1024, 768):
        desk.set_viewport_size({"width": width, "height": 768})
        desk.goto(f"{live.url}/admin/audit?entity_type=batch&lang=en")
        for summary in desk.locator("td.reason details > summary").all():
            summary.click()
        values = desk.locator(".changes dd").evaluate_all("dds => dds.map(dd => dd.getBoundingClientRect().width)")
        assert values and min(values) >= 150, (width, sorted(values)[:3])  # was 98px at 1024, 52px at 768
        assert no_sideways_scroll(desk), width


def test_a_products_area_list_scrolls_down_and_opens_at_the_areas_chosen(browser, live, world):
    """The area list's columns under a fixed height ran sideways into five widths of columns, which a mouse
    wheel does not scroll, and the county chosen (安岳县, far to the right) was nowhere to be seen."""
    desk = signed_in(browser, live, "admin@test.cn", f"/admin/products/{world['lemon'].id}/edit", locale="zh-CN")
    areas = desk.locator("ul.checklist")
    assert areas.evaluate("list => list.scrollWidth <= list.clientWidth")
    assert areas.evaluate("list => list.scrollHeight > list.clientHeight")  # 93 areas: the list scrolls down
    chosen = areas.locator("input:checked")
    assert chosen.count() == 1
    box, seen = chosen.bounding_box(), areas.bounding_box()
    assert seen["y"] <= box["y"] and box["y"] + box["height"] <= seen["y"] + seen["height"]
