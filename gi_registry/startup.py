"""The check gunicorn's master runs before any worker boots (gunicorn.conf.py): `python -m gi_registry.startup`.

In a child process, so the master itself never imports the app: a reload (HUP) then boots workers on the
code and settings of the moment, as `preload_app = False` intends. Exit 3 (gunicorn's "cannot boot")
with one line when the settings are wrong or the database's schema is not this code's; a database that
does not answer yet is only warned of, as the workers will try again.
"""

import sys

from sqlalchemy.exc import InterfaceError, OperationalError

from . import create_app, migrate
from .config import ConfigError
from .db import error_line


def main() -> int:
    try:
        app = create_app()
    except ConfigError as error:
        print(f"gi-registry cannot start: {error}", file=sys.stderr)
        return 3
    engine = app.extensions["db_engine"]
    try:
        problem = migrate.schema_problem(engine, app.config["DATABASE_URL"])
    except (OperationalError, InterfaceError) as error:
        print(f"gi-registry: the database does not answer yet: {error_line(error)}", file=sys.stderr)
        return 0
    finally:
        engine.dispose()
    if problem:
        print(f"gi-registry cannot start: {problem}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
