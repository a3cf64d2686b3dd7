"""An OpenID Connect relying party: discovery, the authorization-code flow with PKCE,
and the verification of the provider's tokens against its published keys (JWKS).

JWT parsing and signature checks are PyJWT's; this module only fetches the provider's
documents (with httpx, so a provider that is down is a clear `ProviderUnavailable`, not
a traceback) and keeps them cached: the discovery document and the key set for
`jwks_cache_seconds`, the key set fetched again when a token names a key it does not
hold (the provider rotated its keys), at most once per `_REFETCH_GAP` seconds so a
stream of forged key ids cannot make Veille hammer the provider.
Tokens and claims never reach the logs; a refusal logs its reason only.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from services.alerting.notifiers.base import DeliveryError
from services.alerting.notifiers.secrets import resolve_secret
from services.core.settings import OidcSettings
from services.store.state.contract import ConflictError, NotFoundError
from services.store.state.tenancy import DEFAULT_WORKSPACE, EMAIL, TenancyStore, UserRecord

log = logging.getLogger("veille.api.oidc")

_REFETCH_GAP = 10.0  # seconds between two key-set fetches caused by unknown key ids


class TokenRefused(Exception):
    """The token is not acceptable; `reason` says why, for people (never the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered something that is not OpenID Connect."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class PendingLogin:
    """What the browser keeps (in a short-lived cookie) between leaving for the
    provider and coming back: the anti-forgery `state`, the ID token's expected
    `nonce` and the PKCE `verifier`, plus where to sign in."""

    state: str
    nonce: str
    verifier: str
    workspace: str


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 section 4.2): BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def looks_like_jwt(token: str) -> bool:
    """A compact JWS (`header.payload.signature`), as opposed to a Veille API key."""
    return token.count(".") == 2 and token.startswith("eyJ")


