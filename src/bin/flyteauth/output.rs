//! What `flyteauth token` prints: the formats other tools read a credential in.
//!
//! - `token`: the bare access token (for a tool that adds `Bearer ` itself, e.g. flytectl's
//!   `command`).
//! - `header`: every header, one `key: value` line each (the auth header and, with a
//!   `proxyCommand`, `proxy-authorization`), e.g. for `curl -H`.
//! - `json`: `{"headers": {key: value, ...}, "expiresAt": RFC 3339 or null}`.
//! - `exec-credential`: a Kubernetes `ExecCredential` (`status.token`,
//!   `status.expirationTimestamp`), for a kubectl exec credential plugin; the `apiVersion` is
//!   the one kubectl asks for in `KUBERNETES_EXEC_INFO`, else `client.authentication.k8s.io/v1`.
//! - `bazel`: a Bazel credential helper's answer, `{"headers": {key: [value]}, "expires": ...}`.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::ValueEnum;
use flyteauth::Metadata;
use serde_json::{json, Map, Value};

/// An output format of `flyteauth token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The bare access token.
    Token,
    /// Every header, `key: value`, one per line.
    Header,
    /// {"headers": {...}, "expiresAt": ...}
    Json,
    /// A Kubernetes ExecCredential (kubectl exec credential plugin).
    ExecCredential,
    /// A Bazel credential helper response.
    Bazel,
}

/// The text to print for `metadata` in `format` (no trailing newline).
pub fn render(format: Format, metadata: &Metadata, exec_info: Option<&str>) -> String {
    let expires = metadata.expires_at().map(rfc3339);
    match format {
        Format::Token => bare_token(metadata).to_owned(),
        Format::Header => metadata
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Json => json!({
            "headers": metadata
                .iter()
                .map(|(k, v)| (k.to_owned(), Value::from(v)))
                .collect::<Map<_, _>>(),
            "expiresAt": expires,
        })
        .to_string(),
        Format::ExecCredential => {
            let mut status = json!({ "token": bare_token(metadata) });
            if let Some(t) = expires {
                status["expirationTimestamp"] = Value::from(t);
            }
            json!({
                "apiVersion": exec_api_version(exec_info),
                "kind": "ExecCredential",
                "status": status,
            })
            .to_string()
        }
        Format::Bazel => {
            let mut answer = json!({
                "headers": metadata
                    .iter()
                    .map(|(k, v)| (k.to_owned(), json!([v])))
                    .collect::<Map<_, _>>(),
            });
            if let Some(t) = expires {
                answer["expires"] = Value::from(t);
            }
            answer.to_string()
        }
    }
}

/// Read a credential helper's `get` request (`{"uri": "https://..."}`) from `input`. The
/// answer is the same for every URI (one Flyte login), but a request that is not one is an
/// error, so that a misconfigured tool fails loudly instead of sending a credential anywhere.
pub fn read_helper_request(mut input: impl std::io::Read) -> Result<String, flyteauth::Error> {
    let bad = |why: &str| {
        flyteauth::Error::new(
            flyteauth::ErrorKind::InvalidArgument,
            format!(
                "credential helper request: {why}; expected {{\"uri\": \"https://...\"}} on stdin"
            ),
        )
    };
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| bad(&format!("cannot read stdin ({e})")))?;
    let request: Value = serde_json::from_str(&text).map_err(|_| bad("not JSON"))?;
    request
        .get("uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad("no \"uri\""))
}

/// The access token of the first (the auth) header, without its `Bearer ` prefix.
pub fn bare_token(metadata: &Metadata) -> &str {
    let value = metadata.iter().next().map_or("", |(_, v)| v);
    value.strip_prefix("Bearer ").unwrap_or(value)
}

/// The `apiVersion` kubectl asked for (`KUBERNETES_EXEC_INFO`), when it is one this answer
/// fits (v1 or v1beta1; their `status` is the same); else v1.
fn exec_api_version(exec_info: Option<&str>) -> String {
    const V1: &str = "client.authentication.k8s.io/v1";
    exec_info
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.get("apiVersion")?.as_str().map(str::to_owned))
        .filter(|v| v == V1 || v == "client.authentication.k8s.io/v1beta1")
        .unwrap_or_else(|| V1.to_owned())
}

/// `t` as RFC 3339 in UTC, to the second (`2026-12-01T14:03:45Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_matches_known_instants() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_798_727_025, "2026-12-31T14:23:45Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn a_helper_request_needs_a_uri() {
        let uri = read_helper_request(&br#"{"uri":"https://cache.example.com/x"}"#[..]);
        assert_eq!(uri.unwrap(), "https://cache.example.com/x");
        for bad in [&b""[..], b"uri", br#"{"url":"x"}"#] {
            let e = read_helper_request(bad).unwrap_err();
            assert!(e.message().contains("expected {\"uri\""), "{e}");
        }
    }

    #[test]
    fn exec_credential_answers_in_the_version_kubectl_asks_for() {
        let beta = r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#;
        assert_eq!(
            exec_api_version(Some(beta)),
            "client.authentication.k8s.io/v1beta1"
        );
        assert_eq!(exec_api_version(None), "client.authentication.k8s.io/v1");
        assert_eq!(
            exec_api_version(Some(r#"{"apiVersion":"v9"}"#)),
            "client.authentication.k8s.io/v1"
        );
    }
}
