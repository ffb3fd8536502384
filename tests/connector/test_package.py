"""The `connector` package as a connector developer gets it: built like an install builds it,
and imported where nothing but its own dependencies is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_an_install_carries_the_py_typed_marker(tmp_path):
    """PEP 561: without `connector/py.typed` in the installed package, a developer's mypy
    finds no types for `connector` at all (every name Any, or an import error). Built with the
    setuptools at hand, which ships only the package data pyproject.toml names."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(
        ROOT / "connector", source / "connector", ignore=shutil.ignore_patterns("__pycache__")
    )
    built = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py"]
        + ["--build-lib", str(built)],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (built / "connector" / "service.py").is_file()
    assert (built / "connector" / "py.typed").is_file()


# Run in a fresh interpreter where every package but the connector's own dependencies (PyJWT,
# cryptography, defusedxml) fails to import, as if Django and the rest of the registry's
# dependencies were not installed: the imports, the environment-configured WSGI and ASGI apps
# and one JSON and one SOAP handshake each on SuperOffice's published data (the clock frozen
# inside its token's window).
_STANDALONE = """
import sys
sys.path.insert(0, sys.argv[1])
interop, inside = sys.argv[2], float(sys.argv[3])
OWN_DEPENDENCIES = {"connector", "jwt", "cryptography", "defusedxml"}


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in OWN_DEPENDENCIES or top.startswith("_"):
            return None
        raise ModuleNotFoundError(f"No module named {name!r} (not installed)", name=name)


sys.meta_path.insert(0, NotInstalled())

import asyncio, io, json, time
import connector, connector.deadline_http, connector.keys, connector.service, connector.soap
import connector.replay, connector.tokens, connector.trust
from connector import asgi, soap, wsgi

time.time = lambda: inside
env = {
    "CONNECTOR_APPLICATION_URI": "123123123123123123",
    "CONNECTOR_PRIVATE_KEY_FILE": f"{interop}/connector-samples_LocalhostPrivateKey.xml",
    "CONNECTOR_TRUSTED_ISSUER": "SuperOffice AS",
    "CONNECTOR_AAS_CERTIFICATE_FILE": f"{interop}/devnet-auth_DevNet.crt",
}
token = open(f"{interop}/superoffice_signed_token_devnet-auth.jwt").read().strip()
soap_body = open(f"{interop}/soap_authenticate_request_devnet-auth.xml", "rb").read()
json_body = json.dumps({"SignedToken": token}).encode()
headers = {"CONTENT_TYPE": "text/xml; charset=utf-8", "HTTP_SOAPACTION": soap.AUTHENTICATE_ACTION}


def over_wsgi(path, body, extra):
    app = wsgi.from_environ(env)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body), **extra}
    return b"".join(app(environ, lambda status, headers: None))


def over_asgi(path, body, extra):
    app = asgi.from_environ(env)
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope_headers = [(b"content-type", extra.get("CONTENT_TYPE", "application/json").encode())]
    if "HTTP_SOAPACTION" in extra:
        scope_headers.append((b"soapaction", extra["HTTP_SOAPACTION"].encode()))
    scope = {"type": "http", "method": "POST", "path": path, "headers": scope_headers}
    asyncio.run(app(scope, receive, send))
    return sent[1]["body"]


answers = {}
for name, call in (("wsgi", over_wsgi), ("asgi", over_asgi)):
    answers[name + " json"] = json.loads(call("/authenticate", json_body, {}))["Succeeded"]
    answers[name + " soap"] = b"<IsSuccessful>true</IsSuccessful>" in call(
        "/mirroring", soap_body, headers
    )
answers["django imported"] = "django" in sys.modules
print(json.dumps(answers))
"""


def test_the_connector_works_where_only_its_own_dependencies_are_installed(interop):
    from tests.connector.test_asgi import INSIDE

    done = subprocess.run(
        [sys.executable, "-I", "-c", _STANDALONE, str(ROOT), str(interop), str(INSIDE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "wsgi json": True,
        "wsgi soap": True,
        "asgi json": True,
        "asgi soap": True,
        "django imported": False,
    }
