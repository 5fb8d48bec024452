"""The dashboard: who may see it, the figures behind it and the SVG charts that show them."""

import csv
import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from gi_registry.domain import batches, registry, reports, stats
from gi_registry.models import Report, Scan, utcnow
from gi_registry.web import charts

ANYUE = (30.10, 105.33)
BEIJING = (39.90, 116.40)


def _this_month():
    return stats.date_range(first=None, last=None, today=registry.registry_today())


@pytest.fixture
def scanned(client, db, labelled, make_batch, keys):
    """Scans through the API: 4 genuine, 1 warning (seen far apart), 1 revoked (recalled batch), 2 invalid."""
    lemon, codes = labelled
    cocoon = make_batch("coop_b")
    recalled = make_batch()
    for batch in (cocoon, recalled):
        batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    batches.recall_batch(session=db, batch=recalled, reason="抽检不合格", actor=None)
    db.commit()

    def code_of(batch, serial=1):
        return batches.label_for(batch=batch, serial=serial, keys=keys, base_url="").code

    def verify(code, place=None, address="127.0.0.1"):
        query = f"?lat={place[0]}&lon={place[1]}" if place else ""
        return client.get(f"/api/v1/verify/{code}{query}", environ_base={"REMOTE_ADDR": address}).json["verdict"]

    verdicts = [
        verify(codes[1]),
        verify(codes[1]),
        verify(codes[3], ANYUE),
        verify(codes[3], BEIJING, "10.1.1.1"),  # a thousand kilometres away within the hour: a copied label
        verify(code_of(cocoon)),
        verify(code_of(recalled)),
        verify("FORGED2CODE"),
        verify("FORGED2CODE"),
    ]
    assert verdicts == ["genuine"] * 3 + ["warning", "genuine", "revoked", "invalid", "invalid"]
    return {"lemon": lemon, "cocoon": cocoon, "recalled": recalled}


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("coop", 403), ("regulator", 200), ("admin", 200)])
def test_only_regulators_and_admins_see_the_dashboard(login_as, who, status):
    response = login_as(who).get("/dashboard/")
    assert response.status_code == status
    if who is None:
        assert "/login" in response.headers["Location"]


def test_scans_are_counted_per_verdict_product_and_county(db, scanned):
    period = _this_month()
    verdicts = {c.key: c.count for c in stats.verdict_mix(session=db, period=period)}
    assert verdicts == {"genuine": 4, "warning": 1, "revoked": 1, "invalid": 2}
    per_product = [(c.key, c.count) for c in stats.scans_per_product(session=db, period=period)]
    assert per_product == [("anyue-lemon", 5), ("lezhi-cocoon", 1)]  # the forged codes belong to no product
    per_county = [(c.key, c.name, c.count) for c in stats.scans_per_county(session=db, period=period)]
    assert per_county == [("512021", "安岳县", 5), ("512022", "乐至县", 1), ("512002", "雁江区", 0)]


def test_warnings_are_placed_and_their_batches_named(db, scanned):
    period = _this_month()
    assert stats.warning_places(session=db, period=period) == [stats.PlaceCount(*BEIJING, 1)]
    warned = stats.warned_batches(session=db, period=period)
    assert [(b.batch_no, b.product, b.count) for b in warned] == [(scanned["lemon"].batch_no, "安岳柠檬", 1)]


