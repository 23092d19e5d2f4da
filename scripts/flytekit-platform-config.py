#!/usr/bin/env python3
"""Print flytekit's PlatformConfig.auto() for the current environment and directory as JSON.

Run by tests/config_flytekit.rs (make test-config-flytekit) in a venv holding a pinned
flytekit. The client secret is never printed: the caller may put the secret it resolved in
FLYTEAUTH_CMP_SECRET, and the output says only "unset", "equal" or "differs".
"""
import json
import os
import sys


def main() -> None:
    ours = os.environ.pop("FLYTEAUTH_CMP_SECRET", None)
    try:
        from flytekit.configuration import PlatformConfig

        cfg = PlatformConfig.auto()
    except BaseException as e:  # flytekit raising is a result too
        print(json.dumps({"error": type(e).__name__}))
        return
    secret = cfg.client_credentials_secret
    if not secret:
        secret_state = "unset"
    else:
        secret_state = "equal" if ours is not None and ours == secret else "differs"
    print(
        json.dumps(
            {
                "endpoint": cfg.endpoint,
                "insecure": cfg.insecure,
                "insecure_skip_verify": cfg.insecure_skip_verify,
                "ca_cert_file_path": cfg.ca_cert_file_path,
                "auth_mode": getattr(cfg.auth_mode, "value", cfg.auth_mode),
                "client_id": cfg.client_id,
                "client_credentials_secret": secret_state,
                "scopes": cfg.scopes,
                "audience": cfg.audience,
                "command": cfg.command,
                "proxy_command": cfg.proxy_command,
                "http_proxy_url": cfg.http_proxy_url,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
