"""Shared helpers for the flytekit reference benchmarks (hot_path.py, storm.py).

The authenticator is built the way flytekit builds it for a user with client credentials:
`flytekit.clients.auth_helper.get_authenticator(PlatformConfig, ClientConfigStore)`, which is
what the lazy `AuthUnaryInterceptor` factory calls on the first RPC (auth_helper.py,
`upgrade_channel_to_authenticated`). The only substitution is the config store: flytekit asks
flyteadmin's AuthMetadataService over gRPC (`RemoteClientConfigStore`), and the local IdP fixture
serves no gRPC, so a `StaticClientConfigStore` carries the values the fixture's
`/config/v1/flyte_client` and `/.well-known/oauth-authorization-server` publish.

Nothing here prints a token or the client secret.
"""

import json
import os
import sys

from flytekit.clients.auth.authenticator import (
    ClientConfig,
    ClientCredentialsAuthenticator,
    StaticClientConfigStore,
)
from flytekit.clients.auth_helper import get_authenticator
from flytekit.configuration import AuthType, PlatformConfig

AUDIENCE = "https://flyte.test/api"
HEADER_KEY = "flyte-authorization"


def idp_env():
    """(url, endpoint, client_id, client_secret) from scripts/with-idp."""
    names = (
        "FLYTEAUTH_IDP_URL",
        "FLYTEAUTH_IDP_ENDPOINT",
        "FLYTEAUTH_IDP_CLIENT_ID",
        "FLYTEAUTH_IDP_CLIENT_SECRET",
    )
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run under scripts/with-idp")
    return tuple(os.environ[n] for n in names)


def build_authenticator():
    """A ClientCredentialsAuthenticator built by flytekit's own factory. Returns (url, authenticator)."""
    url, endpoint, client_id, client_secret = idp_env()
    store = StaticClientConfigStore(
        ClientConfig(
            token_endpoint=f"{url}/token",
            authorization_endpoint=f"{url}/auth",
            redirect_uri="http://localhost:53593/callback",
            client_id=client_id,
            scopes=["all"],
            header_key=HEADER_KEY,
            audience=AUDIENCE,
        )
    )
    cfg = PlatformConfig(
        endpoint=endpoint,
        insecure=True,
        client_id=client_id,
        client_credentials_secret=client_secret,
        auth_mode=AuthType.CLIENTSECRET,
    )
    auth = get_authenticator(cfg, store)
    assert isinstance(auth, ClientCredentialsAuthenticator), type(auth)
    return url, auth


def emit(record):
    """Append one JSON line to $FLYTEAUTH_BENCH_RESULTS (benches/README.md, result protocol)."""
    path = os.environ.get("FLYTEAUTH_BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