def test_scans_per_day_are_days_in_china_with_empty_days_as_zero(db, world):
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET TIME ZONE 'America/New_York'"))  # a day in China must not follow the session's zone
    moments = [
        datetime(2026, 2, 28, 16, 0, 0, tzinfo=UTC),  # 1 March 00:00 in China
        datetime(2026, 3, 1, 15, 59, 59, 999999, tzinfo=UTC),  # 1 March 23:59:59.999999 in China
        datetime(2026, 3, 2, 16, 30, tzinfo=UTC),  # 3 March 00:30 in China, still 2 March in UTC
        datetime(2026, 3, 3, 16, 0, tzinfo=UTC),  # 4 March in China: the day after the range
        datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC),  # 28 February in China: the day before it
    ]
    db.add_all(Scan(at=at, verdict="invalid") for at in moments)
    db.commit()
    period = stats.DateRange(date(2026, 3, 1), date(2026, 3, 3))
    per_day = stats.scans_per_day(session=db, period=period)
    assert [(d.day, d.count) for d in per_day] == [(date(2026, 3, 1), 2), (date(2026, 3, 2), 0), (date(2026, 3, 3), 1)]
    assert sum(c.count for c in stats.verdict_mix(session=db, period=period)) == 3


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, (date(2026, 5, 2), date(2026, 5, 31))),  # the last 30 days, today included
        (date(2026, 5, 10), None, (date(2026, 5, 10), date(2026, 5, 31))),
        (None, date(2026, 1, 30), (date(2026, 1, 1), date(2026, 1, 30))),
        (date(2026, 5, 10), date(2026, 5, 1), (date(2026, 5, 1), date(2026, 5, 10))),  # reversed ends swap
        (date(2000, 1, 1), date(2026, 5, 31), (date(2024, 5, 31), date(2026, 5, 31))),  # at most two years
    ],
)
def test_the_date_range_a_filter_asks_for(first, last, expected):
    period = stats.date_range(first=first, last=last, today=date(2026, 5, 31))
    assert (period.first, period.last) == expected


@pytest.fixture
def aged_report(db, file_report):
    def file(*, age: timedelta, status: str = "new", now: datetime) -> Report:
        report = file_report(reports.ReportInput(description="标签印刷模糊，疑似假冒"))
        report.created_at, report.status = now - age, status
        db.add(report)
        db.commit()
        return report

    return file


def test_open_reports_are_counted_by_age(db, world, aged_report):
    now = utcnow()
    hours = [1, 71, 73, 7 * 24 + 23, 8 * 24 + 1, 30 * 24 + 23, 31 * 24 + 1, 400 * 24]
    for age in hours:
        aged_report(age=timedelta(hours=age), status="investigating" if age > 100 else "new", now=now)
    aged_report(age=timedelta(days=60), status="closed", now=now)  # closed cases are not a backlog
    ages = {c.key: c.count for c in stats.open_reports_by_age(session=db, now=now)}
    assert ages == {"0-2": 2, "3-7": 2, "8-30": 2, ">30": 2}
    by_status = {c.key: c.count for c in stats.reports_by_status(session=db)}
    assert by_status == {
        **{"new": 3, "triaged": 0, "investigating": 5, "confirmed": 0, "dismissed": 0},
        **{"closed:confirmed": 0, "closed:dismissed": 0, "closed": 1},  # closed with no step kept: as it is
    }
    figures = stats.figures(session=db, period=_this_month(), now=now)
    assert figures.open_reports == 8
    assert sum(c.count for c in figures.reports_by_status) == 5  # filed within the last 30 days


def test_closed_cases_are_counted_by_how_they_ended(login_as, db, world, file_report):
    """A month's confirmed counterfeits are counted with the cases closed since, not lost under 'closed'."""
    regulator = world["users"]["regulator"]
    for ending in ("confirmed", "confirmed", "dismissed", None):
        report = file_report(reports.ReportInput(description="标签是复印的"))
        path = {"confirmed": ["triaged", "investigating", "confirmed", "closed"], "dismissed": ["dismissed", "closed"]}
        for step in path.get(ending, []):
            reports.transition(session=db, report=report, to_status=step, note="n", actor=regulator)
        db.commit()
    by_status = {c.key: c.count for c in stats.reports_by_status(session=db)}
    assert by_status == {
        **{"new": 1, "triaged": 0, "investigating": 0, "confirmed": 0, "dismissed": 0},
        **{"closed:confirmed": 2, "closed:dismissed": 1},
    }
    page = login_as("regulator").get("/dashboard/?lang=en").text
    assert "closed, counterfeit: 2" in page and "closed, dismissed: 1" in page


def test_reports_are_counted_per_product_they_concern(login_as, db, world, labelled, file_report, aged_report):
    _, codes = labelled
    file_report(reports.ReportInput(description="标签是复印的", code=codes[1]))  # the code's product
    named = aged_report(age=timedelta(hours=1), now=utcnow())
    reports.name_product(session=db, report=named, product=world["cocoon"], actor=world["users"]["regulator"])
    db.commit()
    aged_report(age=timedelta(hours=1), now=utcnow())  # no product known
    aged_report(age=timedelta(days=90), now=utcnow())  # filed before the period
    counted = [(c.key, c.count) for c in stats.reports_by_product(session=db, period=_this_month())]
    assert counted == [("anyue-lemon", 1), ("lezhi-cocoon", 1), (reports.NO_PRODUCT, 1)]
    page = login_as("regulator").get("/dashboard/?lang=en").text
    assert "Anyue Lemon: 1; Lezhi Cocoon: 1; Product not known: 1" in page


