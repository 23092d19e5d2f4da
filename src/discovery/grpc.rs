//! The wire of Flyte's AuthMetadataService over gRPC (`flyteidl.service.AuthMetadataService`,
//! flyteidl's `service/auth.proto`): what flytekit and flytectl call, and what a flyteadmin
//! behind an ingress that routes only gRPC still answers.
//!
//! A unary call is one HTTP/2 POST to `/flyteidl.service.AuthMetadataService/<Method>` with
//! `content-type: application/grpc` and `te: trailers`, whose body is one length-prefixed
//! message (a flag byte, 0 for uncompressed, then the length as 4 big-endian bytes, then the
//! protobuf bytes). The answer carries one such message and ends with the trailers
//! `grpc-status` and `grpc-message`; an error may come as Trailers-Only, with both in the
//! headers. The transport (TLS, CA, proxy, `proxy-authorization`, timeouts, retries of
//! failed connections) is [`HttpClient::send_h2`], shared with every other request.
//!
//! The messages are written here by hand with the field numbers of `auth.proto`; fields the
//! library does not use are skipped when decoding.

use crate::discovery::{Lookup, OAuth2Metadata, PublicClientConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{H2Response, HttpClient};

/// The gRPC service.
pub const SERVICE: &str = "flyteidl.service.AuthMetadataService";
/// The method answering the OAuth2 authorization server metadata.
pub const GET_OAUTH2_METADATA: &str = "GetOAuth2Metadata";
/// The method answering the public client configuration.
pub const GET_PUBLIC_CLIENT_CONFIG: &str = "GetPublicClientConfig";

/// The gRPC status code of a server that has no such service or method.
const UNIMPLEMENTED: u32 = 12;

/// The longest `grpc-message` quoted in an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// `flyteidl.service.OAuth2MetadataResponse`, the fields flows use.
#[derive(Clone, PartialEq, prost::Message)]
struct OAuth2MetadataResponse {
    #[prost(string, tag = "1")]
    issuer: String,
    #[prost(string, tag = "2")]
    authorization_endpoint: String,
    #[prost(string, tag = "3")]
    token_endpoint: String,
    #[prost(string, tag = "10")]
    device_authorization_endpoint: String,
}

/// `flyteidl.service.PublicClientAuthConfigResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct PublicClientAuthConfigResponse {
    #[prost(string, tag = "1")]
    client_id: String,
    #[prost(string, tag = "2")]
    redirect_uri: String,
    #[prost(string, repeated, tag = "3")]
    scopes: Vec<String>,
    #[prost(string, tag = "4")]
    authorization_metadata_key: String,
    #[prost(string, tag = "5")]
    service_http_endpoint: String,
    #[prost(string, tag = "6")]
    audience: String,
}

/// A description of the call at `base_url`, for messages: `gRPC <base>/<service>/<method>`.
fn describe(base_url: &str, method: &str) -> String {
    format!(
        "gRPC {}/{SERVICE}/{method}",
        crate::redact::url(base_url.trim_end_matches('/'))
    )
}

/// Call `GetOAuth2Metadata` on the server at `base_url` (`http://` for h2c, `https://`).
pub async fn oauth2_metadata(http: &HttpClient, base_url: &str) -> Result<Lookup<OAuth2Metadata>> {
    Ok(
        call::<OAuth2MetadataResponse>(http, base_url, GET_OAUTH2_METADATA)
            .await?
            .map(|m| OAuth2Metadata {
                token_endpoint: present(m.token_endpoint),
                authorization_endpoint: present(m.authorization_endpoint),
                device_authorization_endpoint: present(m.device_authorization_endpoint),
                // Not in the proto: no revocation over gRPC, no RFC 9207 flag.
                revocation_endpoint: None,
                issuer: present(m.issuer),
                authorization_response_iss_parameter_supported: false,
            }),
    )
}

/// Call `GetPublicClientConfig` on the server at `base_url`.
pub async fn public_client_config(
    http: &HttpClient,
    base_url: &str,
) -> Result<Lookup<PublicClientConfig>> {
    Ok(
        call::<PublicClientAuthConfigResponse>(http, base_url, GET_PUBLIC_CLIENT_CONFIG)
            .await?
            .map(|c| PublicClientConfig {
                client_id: present(c.client_id),
                redirect_uri: present(c.redirect_uri),
                scopes: c
                    .scopes
                    .into_iter()
                    .filter(|s| !s.trim().is_empty())
                    .collect(),
                authorization_metadata_key: present(c.authorization_metadata_key),
                service_http_endpoint: present(c.service_http_endpoint),
                audience: present(c.audience),
            }),
    )
}

