"""Settings from the environment (see CONTRACT.md), with development defaults under instance/."""

import hashlib
import math
import os
import secrets
from pathlib import Path

from dotenv import load_dotenv
from limits import parse_many

from .domain.codes import MIN_SECRET_CHARS, NEW_SECRET
from .domain.reports import MAX_PHOTOS
from .models import REPORT_STATES

OPEN_STATES = tuple(state for state in REPORT_STATES if state != "closed")  # a closed case waits for nothing


class ConfigError(RuntimeError):
    """The environment cannot run the app as asked."""


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret(instance_dir: Path, name: str) -> str:
    """A random key kept in instance/ so development sessions and codes survive restarts."""
    path = instance_dir / name
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


# Bounds of the settings that are spans of time: a date past year 9999 cannot be computed, so a span that
# reaches it (999999999 days, typed for "forever") failed every request or run that used it.
MAX_HOURS = 10 * 8760  # ten years
MAX_DAYS = 100 * 365  # a century


def _number(env, name: str, default, *, kind=int, minimum=0, maximum=None):
    """A numeric setting, or ConfigError naming it: a typo must stop the start, not a request later (or
    a negative retention age delete today's data)."""
    raw = env.get(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {'a whole number' if kind is int else 'a number'}, not {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {raw!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {raw!r}")
    return value


def _rate_limit(env, name: str, default: str) -> str:
    """A rate limit as Flask-Limiter reads it, checked now: a typo would otherwise fail every request it guards."""
    raw = env.get(name, default)
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name} must read like '10 per minute' or '5 per hour;20 per day', not {raw!r}") from None
    return raw


def _deadlines(value: str) -> dict[str, float]:
    """Parse GI_REPORT_DEADLINES, "new=2,triaged=5", into {"new": 2.0, "triaged": 5.0}."""
    deadlines = {}
    for item in filter(str.strip, value.split(",")):
        status, _equals, days = (part.strip() for part in item.partition("="))
        try:
            deadlines[status] = float(days)
        except ValueError:
            deadlines[status] = math.nan
        if status not in OPEN_STATES or not 0 <= deadlines[status] <= MAX_DAYS:  # nan is in no range
            states = ", ".join(OPEN_STATES)
            raise ConfigError(f"GI_REPORT_DEADLINES takes status=days pairs of {states}; {item.strip()!r} is none")
    return deadlines


def _demo_accounts_file(instance_dir: Path, env) -> str:
    """Where seed-demo keeps the demo passwords: one file per database, so seeding a second database (a
    PostgreSQL tried beside the SQLite default) does not overwrite the passwords of the first."""
    url = env.get("DATABASE_URL")
    if not url:
        return str(instance_dir / "demo-accounts.txt")
    return str(instance_dir / f"demo-accounts-{hashlib.sha256(url.encode()).hexdigest()[:8]}.txt")


def _base_url(env, production: bool, missing: list) -> str:
    """The origin printed into every label. In production it must be named, and be https: the default
    (this host's port 5000) printed on labels would be there for good, and a verdict page sent in the
    clear could be altered on its way to the phone."""
    value = env.get("GI_BASE_URL", "").strip().rstrip("/")
    if not production:
        return value or "http://127.0.0.1:5000"
    if not value:
        missing.append("GI_BASE_URL")
    elif not value.lower().startswith("https://"):
        raise ConfigError(f"GI_BASE_URL must be an https:// address when GI_ENV=production, not {value[:60]!r}")
    return value


def load_config(instance_dir: Path, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment; production refuses missing keys."""
    load_dotenv()
    env = os.environ
    overrides = overrides or {}
    stage = env.get("GI_ENV", "development")
    if stage not in ("development", "production"):  # "Production" must not quietly run as development
        raise ConfigError(f"GI_ENV must be development or production, not {stage[:40]!r}")
    production = stage == "production"
    limiter_storage = env.get("RATELIMIT_STORAGE_URI", "memory://")
    photo_max_bytes = _number(env, "GI_PHOTO_MAX_BYTES", 8 * 1024 * 1024, minimum=1)

    missing = []  # production keys not set: named together, not one per try

    def secret(name: str, dev_file: str) -> str:
        if name in overrides:
            return overrides[name]
        value = env.get(name, "")
        if value and name == "SECRET_KEY" and len(value) < MIN_SECRET_CHARS:
            raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_CHARS} characters; make one with: {NEW_SECRET}")
        if value:
            return value
        if production:
            missing.append(name)
            return ""
        return _dev_secret(instance_dir, dev_file)

    config = {
        "GI_ENV": "production" if production else "development",
        "SECRET_KEY": secret("SECRET_KEY", "secret_key"),
        "GI_CODE_KEY": secret("GI_CODE_KEY", "code_key"),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'gi_registry.db'}",
        "GI_BASE_URL": _base_url(env, production, missing),
        "GI_UPLOAD_DIR": env.get("GI_UPLOAD_DIR") or str(instance_dir / "uploads"),
        # Import files a clean dry run checked, until Import takes them (gi_registry/staging.py).
        "IMPORT_STAGING_DIR": env.get("GI_IMPORT_STAGING_DIR") or str(instance_dir / "checked-imports"),
        "GI_DEMO_ACCOUNTS_FILE": env.get("GI_DEMO_ACCOUNTS_FILE") or _demo_accounts_file(instance_dir, env),
        "RATELIMIT_STORAGE_URI": limiter_storage,
        # A Redis that drops packets must not hold a scan up: give up within half a second (then the
        # in-memory fallback below counts). Options only a Redis storage takes.
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
            if limiter_storage.startswith(("redis://", "rediss://"))
            else {}
        ),
        "RATELIMIT_ENABLED": _truthy(env.get("RATELIMIT_ENABLED", "true")),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down must not stop consumers' scans: the limits are counted in each worker's memory meanwhile
        # (the limiter checks Redis again now and then and goes back to it), and any other limiter failure
        # lets the request through rather than answer 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_RATE_LIMIT": _rate_limit(env, "GI_LOGIN_RATE_LIMIT", "10 per minute"),
        "API_TOKEN_HOURS": _number(env, "GI_API_TOKEN_HOURS", 12, minimum=1, maximum=MAX_HOURS),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "LANGUAGES": ["zh", "en"],
        "PER_PAGE": 20,
        # Copy detection (README, "Copy detection"): when a genuine code turns `warning`.
        "GI_COPY_MAX_SCANS": _number(env, "GI_COPY_MAX_SCANS", 20, minimum=1),
        "GI_COPY_FAR_KM": _number(env, "GI_COPY_FAR_KM", 100, kind=float),
        "GI_COPY_FAR_HOURS": _number(env, "GI_COPY_FAR_HOURS", 6, kind=float, maximum=MAX_HOURS),
        "GI_COPY_BATCH_SCANS_PER_LABEL": _number(env, "GI_COPY_BATCH_SCANS_PER_LABEL", 2, kind=float),
        "VERIFY_RATE_LIMIT": _rate_limit(env, "GI_VERIFY_RATE_LIMIT", "60 per minute"),
        "REPORT_RATE_LIMIT": _rate_limit(env, "GI_REPORT_RATE_LIMIT", "5 per hour;20 per day"),
        "REPORT_ATTEMPT_RATE_LIMIT": _rate_limit(env, "GI_REPORT_ATTEMPT_RATE_LIMIT", "30 per hour"),
        # Days a report may wait in each status before it is marked overdue.
        "REPORT_DEADLINES": _deadlines(
            env.get("GI_REPORT_DEADLINES", "new=2,triaged=5,investigating=20,confirmed=10,dismissed=10")
        ),
        "PHOTO_MAX_BYTES": photo_max_bytes,
        "PHOTO_MAX_PIXELS": _number(env, "GI_PHOTO_MAX_PIXELS", 25_000_000, minimum=1),
        # The font whose outlines draw the label text (so the PDF holds no font); "" = look for Debian's.
        "GI_LABEL_FONT": env.get("GI_LABEL_FONT", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        # A form's CSRF token lasts a working day: a case note written over lunch must still go through.
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        # A report with its full quota of photos, each as large as allowed, plus its text, must get through.
        "MAX_CONTENT_LENGTH": MAX_PHOTOS * photo_max_bytes + 1024 * 1024,
        "PROXY_COUNT": _number(env, "GI_PROXY_COUNT", 0),
        # Data retention (flask retention): scans' hashes and places, reporters' contacts.
        "SCAN_RETENTION_DAYS": _number(env, "GI_SCAN_RETENTION_DAYS", 365, minimum=1, maximum=MAX_DAYS),
        "CONTACT_RETENTION_DAYS": _number(env, "GI_CONTACT_RETENTION_DAYS", 180, maximum=MAX_DAYS),
    }
    if missing:
        named = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 2 else missing)
        raise ConfigError(f"{named} must be set when GI_ENV=production")
    config.update(overrides)
    return config
