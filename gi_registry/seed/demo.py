"""Demo data: Ziyang's GI products and the 资味 brand, fictional licensees and one account per role, on top
of the reference areas (areas.py, loaded here too, so a demo needs no init-db first).
Product facts that could not be verified against a primary register are left empty; see products.md.
The licensees are fictional and marked （演示）; their USCCs are well-formed but belong to no one.
"""

import secrets
from datetime import date, timedelta

from sqlmodel import Session, select

from ..domain import accounts, audit, batches, registry
from ..domain.codes import CodeKeys
from ..models import Batch, Licensee, User
from .areas import load_areas

PRODUCTS = [
    registry.ProductInput(
        code="anyue-lemon",
        name="安岳柠檬",
        name_en="Anyue Lemon",
        kind="gi_product",
        area_codes=["512021"],
        standard="GB/T 29573-2013",
        shelf_life_days=90,
        kg_per_label=0.5,
        batch_prefix="AY",
        description="安岳县柠檬。保护范围暂按安岳县全境登记，待与原国家质检总局公告核对。",
    ),
    registry.ProductInput(
        code="lezhi-cocoon",
        name="乐至蚕茧",
        name_en="Lezhi Cocoon",
        kind="gi_certification_mark",
        area_codes=["512022"],
        shelf_life_days=365,
        kg_per_label=1.0,
        batch_prefix="LZ",
        description="乐至县桑蚕茧，地理标志证明商标。保护范围暂按乐至县全境登记。",
    ),
    registry.ProductInput(
        code="yanjiang-mandarin",
        name="雁江蜜柑",
        name_en="Yanjiang Mandarin",
        kind="gi_product",
        area_codes=["512002"],
        shelf_life_days=60,
        kg_per_label=0.5,
        batch_prefix="YJ",
        description="雁江区蜜柑。保护范围暂按雁江区全境登记。",
    ),
    registry.ProductInput(
        code="ziwei",
        name="资味",
        name_en="Ziwei (Taste of Ziyang)",
        kind="public_brand",
        area_codes=["512000"],
        shelf_life_days=180,
        kg_per_label=0.25,
        batch_prefix="ZW",
        description="资阳市区域公用品牌，覆盖全市农产品。",
    ),
]

LICENSEES = [
    (
        registry.LicenseeInput(
            name="安岳县柠檬种植专业合作社（演示）",
            uscc="93512021MA6AY0L018",
            county_code="512021",
            address="安岳县岳阳镇",
            contact_name="张敏",
            gtin="06901234000016",
        ),
        ["anyue-lemon", "ziwei"],
    ),
    (
        registry.LicenseeInput(
            name="乐至县蚕桑专业合作社（演示）",
            uscc="93512022MA6L00C02X",
            county_code="512022",
            address="乐至县天池街道",
            contact_name="李强",
        ),
        ["lezhi-cocoon"],
    ),
    (
        registry.LicenseeInput(
            name="雁江区蜜柑专业合作社（演示）",
            uscc="93512002MA6Y10M03N",
            county_code="512002",
            address="资阳市雁江区",
            contact_name="王芳",
        ),
        ["yanjiang-mandarin", "ziwei"],
    ),
]

ACCOUNTS = [
    ("admin@demo.gi-registry.cn", "admin", None),
    ("regulator@demo.gi-registry.cn", "regulator", None),
    ("coop@demo.gi-registry.cn", "cooperative", "93512021MA6AY0L018"),
    ("coop-lezhi@demo.gi-registry.cn", "cooperative", "93512022MA6L00C02X"),
]


def seed_batch(*, session: Session, keys: CodeKeys, base_url: str) -> list[str]:
    """One lemon batch with 20 unit labels, so a fresh install has a code to scan (named again on a re-run)."""
    first = session.exec(select(Batch).where(Batch.labels_issued > 0).order_by(Batch.id)).first()
    if first is not None:
        sample = batches.label_for(batch=first, serial=1, keys=keys, base_url=base_url).url
        return [f"batch {first.batch_no} exists; try a scan: {sample}"]
    if session.exec(select(Batch)).first() is not None:
        return []
    licensee = session.exec(select(Licensee).where(Licensee.uscc == LICENSEES[0][0].uscc)).one()
    data = batches.BatchInput(
        product_code="anyue-lemon",
        quantity=100,
        unit="kg",
        origin_code="512021126",
        harvested_on=registry.registry_today() - timedelta(days=7),
        grade="一级",
    )
    batch = batches.register_batch(session=session, licensee=licensee, data=data, actor=None)
    batches.issue_labels(session=session, batch=batch, count=20, keys=keys, actor=None)
    sample = batches.label_for(batch=batch, serial=1, keys=keys, base_url=base_url).url
    return [f"batch {batch.batch_no} created with 20 labels; try a scan: {sample}"]


def seed(*, session: Session, passwords: dict[str, str] | None = None) -> list[str]:
    """Load the demo data once; running again changes nothing and reports what exists."""
    lines = [f"areas: {load_areas(session=session)}"]
    for data in PRODUCTS:
        if registry.find_product(session=session, code=data.code) is None:
            registry.save_product(session=session, data=data, actor=None)
            lines.append(f"product {data.code} created")
    this_year = registry.registry_today().year
    for data, product_codes in LICENSEES:
        licensee = session.exec(select(Licensee).where(Licensee.uscc == data.uscc)).first()
        if licensee is None:
            licensee = registry.save_licensee(session=session, data=data, actor=None)
            for code in product_codes:
                registry.grant_licence(
                    session=session,
                    licensee=licensee,
                    product_code=code,
                    valid_from=date(this_year - 1, 1, 1),
                    valid_to=date(this_year + 2, 12, 31),
                    actor=None,
                    reason=audit.DEMO_REASON,
                )
            lines.append(f"licensee {data.name} created")
    passwords = passwords or {}
    for email, role, uscc in ACCOUNTS:
        if session.exec(select(User).where(User.email == email)).first() is None:
            password = passwords.get(email) or f"gi-{secrets.token_urlsafe(10)}-{secrets.randbelow(900) + 100}"
            accounts.create_user(session=session, email=email, password=password, role=role, licensee_uscc=uscc)
            lines.append(f"account {role:<11} {email}  password: {password}")
        else:
            lines.append(f"account {role:<11} {email}  (exists; password unchanged)")
    return lines
