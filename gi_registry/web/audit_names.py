"""The names of the records audit events refer to by id or code (i18n.REFERENCES), for pages that show what
the events changed: the audit log and a batch's history."""

from sqlmodel import col, select

from ..domain import audit
from ..i18n import REFERENCES, local_name
from ..models import Area, Licensee, Product, User

# Each kind of record, its key → its name in the page's language; only the records the events name are read.
_LOADERS = {
    "user": lambda session, ids: {
        user.id: user.email for user in session.exec(select(User).where(col(User.id).in_(ids)))
    },
    "licensee": lambda session, ids: {
        licensee.id: licensee.name for licensee in session.exec(select(Licensee).where(col(Licensee.id).in_(ids)))
    },
    "product": lambda session, ids: {
        product.id: local_name(product) for product in session.exec(select(Product).where(col(Product.id).in_(ids)))
    },
    "area": lambda session, codes: {
        area.code: local_name(area) for area in session.exec(select(Area).where(col(Area.code).in_(codes)))
    },
}


def audit_names(session, events) -> dict:
    """{"user": {id: e-mail}, "area": {code: name}, …} for the records these events' changes name."""
    named = {}
    for event in events:
        for name, *values in audit.changes(event):
            if kind := REFERENCES.get(name):
                for value in values:
                    named.setdefault(kind, set()).update(value if isinstance(value, list) else [value])
    return {kind: _LOADERS[kind](session, keys - {None}) for kind, keys in named.items() if keys - {None}}
