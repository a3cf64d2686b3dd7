"""A real OpenID Connect provider on 127.0.0.1 for the sign-in tests: NAV's
mock-oauth2-server (Maven Central `no.nav.security:mock-oauth2-server`, the pom beside
this file), run as a JVM process. It serves discovery, JWKS, an authorize endpoint
with a sign-in form and a token endpoint that enforces PKCE; its keys are generated
at each start. The sign-in form takes a user name and extra claims as JSON, which is
how the tests get tokens of any shape (expired, another audience...).

Needs `java` and `mvn` (Debian: default-jre-headless maven); the first start
resolves the jars into ~/.m2 from Maven Central.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.service import free_port

POM = Path(__file__).with_name("pom.xml")
MAIN_CLASS = "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"
AVAILABLE = shutil.which("java") is not None and shutil.which("mvn") is not None


def classpath(workdir: Path) -> str:
    """The server's classpath, resolved by Maven (offline once ~/.m2 holds the jars)."""
    out = workdir / "classpath.txt"
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={out}",
            "-Dmdep.includeScope=runtime",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    jars = out.read_text().strip()
    home = Path(os.environ.get("MAVEN_REPO", Path.home() / ".m2" / "repository"))
    own = home / "no/nav/security/mock-oauth2-server"
    version = re.search(r"<version>([^<]+)</version>\s*</dependency>", POM.read_text())
    assert version is not None
    jar = own / version.group(1) / f"mock-oauth2-server-{version.group(1)}.jar"
    return f"{jar}{os.pathsep}{jars}"


@dataclass
class Provider:
    """A running provider; `issuer(name)` is the issuer URL of `name` (each name is an
    issuer of its own, with its own keys)."""

    base: str
    process: subprocess.Popen[bytes]

    def issuer(self, name: str = "veille") -> str:
        return f"{self.base}/{name}"

    def sign_in(
        self,
        authorize_url: str,
        username: str,
        claims: dict[str, Any] | None = None,
        *,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """Submits the provider's sign-in form for `authorize_url`, as a browser would;
        the answer is the redirect back to the client, not followed."""
        if client is None:
            with httpx.Client() as own:
                return self.sign_in(authorize_url, username, claims, client=own)
        form = client.get(authorize_url)
        assert form.status_code == 200 and 'name="username"' in form.text, form.text[:200]
        return client.post(
            authorize_url,
            data={"username": username, "claims": json.dumps(claims or {})},
            follow_redirects=False,
        )

    def token(
        self,
        username: str,
        claims: dict[str, Any] | None = None,
        *,
        issuer: str = "veille",
        client_id: str = "veille",
    ) -> str:
        """An access token from the code flow (no PKCE) for `username` with `claims`
        added or overriding the provider's own (`aud`, `exp`, `iss`...)."""
        redirect = "http://127.0.0.1:9/callback"
        url = httpx.URL(
            f"{self.issuer(issuer)}/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "scope": "openid email",
                "state": "s",
                "nonce": "n",
            },
        )
        answer = self.sign_in(str(url), username, claims)
        code = httpx.URL(answer.headers["location"]).params["code"]
        tokens = httpx.post(
            f"{self.issuer(issuer)}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": client_id,
            },
            auth=(client_id, "secret"),
        )
        tokens.raise_for_status()
        token: str = tokens.json()["access_token"]
        return token


def start(workdir: Path, *, timeout: float = 120.0) -> Provider:
    """Starts the provider on a free port; waits until its discovery document answers.

    The JVM binds the port itself, so it can only be given a number, free when chosen
    but not held: when another process takes it first, the provider exits saying so and
    is started again on another port (three tries)."""
    jars = classpath(workdir)
    log = workdir / "oidc-provider.log"
    for attempt in range(3):
        try:
            return _start_on(free_port(), jars, log, timeout=timeout)
        except _PortTaken as taken:
            if attempt == 2:
                raise RuntimeError(
                    f"the OIDC provider's port was taken 3 times; see {log}"
                ) from taken
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    """The provider's port was taken between choosing it and binding it."""


def _start_on(port: int, jars: str, log: Path, *, timeout: float) -> Provider:
    env = {
        **os.environ,
        "SERVER_HOSTNAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "JSON_CONFIG": json.dumps({"interactiveLogin": True}),
    }
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            ["java", "-Xmx256m", "-cp", jars, MAIN_CLASS],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "Address already in use" in log.read_text(errors="replace"):
                raise _PortTaken(port)
            raise RuntimeError(f"the OIDC provider exited; see {log}")
        try:
            if httpx.get(f"{base}/veille/.well-known/openid-configuration").status_code == 200:
                return Provider(base, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.terminate()
    raise RuntimeError(f"the OIDC provider did not start within {timeout:.0f} s")


def stop(provider: Provider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