def test_the_page_draws_the_figures_as_svg(login_as, scanned, db, aged_report):
    aged_report(age=timedelta(days=10), now=utcnow())
    page = login_as("regulator").get("/dashboard/?lang=en").text
    assert page.count("<svg") == 7 and 'role="img"' in page
    assert 'font-weight="bold">5</text>' in page  # the lemon's bar
    assert "Invalid 2 (25%)" in page and "Genuine 4 (50%)" in page  # the verdict legend
    assert "Anyue Lemon: 5; Lezhi Cocoon: 1" in page  # the chart's description for screen readers
    assert "8–30 days: 1" in page
    assert scanned["lemon"].batch_no in page and "39.90" in page and "116.40" in page


def test_the_charts_words_take_the_pages_punctuation(login_as, scanned):
    """The description a screen reader reads and the titles a pointer shows: 安岳柠檬：5；乐至蚕茧：1 in Chinese."""
    chinese = login_as("regulator").get("/dashboard/?lang=zh").text
    assert "安岳柠檬：5；乐至蚕茧：1" in chinese and "<title>安岳柠檬：5</title>" in chinese
    assert "<title>正品：4</title>" in chinese and "正品: " not in chinese and "; 乐至" not in chinese
    english = login_as("regulator").get("/dashboard/?lang=en").text
    assert "Anyue Lemon: 5; Lezhi Cocoon: 1" in english and "<title>Genuine: 4</title>" in english


def test_a_scan_after_midnight_in_china_counts_on_chinas_day(login_as, db, world):
    """16:30 UTC on 28 November is 00:30 on the 29th in Ziyang: the dashboard counts it on the 29th."""
    at = datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    db.add(Scan(at=at, verdict="invalid"))
    db.add(Report(tracking_no="JB-20261129-TESTTEST", description="标签是复印的", created_at=at, updated_at=at))
    db.commit()
    the_29th = stats.DateRange(date(2026, 11, 29), date(2026, 11, 29))
    assert [(d.day, d.count) for d in stats.scans_per_day(session=db, period=the_29th)] == [(date(2026, 11, 29), 1)]
    assert {c.key: c.count for c in stats.reports_by_status(session=db, period=the_29th)}["new"] == 1
    the_28th = stats.DateRange(date(2026, 11, 28), date(2026, 11, 28))
    assert sum(c.count for c in stats.verdict_mix(session=db, period=the_28th)) == 0
    assert {c.key: c.count for c in stats.reports_by_status(session=db, period=the_28th)}["new"] == 0
    page = login_as("admin").get("/dashboard/?lang=en&from=2026-11-29&to=2026-11-29").text
    assert "Invalid 1 (100%)" in page


def test_the_dashboard_ends_on_todays_date_in_china(login_as, monkeypatch):
    monkeypatch.setattr(registry, "registry_today", lambda: date(2026, 11, 29))
    page = login_as("admin").get("/dashboard/?lang=en").text
    assert 'value="2026-10-31"' in page and 'value="2026-11-29"' in page


def test_the_page_follows_the_date_filter(login_as, scanned):
    page = login_as("admin").get("/dashboard/?lang=en&from=2099-01-01&to=2099-01-07").text
    assert 'value="2099-01-01"' in page and 'value="2099-01-07"' in page
    assert "Anyue Lemon: 0" in page and "No warning in this period." in page
    assert "<svg" in page and "01-07" in page  # the last date tick


def test_bar_labels_are_escaped_and_values_written_out():
    svg = str(charts.bar_chart([("<script>x</script>", 1234), ("安岳柠檬", 0)], title='A "chart" & more'))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<title>A &#34;chart&#34; &amp; more</title>" in svg and 'role="img"' in svg
    assert ">1,234</text>" in svg and ">0</text>" in svg
    assert 'aria-label="A &#34;chart&#34; &amp; more: &lt;script&gt;x&lt;/script&gt;: 1,234; 安岳柠檬: 0"' in svg