class OidcClient:
    """One configured provider. Thread-safe: the API's sync routes share it."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        client_secret: str | None,
        clock: Any = time.time,
    ) -> None:
        self.settings = settings
        self._client_secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0
        self._refetched_at = -_REFETCH_GAP

    # -- provider documents ------------------------------------------------------------
    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.settings.timeout_seconds)
            response.raise_for_status()
            data = response.json()
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"could not fetch the sign-in provider's {what} from {url} ({type(exc).__name__})"
            ) from None
        except ValueError:
            raise ProviderUnavailable(
                f"the sign-in provider's {what} at {url} is not JSON"
            ) from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"the sign-in provider's {what} at {url} is not an object")
        return data

    def metadata(self) -> ProviderMetadata:
        """The discovery document (OpenID Connect Discovery 1.0), cached."""
        with self._lock:
            fresh = self._clock() - self._metadata_at < self.settings.jwks_cache_seconds
            if self._metadata is not None and fresh:
                return self._metadata
        url = self.settings.issuer + "/.well-known/openid-configuration"
        data = self._get_json(url, "discovery document")
        try:
            metadata = ProviderMetadata(
                issuer=str(data["issuer"]),
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
            )
        except KeyError as exc:
            raise ProviderUnavailable(f"the discovery document at {url} lacks {exc}") from None
        if metadata.issuer.rstrip("/") != self.settings.issuer:
            # Discovery section 4.3: the document must name the issuer it was fetched for.
            raise ProviderUnavailable(
                f"the discovery document at {url} names the issuer {metadata.issuer!r}, "
                f"not the configured {self.settings.issuer!r}"
            )
        with self._lock:
            self._metadata, self._metadata_at = metadata, self._clock()
        return metadata

    def _fetch_keys(self) -> None:
        data = self._get_json(self.metadata().jwks_uri, "signing keys (JWKS)")
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in data.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(jwk)
            except jwt.PyJWTError:  # a key type PyJWT does not support: not ours to use
                continue
            keys[str(jwk.get("kid", ""))] = key
        with self._lock:
            self._keys, self._keys_at = keys, self._clock()

    def signing_key(self, kid: str) -> jwt.PyJWK:
        """The provider's key `kid`; fetched again once when unknown (key rotation)."""
        now = self._clock()
        with self._lock:
            stale = now - self._keys_at >= self.settings.jwks_cache_seconds
            key = None if stale else self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            may_fetch = stale or now - self._refetched_at >= _REFETCH_GAP
            if may_fetch and not stale:
                self._refetched_at = now
        if may_fetch:
            self._fetch_keys()
        with self._lock:
            key = self._keys.get(kid)
        if key is None:
            raise TokenRefused("the token is signed with a key the provider does not publish")
        return key

    # -- tokens ------------------------------------------------------------------------
    def verify(self, token: str, *, audience: str, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a token signed by the provider for `audience`, checked for
        signature, `iss`, `aud`, `exp`, `nbf` (and `nonce` for an ID token);
        TokenRefused naming the reason otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:
            raise TokenRefused(f"the token's algorithm {str(algorithm)[:20]!r} is not accepted")
        key = self.signing_key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=audience,
                issuer=self.metadata().issuer,
                leeway=self.settings.clock_skew_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused(
                f"the token is not meant for this API (audience {audience!r})"
            ) from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("the token comes from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"the token is invalid ({type(exc).__name__})") from None
        if nonce is not None and not secrets.compare_digest(
            str(claims.get("nonce", "")).encode(), nonce.encode()
        ):
            raise TokenRefused("the ID token's nonce does not match this sign-in")
        return claims

    # -- the authorization-code flow ---------------------------------------------------
    def start_login(self, redirect_uri: str, workspace: str) -> tuple[str, PendingLogin]:
        """The provider's authorization URL to send the browser to, and what to keep."""
        pending = PendingLogin(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),  # 64 characters (RFC 7636: 43 to 128)
            workspace=workspace,
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.settings.scopes),
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": code_challenge(pending.verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = self.metadata().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending

    def finish_login(self, code: str, redirect_uri: str, pending: PendingLogin) -> dict[str, Any]:
        """Trades the code for tokens at the token endpoint; the verified ID token's claims."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": pending.verifier,
        }
        auth = (self.settings.client_id, self._client_secret) if self._client_secret else None
        url = self.metadata().token_endpoint
        try:
            response = httpx.post(url, data=form, auth=auth, timeout=self.settings.timeout_seconds)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"could not reach the sign-in provider's token endpoint ({type(exc).__name__})"
            ) from None
        if response.status_code >= 500:
            raise ProviderUnavailable(
                f"the provider's token endpoint answered {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error", response.status_code) if isinstance(body, dict) else ""
            raise TokenRefused(f"the provider refused the sign-in code ({str(error)[:80]})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise TokenRefused("the provider sent no ID token (is `openid` among the scopes?)")
        return self.verify(id_token, audience=self.settings.client_id, nonce=pending.nonce)


# -- from claims to a Veille user ---------------------------------------------------------
def resolve_user(
    tenancy: TenancyStore, settings: OidcSettings, claims: dict[str, Any], workspace: str
) -> UserRecord:
    """The Veille user a verified token names (by `user_claim`); created with
    `default_role` when unknown, `unknown_users: create` and `workspace` is `default`,
    else TokenRefused."""
    claim = settings.user_claim
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise TokenRefused(f"the token has no {claim!r} claim to name a Veille user by")
    if claim == "email" and claims.get("email_verified") is False:
        raise TokenRefused("the provider says this email address is not verified")
    try:
        return tenancy.get_user(value.strip())
    except NotFoundError:
        pass
    if settings.unknown_users == "refuse":
        raise TokenRefused(
            f"no Veille user has this {claim}; an admin adds people with `veille users add`"
        )
    if workspace != DEFAULT_WORKSPACE:
        # Anyone the provider knows may come in, but only where the operator opened the
        # door: a client's workspace is not theirs to pick by naming it.
        raise TokenRefused(
            f"no Veille user has this {claim}: people are created on their first sign-in "
            f"to the {DEFAULT_WORKSPACE} workspace only; an admin of {workspace[:40]!r} "
            "adds people there"
        )
    email = value if claim == "email" else claims.get("email")
    user_id = None
    for name in _new_user_names(claims, value):
        try:
            user_id = tenancy.add_user(name, email=email if isinstance(email, str) else None)
            break
        except ConflictError:  # the name is taken by someone else: try the next one
            continue
        except ValueError as exc:
            raise TokenRefused(f"cannot create a user from this token ({exc})") from None
    if user_id is None:
        raise TokenRefused("cannot create a user from this token (its name or email is taken)")
    user = tenancy.get_user_by_id(user_id)
    tenancy.grant_id(user.id, workspace, settings.default_role)
    tenancy.record(
        workspace=workspace,
        actor=user.name,
        actor_kind="user",
        kind="person",
        action="create",
        target=user.name,
    )
    log.info("created a user on first OIDC sign-in, role %s", settings.default_role)
    return tenancy.get_user_by_id(user.id)


def _new_user_names(claims: dict[str, Any], value: str) -> list[str]:
    """Names to try for a person created from a token: the display name, the claim,
    the claim's part before `@`, then that with a suffix. Never an email address: a
    user's name may not be one (see TenancyStore.add_user)."""
    local = value.strip().split("@", 1)[0][:190]
    candidates = [str(claims.get("name") or "").strip()[:200], value.strip()[:200], local]
    candidates.append(f"{local}-{secrets.token_hex(3)}")
    names: list[str] = []
    for name in candidates:
        if name and not EMAIL.match(name) and name not in names:
            names.append(name)
    return names


def build_client(settings: OidcSettings) -> OidcClient:
    """The client of the configured provider, its secret looked up by name
    (MissingSecretError when named but not set)."""
    secret = None
    if settings.client_secret_name:
        secret = resolve_secret(settings.client_secret_name).reveal()
    return OidcClient(settings, client_secret=secret)


def check_settings(settings: OidcSettings) -> list[str]:
    """Problems `veille config check` reports about `api.oidc` beyond field validation:
    a named client secret that is not set, a provider reached over plain HTTP."""
    problems = []
    if settings.client_secret_name:
        try:
            resolve_secret(settings.client_secret_name)
        except DeliveryError as exc:
            problems.append(f"api.oidc.client_secret_name: {exc}")
    host = httpx.URL(settings.issuer).host
    if settings.issuer.startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
        problems.append(
            f"api.oidc.issuer: {settings.issuer} is plain HTTP; tokens and codes would "
            "cross the network unencrypted (use https://)"
        )
    if "openid" not in settings.scopes:
        problems.append("api.oidc.scopes: must include `openid` (the provider sends no ID token)")
    return problems
