"""Public pages: the home page, the product list and the licensee directory."""

from flask import Blueprint, render_template, request
from sqlalchemy import text

from ..db import get_session
from ..domain import registry
from .paging import Pagination, choice_arg, page_args

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    products = registry.list_products(session=get_session(), include_withdrawn=False)
    return render_template("public/home.html", products=products)


@bp.get("/products")
def products():
    session = get_session()
    rows = [(p, registry.production_area(session=session, product=p)) for p in registry.list_products(session=session)]
    return render_template("public/products.html", rows=rows)


@bp.get("/licensees")
def licensees():
    session = get_session()
    page, per_page = page_args()
    products = registry.list_products(session=session)
    q, product = request.args.get("q", ""), choice_arg("product", {product.code for product in products})
    found, total = registry.search_licensees(session=session, q=q, product_code=product, page=page, per_page=per_page)
    licences = registry.licences_of_each(session=session, licensees=found)
    rows = [(licensee, licences[licensee.id]) for licensee in found]
    return render_template(
        "public/licensees.html",
        rows=rows,
        q=q,
        product=product,
        pagination=Pagination(page, per_page, total),
        products=products,
        status_of=registry.licence_status,
        counties={a.code: a for a in registry.counties(session=session)},
    )


@bp.get("/healthz")
def healthz():
    get_session().exec(text("SELECT 1"))
    return "ok", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}


# Scan pages, label links and the API are for people holding a product, not for search engines: a crawler
# that followed a shared label link would only add to its count (and is not counted, intake.counts_as_scan).
ROBOTS = "User-agent: *\nDisallow: /q/\nDisallow: /Q/\nDisallow: /01/\nDisallow: /api/\nDisallow: /report\n"


@bp.get("/robots.txt")
def robots():
    return ROBOTS, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/api/docs")
def api_docs():
    from ..api.openapi import docs_page

    return docs_page()