def test_a_long_label_is_cut_but_kept_whole_in_its_title():
    label = "资阳市安岳县某某柠檬专业合作社联合社" * 3
    svg = str(charts.bar_chart([(label, 3)], title="t", width=400))
    assert "…</text>" in svg and f"<title>{label}: 3</title>" in svg


def test_line_chart_ticks_the_dates_and_writes_the_values():
    points = [(date(2026, 5, 1) + timedelta(days=n), n % 3) for n in range(10)]
    svg = str(charts.line_chart(points, title="Scans"))
    assert "<polyline" in svg and ">05-01</text>" in svg and ">05-10</text>" in svg
    assert svg.count(">2</text>") >= 3  # each day with two scans, and the axis maximum
    years = str(charts.line_chart([(date(2025, 12, 31), 0), (date(2026, 1, 1), 0)], title="t"))
    assert ">2025-12-31</text>" in years


def _value_spans(svg: str, size: float = 11) -> list[tuple[float, float]]:
    """Where each value written on the line runs, from its x, anchor and text."""
    spans, written = [], r'<text x="([\d.]+)" y="[\d.-]+" text-anchor="(\w+)" font-size="11">([^<]*)<'
    for x, anchor, value in re.findall(written, svg):
        width = charts.text_width(value, size)
        left = float(x) - {"start": 0, "middle": width / 2, "end": width}[anchor]
        spans.append((left, left + width))
    return spans


@pytest.mark.parametrize("level", [3, 250, 12_000])
def test_the_values_written_on_a_months_line_never_overlap_nor_leave_the_chart(level):
    """A month of thousands of scans a day wrote "12,069" over "11,786" over "11,793" …, all day long."""
    points = [(date(2026, 11, 1) + timedelta(days=n), level + (n * 37) % 11) for n in range(30)]
    svg = str(charts.line_chart(points, title="Scans", width=1000))
    spans = _value_spans(svg)
    assert spans and all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[0][0] >= 0 and spans[-1][1] <= 1000
    if level < 1000:  # while they fit, every day's value is written
        assert len(spans) == 30


def test_a_weeks_line_names_every_day_and_a_years_stays_with_a_few_dates():
    """Five dates spread over seven days named the 23rd, 25th, 26th, 27th and 29th: two days unnamed, unevenly."""
    week = [(date(2026, 11, 23) + timedelta(days=n), n) for n in range(7)]
    svg = str(charts.line_chart(week, title="Scans", width=1000))
    assert all(f">11-{day}</text>" in svg for day in range(23, 30))
    year = [(date(2025, 11, 30) + timedelta(days=n), 1) for n in range(365)]
    assert len(re.findall(r">\d{4}-\d\d-\d\d</text>", str(charts.line_chart(year, title="Scans", width=1000)))) == 5


def test_the_verdict_bar_uses_the_app_colours_and_survives_no_scans():
    parts = [("Genuine", 3, charts.VERDICT_COLOURS["genuine"]), ("Invalid", 1, charts.VERDICT_COLOURS["invalid"])]
    svg = str(charts.stacked_bar(parts, title="Verdicts"))
    assert 'fill="#1a7f37"' in svg and 'fill="#4a5361"' in svg and ">75%</text>" in svg and "Invalid 1 (25%)" in svg
    nothing = str(charts.stacked_bar([("Genuine", 0, "#1a7f37")], title="Verdicts"))
    assert "Genuine 0" in nothing and "%" not in nothing
    assert "No data" in str(charts.bar_chart([], title="t", empty="No data"))


def test_a_share_that_rounds_to_none_or_all_of_the_scans_says_so_rather_than_0_or_100():
    """One warning in 400 scans is no "0%", and the 399 genuine no "100%": that reads as no warning at all."""
    parts = [("Genuine", 399, charts.VERDICT_COLOURS["genuine"]), ("Warning", 1, charts.VERDICT_COLOURS["warning"])]
    svg = str(charts.stacked_bar(parts, title="Verdicts"))
    assert "Warning 1 (&lt;1%)" in svg and "Genuine 399 (&gt;99%)" in svg and ">&gt;99%</text>" in svg
    assert "(0%)" not in svg and "100%" not in svg
    assert "Genuine 400 (100%)" in str(charts.stacked_bar([("Genuine", 400, "#1a7f37")], title="Verdicts"))


