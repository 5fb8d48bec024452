"""Production settings: no start without keys, secure cookies, security headers."""

import subprocess
import sys
from pathlib import Path

import pytest

from gi_registry import create_app
from gi_registry.config import ConfigError


@pytest.mark.parametrize("missing", ["SECRET_KEY", "GI_CODE_KEY", "GI_BASE_URL"])
def test_production_refuses_to_start_without_its_keys(monkeypatch, tmp_path, missing):
    """GI_BASE_URL too: its default, this host's port 5000, would be printed on labels for good."""
    monkeypatch.setenv("GI_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key")
    monkeypatch.setenv("GI_CODE_KEY", "1:a-production-code-key")
    monkeypatch.setenv("GI_BASE_URL", "https://gi.example.cn")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=f"{missing} must be set when GI_ENV=production"):
        create_app()


@pytest.mark.parametrize("base", ["http://gi.example.cn", "gi.example.cn"])
def test_production_refuses_a_label_address_that_is_not_https(monkeypatch, tmp_path, base):
    """A verdict page sent in the clear could be altered on its way to the phone."""
    monkeypatch.setenv("GI_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key")
    monkeypatch.setenv("GI_CODE_KEY", "1:a-production-code-key")
    monkeypatch.setenv("GI_BASE_URL", base)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError, match="GI_BASE_URL must be an https:// address when GI_ENV=production"):
        create_app()


@pytest.mark.parametrize("stage", ["Production", "prod", "staging", ""])
def test_a_stage_other_than_development_or_production_is_refused(monkeypatch, stage):
    """A typo must not run a production host as development: keys made up, cookies not secure."""
    monkeypatch.setenv("GI_ENV", stage)
    with pytest.raises(ConfigError, match="GI_ENV must be development or production"):
        create_app()


def test_the_failure_is_one_clear_line_from_the_command_line(tmp_path):
    env = {"GI_ENV": "production", "PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, capture_output=True, text=True)
    everything = "SECRET_KEY, GI_CODE_KEY and GI_BASE_URL must be set when GI_ENV=production"
    assert result.returncode == 3 and everything in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("GI_SCAN_RETENTION_DAYS", "abc", "GI_SCAN_RETENTION_DAYS must be a whole number, not 'abc'"),
        ("GI_SCAN_RETENTION_DAYS", "-5", "GI_SCAN_RETENTION_DAYS must be at least 1, not '-5'"),
        ("GI_CONTACT_RETENTION_DAYS", "-1", "GI_CONTACT_RETENTION_DAYS must be at least 0"),
        ("GI_COPY_FAR_KM", "nan", "GI_COPY_FAR_KM must be at least 0, not 'nan'"),
        ("GI_PHOTO_MAX_BYTES", "8MB", "GI_PHOTO_MAX_BYTES must be a whole number"),
        ("GI_REPORT_DEADLINES", "new=abc", "GI_REPORT_DEADLINES takes status=days pairs of new, triaged"),
        ("GI_REPORT_DEADLINES", "nwe=2", "'nwe=2' is none"),
        ("GI_REPORT_DEADLINES", "closed=2", "'closed=2' is none"),
        # Spans past year 9999 failed later: every token issued, every scan sharing a place, the queue.
        ("GI_API_TOKEN_HOURS", "999999999", "GI_API_TOKEN_HOURS must be at most 87600, not '999999999'"),
        ("GI_COPY_FAR_HOURS", "1e20", "GI_COPY_FAR_HOURS must be at most 87600"),
        ("GI_SCAN_RETENTION_DAYS", "999999999", "GI_SCAN_RETENTION_DAYS must be at most 36500"),
        ("GI_CONTACT_RETENTION_DAYS", "999999999", "GI_CONTACT_RETENTION_DAYS must be at most 36500"),
        ("GI_REPORT_DEADLINES", "new=1e12", "'new=1e12' is none"),
        ("GI_REPORT_RATE_LIMIT", "5 an hour", "GI_REPORT_RATE_LIMIT must read like '10 per minute'"),
        ("GI_VERIFY_RATE_LIMIT", "", "GI_VERIFY_RATE_LIMIT must read like"),
        ("DATABASE_URL", "postgresql+psycopg://u@host:abc/db", "DATABASE_URL names no database this app can use"),
    ],
)
def test_a_setting_that_makes_no_sense_stops_the_start_naming_it(monkeypatch, tmp_path, name, value, reason):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv(name, value)  # DATABASE_URL itself, in its case
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert reason in str(refused.value)


