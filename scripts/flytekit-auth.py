#!/usr/bin/env python3
"""Drive flytekit's own client authentication (flytekit.clients.auth) as pyflyte would.

Run by tests/flytekit_sharing.rs (make test-flytekit-sharing) in the venv that holds the
pinned flytekit, inside scripts/with-keyring, against the IdP fixture. The configuration is
the same Flyte config.yaml flyteauth reads ($FLYTECTL_CONFIG), resolved by flytekit's
PlatformConfig.auto(); the authenticator is the one flytekit's get_authenticator() builds
for it (DeviceCodeAuthenticator, PKCEAuthenticator), so the keyring reads, writes, refreshes
and logins are flytekit's code, unchanged.

The one stand-in: flytekit asks flyteadmin for the client config over gRPC
(RemoteClientConfigStore); the fixture serves the same AuthMetadataService over HTTP (as
flyteadmin's grpc-gateway does), so HttpClientConfigStore reads it there and maps it exactly
as RemoteClientConfigStore maps the gRPC answers (proto3 defaults included).

Commands (the result is one JSON line on stdout, the last line):
  cached   build the authenticator (flytekit reads the keyring in its constructor) and
           report what it loaded; no network beyond the client config
  login    refresh_credentials(): flytekit's login when the keyring holds nothing, else its
           refresh (what pyflyte does when flyteadmin rejects the token)
  call     what flytekit's AuthUnaryInterceptor does around a call: send it with the cached
           credentials; when the server answers 401, refresh_credentials() and send it once
           more. The call is the fixture's protected GET /api/v1/projects.

The device flow's prompt ("To Authenticate, navigate in a browser to the following URL:
...?user_code=...") is flytekit's own line on stdout; the test approves that code. For PKCE,
flytekit opens the login URL with the webbrowser module; a desktop's browser (xdg-open) is
started in the background, so $BROWSER (the tests' headless Chromium) is registered the same
way here: webbrowser's GenericBrowser would wait for the browser to exit, while flytekit only
starts serving its callback after the browser call returns.

The JSON carries the tokens flytekit holds, for the test to compare with flyteauth's: the
test reads them from this process's stdout and never prints them.
"""
import json
import os
import sys
import webbrowser

import requests
from flytekit.clients.auth.authenticator import ClientConfig, ClientConfigStore
from flytekit.clients.auth_helper import get_authenticator
from flytekit.configuration import PlatformConfig


class HttpClientConfigStore(ClientConfigStore):
    """RemoteClientConfigStore over flyteadmin's HTTP gateway."""

    def __init__(self, base: str):
        self._base = base

    def get_client_config(self) -> ClientConfig:
        public = requests.get(f"{self._base}/config/v1/flyte_client", timeout=30).json()
        oauth2 = requests.get(f"{self._base}/.well-known/oauth-authorization-server", timeout=30).json()
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


def creds_json(authenticator) -> dict:
    creds = authenticator.get_credentials()
    metadata = authenticator.fetch_grpc_call_auth_metadata()
    return {
        "access_token": creds.access_token if creds else None,
        "refresh_token": creds.refresh_token if creds else None,
        "id_token": creds.id_token if creds else None,
        "header_key": metadata[0] if metadata else None,
    }


def main() -> int:
    command = sys.argv[1]
    browser = os.environ.get("BROWSER")
    if browser:
        webbrowser.register("flyteauth-test-browser", None, webbrowser.BackgroundBrowser(browser), preferred=True)
    cfg = PlatformConfig.auto()
    base = ("http://" if cfg.insecure else "https://") + cfg.endpoint
    authenticator = get_authenticator(cfg, HttpClientConfigStore(base))
    result = {"authenticator": type(authenticator).__name__, "loaded": authenticator.get_credentials() is not None}
    if command == "login":
        authenticator.refresh_credentials()
    elif command == "call":
        statuses = []
        refreshed = False
        for attempt in range(2):
            metadata = authenticator.fetch_grpc_call_auth_metadata()
            headers = {metadata[0]: metadata[1]} if metadata else {}
            status = requests.get(f"{base}/api/v1/projects", headers=headers, timeout=30).status_code
            statuses.append(status)
            if status != 401 or attempt == 1:
                break
            authenticator.refresh_credentials()
            refreshed = True
        result.update({"statuses": statuses, "refreshed": refreshed})
    elif command != "cached":
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    result.update(creds_json(authenticator))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