def test_a_bar_label_that_just_fits_is_not_cut():
    """The label column is as wide as its longest label; float sums once cut "30天以上" to "30天以…"."""
    svg = charts.bar_chart([("30天以上", 3), ("8–30天", 1)], title="ages", width=320)
    assert "30天以上" in svg and "…" not in svg


def test_a_period_changed_from_the_one_asked_for_says_how(login_as):
    staff = login_as("regulator")
    swapped = staff.get("/dashboard/?lang=en&from=2026-11-20&to=2026-11-01").text
    assert "Scans from 2026-11-01 to 2026-11-20" in swapped and "the two were swapped" in swapped
    long = staff.get("/dashboard/?lang=en&from=2020-01-01&to=2026-11-01").text
    assert "A period is at most two years: this one now starts on 2024-11-01." in long
    plain = staff.get("/dashboard/?lang=en&from=2026-11-01&to=2026-11-20").text
    assert "swapped" not in plain and "at most two years" not in plain


def test_a_date_filter_that_is_no_date_is_named_not_silently_dropped(login_as):
    staff = login_as("regulator")
    queue = staff.get("/regulator/reports?lang=en&from=garbage").text
    assert "“garbage” is not a date this page can use (write YYYY-MM-DD)" in queue
    assert "is not a date" not in staff.get("/regulator/reports?from=2026-11-01").text
    assert "“bogus” is no status this list knows" in staff.get("/regulator/reports?lang=en&status=bogus").text


def test_a_quantity_raised_after_labels_is_listed_and_other_corrections_are_not(login_as, db, world, make_batch, keys):
    coop = world["users"]["coop"]
    raised, lowered, early = make_batch(quantity=10.0), make_batch(quantity=100.0), make_batch(quantity=10.0)
    for batch in (raised, lowered):
        batches.issue_labels(session=db, batch=batch, count=10, keys=keys, actor=coop)
    details = batches.BatchDetails.of
    batches.correct_batch(session=db, batch=raised, data=details(raised, quantity=500.0), reason="补报产量", actor=coop)
    batches.correct_batch(session=db, batch=lowered, data=details(lowered, quantity=50.0), reason="多报", actor=coop)
    batches.correct_batch(session=db, batch=early, data=details(early, quantity=900.0), reason="未发标签", actor=coop)
    db.commit()
    period = stats.date_range(first=None, last=None, today=registry.registry_today())
    (found,) = stats.quantity_raises(session=db, period=period)
    assert (found.batch_no, found.before, found.after, found.labels_issued) == (
        raised.batch_no,
        (10.0, "kg"),
        (500.0, "kg"),
        10,
    )
    assert (found.actor, found.reason) == ("coop@test.cn", "补报产量")
    # Told in quantities, which a product rule changed since does not restate.
    world["lemon"].kg_per_label = 0.25
    db.add(world["lemon"])
    db.commit()
    page = login_as("regulator").get("/dashboard/?lang=en").text
    assert f">{raised.batch_no}</a>" in page and "10 kg → 500 kg" in page
    assert lowered.batch_no not in page and early.batch_no not in page


def test_the_scans_export_of_the_period_adds_up_to_the_dashboards_figures(login_as, db, scanned):
    """The office's monthly report checks the page against the export: each figure per verdict, product and
    county must be found again by counting the export's rows."""
    period = _this_month()
    export = login_as("regulator").get(f"/transfer/scans.csv?from={period.first}&to={period.last}")
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))

    def counted(column: str) -> dict:
        return {key: count for key, count in Counter(row[column] for row in rows).items() if key}

    def shown(counts) -> dict:
        return {c.key: c.count for c in counts if c.count}

    assert len(rows) == stats.figures(session=db, period=period).total_scans
    assert counted("verdict") == shown(stats.verdict_mix(session=db, period=period))
    assert counted("product_code") == shown(stats.scans_per_product(session=db, period=period))
    assert counted("licensee_county_code") == shown(stats.scans_per_county(session=db, period=period))