def test_the_default_report_deadlines_are_read_as_days_per_status(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("GI_REPORT_DEADLINES", " new=1.5, triaged=3 ,")
    assert create_app().config["REPORT_DEADLINES"] == {"new": 1.5, "triaged": 3.0}


def test_a_weak_code_key_is_refused(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="GI_CODE_KEY.*secrets.token_urlsafe"):
        create_app({"GI_CODE_KEY": "short", "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_a_short_secret_key_from_the_environment_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 16 characters"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("GI_ENV", "production")
    monkeypatch.setenv("GI_BASE_URL", "https://gi.example.cn")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key")
    monkeypatch.setenv("GI_CODE_KEY", "1:a-production-code-key")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["REMEMBER_COOKIE_SECURE"]


def test_every_page_carries_a_csp_without_inline_script(client, labelled):
    _, codes = labelled
    for path in ("/", f"/q/{codes[1]}", "/report", "/api/v1/products"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_script_or_handler():
    root = Path(__file__).resolve().parents[1] / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<script>" not in text and " onclick=" not in text and " onload=" not in text, template


def test_the_access_log_keeps_no_query_address_or_agent():
    """A scan's ?lat=&lon= and the client's address stay out of gunicorn's log, as out of the database."""
    import runpy

    settings = runpy.run_path(str(Path(__file__).parent.parent / "gunicorn.conf.py"))
    log_format = settings["access_log_format"]
    assert "%(U)s" in log_format
    assert not any(part in log_format for part in ("%(q)s", "%(r)s", "%(h)s", "%(a)s", "%(f)s", "%({"))


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"GI_ENV": "production"}, "SECRET_KEY, GI_CODE_KEY and GI_BASE_URL must be set when GI_ENV=production"),
        ({}, "the database has no schema yet: run `flask init-db` first"),
    ],
)
def test_gunicorn_refuses_to_start_once_in_one_line(tmp_path, env, reason):
    root = Path(__file__).parent.parent
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "-c",
        "gunicorn.conf.py",
        "-b",
        "127.0.0.1:0",
        "wsgi:app",
    ]
    base = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db", "HOME": str(tmp_path)}
    result = subprocess.run(command, cwd=root, env={**base, **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and result.stderr.count(reason) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr


def test_a_redis_limiter_is_given_up_on_within_half_a_second(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    app = create_app()
    assert app.config["RATELIMIT_STORAGE_OPTIONS"] == {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    assert create_app().config["RATELIMIT_STORAGE_OPTIONS"] == {}  # options a memory storage would refuse


def test_gunicorns_master_never_imports_the_app_so_a_reload_takes_new_code(tmp_path):
    root = Path(__file__).parent.parent
    database = f"sqlite:///{tmp_path}/app.db"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database, "HOME": str(tmp_path)}
    subprocess.run(
        [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", "init-db"], cwd=root, env=env, check=True
    )
    seen = tmp_path / "master-modules.txt"
    config = tmp_path / "gunicorn.test.conf.py"
    # Our settings and hooks, plus one that notes, once the master is ready, whether it holds the app.
    config.write_text(
        f"__file__ = {str(root / 'gunicorn.conf.py')!r}\n"  # where its start check runs from
        "exec(open(__file__).read())\n"
        "def when_ready(server):\n"
        "    import os, signal, sys\n"
        f"    open({str(seen)!r}, 'w').write(str('gi_registry' in sys.modules))\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
    )
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(config), "-b", "127.0.0.1:0", "-w", "1"]
    result = subprocess.run([*command, "wsgi:app"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert seen.read_text() == "False", result.stderr


def test_gunicorns_start_check_runs_where_gunicorn_imports_the_app(tmp_path):
    root = Path(__file__).parent.parent
    config = tmp_path / "elsewhere.conf.py"  # a config kept outside the checkout, started from elsewhere
    config.write_text((root / "gunicorn.conf.py").read_text())
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-c", str(config), "--chdir", str(root), "-b", "127.0.0.1:0", "wsgi:app"]
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db", "HOME": str(tmp_path)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "the database has no schema yet" in result.stderr, result.stderr