/// proto3 writes an unset string as `""`: absent.
fn present(value: String) -> Option<String> {
    Some(value).filter(|s| !s.trim().is_empty())
}

/// One unary call with an empty request message (both requests of the service are empty).
async fn call<T: prost::Message + Default>(
    http: &HttpClient,
    base_url: &str,
    method: &str,
) -> Result<Lookup<T>> {
    let what = describe(base_url, method);
    let url = format!("{}/{SERVICE}/{method}", base_url.trim_end_matches('/'));
    let request = http::Request::post(&url)
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .body(frame(&[]))
        .map_err(|e| Error::config(format!("endpoint: cannot build a gRPC request: {e}")))?;
    let response = http.send_h2(request).await.map_err(|e| {
        // The connection was made but HTTP/2 failed: most often a server that speaks only
        // HTTP/1.1 (no gRPC there); another attempt would fail the same way.
        if e.kind() == ErrorKind::Network && !e.is_connect_failure() {
            Error::new(
                ErrorKind::Discovery,
                format!("{} (does the server speak gRPC?)", e.message()),
            )
        } else {
            e
        }
    })?;
    read_answer(&what, response)
}

/// One length-prefixed, uncompressed message.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(5 + message.len());
    body.push(0);
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(message);
    body
}

/// Turn the HTTP/2 answer into the message, `Absent`, or an error that says what came back.
fn read_answer<T: prost::Message + Default>(what: &str, response: H2Response) -> Result<Lookup<T>> {
    let status = response.status;
    if status == http::StatusCode::NOT_FOUND {
        // A front that does not route this path to a gRPC server.
        return Ok(Lookup::Absent(format!("{what}: HTTP 404 Not Found")));
    }
    let is_grpc = response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if !status.is_success() || !is_grpc {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!("{what}: the server answered HTTP {status}, not a gRPC response"),
        )
        .with_http_status(status.as_u16()));
    }
    // Trailers, or the headers of a Trailers-Only answer.
    let grpc_header = |name: &str| {
        response
            .trailers
            .get(name)
            .or_else(|| response.headers.get(name))
            .and_then(|v| v.to_str().ok())
    };
    let code = match grpc_header("grpc-status").map(|s| s.trim().parse::<u32>()) {
        Some(Ok(code)) => code,
        Some(Err(_)) => {
            return Err(Error::new(
                ErrorKind::Discovery,
                format!("{what}: the server's grpc-status is not a number"),
            ))
        }
        None => {
            return Err(Error::new(
                ErrorKind::Discovery,
                format!("{what}: the answer has no grpc-status (cut off?)"),
            ))
        }
    };
    if code == UNIMPLEMENTED {
        return Ok(Lookup::Absent(format!("{what}: UNIMPLEMENTED")));
    }
    if code != 0 {
        let message = grpc_header("grpc-message")
            .map(decode_grpc_message)
            .filter(|m| !m.is_empty())
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        let kind = match code {
            4 => ErrorKind::Timeout,
            14 => ErrorKind::Network,
            _ => ErrorKind::Discovery,
        };
        return Err(Error::new(
            kind,
            format!("{what}: {} (gRPC status {code}){message}", code_name(code)),
        ));
    }
    let body = &response.body;
    if body.len() < 5 {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!("{what}: OK without a response message"),
        ));
    }
    if body[0] != 0 {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!("{what}: the server compressed its answer, which the request did not allow"),
        ));
    }
    let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if body.len() != 5 + len {
        return Err(Error::new(
            ErrorKind::Discovery,
            format!(
                "{what}: the answer is not one length-prefixed message ({} bytes for {len})",
                body.len() - 5
            ),
        ));
    }
    T::decode(&body[5..]).map(Lookup::Found).map_err(|e| {
        Error::new(
            ErrorKind::Discovery,
            format!("{what}: the answer is not the expected message: {e}"),
        )
    })
}

