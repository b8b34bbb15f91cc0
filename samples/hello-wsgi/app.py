"""Kiln's sample app: a WSGI app with one page and a health check."""
import os
import platform

from packaging.version import Version


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/health":
        body = b"ok\n"
    else:
        body = (
            "Hello from Kiln!\n"
            f"python {platform.python_version()}, packaging {Version('26.3')}, "
            f"listening on port {os.environ.get('PORT', '?')}\n"
        ).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
