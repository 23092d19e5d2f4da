"""A fresh Python process to its first flytekit auth header (client credentials).

Timed from outside as a whole process (wall time, peak RSS) by the parent's launcher; nothing is
timed here. Prints nothing on success and never the token; exits 0 (1 with a reason on stderr).

Path taken: the one pyflyte and FlyteRemote take with client credentials.
* `PlatformConfig.auto()` reads the settings from FLYTE_* environment variables (the same
  entries a ~/.flyte/config.yaml would carry: admin.endpoint, admin.insecure, admin.clientId,
  the client secret, admin.authType=ClientSecret). They are filled in below from the
  FLYTEAUTH_IDP_* variables that scripts/with-idp exports.
* `flytekit.clients.auth_helper.get_authenticator(cfg, store)` is what flytekit's lazy
  `AuthUnaryInterceptor` factory calls on a client's first RPC (`upgrade_channel_to_authenticated`).
  Its ClientCredentialsAuthenticator asks the store for the client config in its constructor,
  then `refresh_credentials()` makes one client_credentials grant and
  `fetch_grpc_call_auth_metadata()` gives the header.
* Difference from a real flytekit client: `RemoteClientConfigStore` makes two gRPC calls to
  flyteadmin's AuthMetadataService (GetPublicClientConfig, then GetOAuth2Metadata). The local IdP
  fixture serves no gRPC, so `_GatewayClientConfigStore` makes the same two calls on their HTTP
  (grpc-gateway) routes, in the same order, with flytekit's own session type, and maps the fields
  exactly as RemoteClientConfigStore does (auth_helper.py). A real flytekit client also sends its
  first RPC without a token and refreshes only on UNAUTHENTICATED; with no flyteadmin here that
  anonymous round trip is left out (the refresh is called directly).
"""

import os
import sys

# What a user's program imports for this (flytekit/__init__ comes with either of them).
from flytekit.clients.auth.authenticator import ClientConfig, ClientConfigStore
from flytekit.clients.auth_helper import get_authenticator, get_session
from flytekit.configuration import PlatformConfig


class _GatewayClientConfigStore(ClientConfigStore):
    """RemoteClientConfigStore over flyteadmin's HTTP gateway instead of gRPC (see above)."""

    def __init__(self, base_url, session):
        self._base_url = base_url
        self._session = session

    def get_client_config(self) -> ClientConfig:
        public = self._get("/config/v1/flyte_client")  # GetPublicClientConfig
        oauth2 = self._get("/.well-known/oauth-authorization-server")  # GetOAuth2Metadata
        # proto3 defaults for absent fields, as the gRPC messages would give them.
        return ClientConfig(
            token_endpoint=oauth2.get("token_endpoint", ""),
            authorization_endpoint=oauth2.get("authorization_endpoint", ""),
            redirect_uri=public.get("redirect_uri", ""),
            client_id=public.get("client_id", ""),
            scopes=public.get("scopes", []),
            header_key=public.get("authorization_metadata_key") or None,
            device_authorization_endpoint=oauth2.get("device_authorization_endpoint", ""),
            audience=public.get("audience", ""),
        )

    def _get(self, path):
        r = self._session.get(self._base_url + path)
        r.raise_for_status()
        return r.json()


def main():
    try:
        url = os.environ["FLYTEAUTH_IDP_URL"]
        settings = {
            "FLYTE_PLATFORM_URL": os.environ["FLYTEAUTH_IDP_ENDPOINT"],
            "FLYTE_PLATFORM_INSECURE": "true",
            "FLYTE_CREDENTIALS_CLIENT_ID": os.environ["FLYTEAUTH_IDP_CLIENT_ID"],
            "FLYTE_CREDENTIALS_CLIENT_SECRET": os.environ["FLYTEAUTH_IDP_CLIENT_SECRET"],
            "FLYTE_CREDENTIALS_AUTH_MODE": "ClientSecret",
        }
    except KeyError as e:
        print(f"first_header: {e.args[0]} is not set (run under scripts/with-idp)", file=sys.stderr)
        return 1
    os.environ.update(settings)

    cfg = PlatformConfig.auto()
    # flytekit discovers on the channel to cfg.endpoint; insecure means plain http here.
    store = _GatewayClientConfigStore(url, get_session(cfg))
    authenticator = get_authenticator(cfg, store)
    authenticator.refresh_credentials()
    header = authenticator.fetch_grpc_call_auth_metadata()
    if not header or not header[1].startswith("Bearer ") or len(header[1]) <= len("Bearer "):
        print("first_header: no auth header", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