/// The canonical name of a gRPC status code.
fn code_name(code: u32) -> &'static str {
    match code {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "an unknown status",
    }
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2 spec); decoded, controls dropped, cut
/// to [`MAX_MESSAGE_CHARS`].
fn decode_grpc_message(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn response(
        status: u16,
        content_type: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        trailers: &[(&str, &str)],
    ) -> H2Response {
        let map = |pairs: &[(&str, &str)]| {
            let mut m = http::HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            m
        };
        let mut h = map(headers);
        h.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        H2Response {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers: h,
            body,
            trailers: map(trailers),
        }
    }

    #[test]
    fn a_message_with_flyteidls_field_numbers_is_decoded() {
        let sent = PublicClientAuthConfigResponse {
            client_id: "flytectl".into(),
            redirect_uri: "http://localhost:53593/callback".into(),
            scopes: vec!["all".into(), "offline".into()],
            authorization_metadata_key: "flyte-authorization".into(),
            service_http_endpoint: String::new(),
            audience: "https://flyte.test/api".into(),
        };
        let bytes = sent.encode_to_vec();
        // Field 1 (client_id), wire type 2: tag byte 0x0a, as protoc writes it.
        assert_eq!(bytes[0], 0x0a);
        let answer: Lookup<PublicClientAuthConfigResponse> = read_answer(
            "test",
            response(
                200,
                "application/grpc",
                &[],
                frame(&bytes),
                &[("grpc-status", "0")],
            ),
        )
        .unwrap();
        match answer {
            Lookup::Found(got) => assert_eq!(got, sent),
            Lookup::Absent(why) => panic!("absent: {why}"),
        }
    }

    #[test]
    fn unimplemented_in_trailers_only_headers_is_absent() {
        let answer: Lookup<OAuth2MetadataResponse> = read_answer(
            "test",
            response(
                200,
                "application/grpc",
                &[("grpc-status", "12"), ("grpc-message", "unknown%20service")],
                Vec::new(),
                &[],
            ),
        )
        .unwrap();
        assert!(matches!(answer, Lookup::Absent(ref why) if why == "test: UNIMPLEMENTED"));
    }

    #[test]
    fn other_statuses_are_errors_that_quote_the_decoded_message() {
        let e = read_answer::<OAuth2MetadataResponse>(
            "gRPC x",
            response(
                200,
                "application/grpc+proto",
                &[],
                Vec::new(),
                &[("grpc-status", "7"), ("grpc-message", "not%20for%20you%0A")],
            ),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Discovery);
        assert_eq!(
            e.message(),
            "gRPC x: PERMISSION_DENIED (gRPC status 7): not for you"
        );
        let e = read_answer::<OAuth2MetadataResponse>(
            "gRPC x",
            response(
                200,
                "application/grpc",
                &[],
                Vec::new(),
                &[("grpc-status", "14")],
            ),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network);
    }

    #[test]
    fn html_and_cut_off_answers_are_errors() {
        let e = read_answer::<OAuth2MetadataResponse>(
            "gRPC x",
            response(200, "text/html", &[], b"<html>".to_vec(), &[]),
        )
        .unwrap_err();
        assert!(e.message().contains("not a gRPC response"), "{e}");
        let e = read_answer::<OAuth2MetadataResponse>(
            "gRPC x",
            response(200, "application/grpc", &[], frame(b"\x0a"), &[]),
        )
        .unwrap_err();
        assert!(e.message().contains("no grpc-status"), "{e}");
        let mut short = frame(b"\x0a\x01a");
        short.pop();
        let e = read_answer::<OAuth2MetadataResponse>(
            "gRPC x",
            response(200, "application/grpc", &[], short, &[("grpc-status", "0")]),
        )
        .unwrap_err();
        assert!(e.message().contains("length-prefixed"), "{e}");
    }

    #[test]
    fn a_404_is_absent() {
        let answer = read_answer::<OAuth2MetadataResponse>(
            "gRPC x",
            response(404, "text/plain", &[], Vec::new(), &[]),
        )
        .unwrap();
        assert!(matches!(answer, Lookup::Absent(ref why) if why == "gRPC x: HTTP 404 Not Found"));
    }

    #[test]
    fn grpc_message_decoding() {
        assert_eq!(decode_grpc_message("a%20b%zz%2"), "a b%zz%2");
        assert_eq!(
            decode_grpc_message(&"x".repeat(500)).len(),
            MAX_MESSAGE_CHARS
        );
    }
}
