"""Security headers on every response: a content security policy that allows no inline script."""

from flask import Flask, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    # The scan page may ask for a coarse place; nothing may use the camera or microphone.
    headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
    if request.is_secure or _production():
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _production() -> bool:
    from flask import current_app

    return current_app.config.get("GI_ENV") == "production"


def init_app(app: Flask) -> None:
    app.after_request(_headers)
