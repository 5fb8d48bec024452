"""Tokens, products, licensees and licences."""

from flask import current_app, jsonify, request

from ..access import api_roles, api_user
from ..db import get_session
from ..domain import DomainError, accounts, registry
from ..extensions import login_limit
from ..models import ROLES, STAFF, Licence, Licensee, Product
from . import api
from .schemas import (
    AreaPublic,
    LicenceAction,
    LicenceCreate,
    LicencePublic,
    LicenseeCreate,
    LicenseePublic,
    ProductPublic,
    TokenCreate,
    TokenPublic,
    page_of,
    page_query,
    parse_body,
    product_query,
)


@api.post("/tokens")
@login_limit
def create_token():
    body = parse_body(TokenCreate)
    session = get_session()
    user = accounts.authenticate(session=session, email=body.email, password=body.password)
    if user is None:
        raise DomainError("invalid_credentials", "wrong e-mail or password", status=401)
    token, expires_at = accounts.issue_token(session=session, user=user, hours=current_app.config["API_TOKEN_HOURS"])
    session.commit()
    return TokenPublic(token=token, role=user.role, expires_at=expires_at).model_dump(mode="json"), 201


@api.delete("/tokens/current")
@api_roles(*ROLES)
def revoke_token():
    """The API's logout: the token presented stops working at once (tokens otherwise live API_TOKEN_HOURS)."""
    session = get_session()
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    accounts.revoke_token(session=session, token=token)
    session.commit()
    return {"revoked": True}


def product_public(product: Product) -> dict:
    areas = registry.production_area(session=get_session(), product=product)
    return ProductPublic(
        **product.model_dump(include=set(ProductPublic.model_fields) - {"production_area"}),
        production_area=[AreaPublic(code=a.code, name=a.name) for a in areas],
    ).model_dump(mode="json")


@api.get("/products")
def list_products():
    """A short list (the city's few marks), paged in memory as every list of the contract is."""
    page, per_page = page_query()
    products = registry.list_products(session=get_session())
    shown = products[(page - 1) * per_page : page * per_page]
    return jsonify(page_of([product_public(p) for p in shown], total=len(products), page=page, per_page=per_page))


def licensee_public(licensee: Licensee, licences: list[tuple[Licence, Product]] | None = None) -> dict:
    """A licensee with its licences, read unless the caller has them (a list reads a page's at once)."""
    if licences is None:
        licences = registry.licences_of(session=get_session(), licensee=licensee)
    return LicenseePublic(
        id=licensee.id,
        name=licensee.name,
        uscc=licensee.uscc,
        county=licensee.county_code,
        licences=[licence_public(licence, product) for licence, product in licences],
    ).model_dump(mode="json")


def licence_public(licence: Licence, product: Product) -> LicencePublic:
    status = registry.licence_status(licence)
    return LicencePublic(
        id=licence.id,
        product_code=product.code,
        # The contract's states (active, suspended, revoked, expired): a term yet to begin is still an
        # active licence; `in_force` says whether it may be used today.
        status="active" if status == "pending" else status,
        in_force=status == "active",
        valid_from=licence.valid_from,
        valid_to=licence.valid_to,
    )


@api.get("/licensees")
def list_licensees():
    page, per_page = page_query()
    session = get_session()
    found, total = registry.search_licensees(
        session=session,
        q=request.args.get("q", ""),
        product_code=product_query(session=session),
        page=page,
        per_page=per_page,
    )
    licences = registry.licences_of_each(session=session, licensees=found)
    items = [licensee_public(licensee, licences[licensee.id]) for licensee in found]
    return jsonify(page_of(items, total=total, page=page, per_page=per_page))


@api.get("/licensees/<id:licensee_id>")
def get_licensee(licensee_id: int):
    return licensee_public(registry.get_licensee(session=get_session(), licensee_id=licensee_id))


@api.post("/licensees")
@api_roles("admin")
def create_licensee():
    body = parse_body(LicenseeCreate)
    session = get_session()
    data = registry.LicenseeInput(
        name=body.name,
        uscc=body.uscc,
        county_code=body.county,
        address=body.address,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        gtin=body.gtin,
    )
    licensee = registry.save_licensee(session=session, data=data, actor=api_user())
    session.commit()
    return licensee_public(licensee), 201


@api.post("/licensees/<id:licensee_id>/licences")
@api_roles("admin")
def grant_licence(licensee_id: int):
    session = get_session()
    licensee = registry.get_licensee(session=session, licensee_id=licensee_id)
    body = parse_body(LicenceCreate)
    licence = registry.grant_licence(
        session=session,
        licensee=licensee,
        product_code=body.product_code,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        actor=api_user(),
    )
    session.commit()
    product = session.get(Product, licence.product_id)
    return licence_public(licence, product).model_dump(mode="json"), 201


@api.post("/licences/<id:licence_id>/<any(suspend, reinstate, revoke):action>")
@api_roles(*STAFF)
def licence_action(licence_id: int, action: str):
    session = get_session()
    licence = registry.get_licence(session=session, licence_id=licence_id)
    body = parse_body(LicenceAction)
    registry.change_licence_state(session=session, licence=licence, action=action, reason=body.reason, actor=api_user())
    session.commit()
    product = session.get(Product, licence.product_id)
    return licence_public(licence, product).model_dump(mode="json")
