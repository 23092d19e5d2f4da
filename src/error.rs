//! One error type for the whole library, each kind mapped to one stable C status code.
//!
//! Messages are written for the person reading a log: they say what failed, against which
//! URL or config key, and what to do about it. They never contain a secret, a token, an
//! authorization code or a command's stdout.

use std::fmt;

/// What kind of failure happened. Each kind has one stable number in the C ABI
/// (`flyteauth_status`); numbers are never reused or renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument was NULL, not UTF-8, or otherwise unusable (C ABI only).
    InvalidArgument,
    /// The configuration is wrong: unknown key, wrong type, missing value, unreadable file.
    Config,
    /// The server's auth metadata (`/.well-known/oauth-authorization-server`,
    /// `/config/v1/flyte_client`) could not be fetched or understood.
    Discovery,
    /// The identity provider refused the credentials (e.g. `invalid_client`).
    Authentication,
    /// A connection failed, was reset, or the server kept answering 5xx/429.
    Network,
    /// A request, a command or the whole call did not finish in time.
    Timeout,
    /// The external token command (`command` / `proxyCommand`) failed.
    Command,
    /// The call was cancelled by the caller.
    Cancelled,
    /// The server answered with something that is not a valid OAuth2 response.
    Protocol,
    /// The configured flow is not available in this build.
    Unsupported,
    /// A person must log in, but the authenticator is non-interactive.
    LoginRequired,
    /// A bug in flyteauth (e.g. a caught panic). Please report it.
    Internal,
}

impl ErrorKind {
    /// A short, stable, lowercase name for the kind (e.g. `"authentication"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Config => "configuration error",
            ErrorKind::Discovery => "discovery error",
            ErrorKind::Authentication => "authentication error",
            ErrorKind::Network => "network error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Command => "command error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::LoginRequired => "login required",
            ErrorKind::Internal => "internal error",
        }
    }
}

/// An error from flyteauth: a kind, a human-readable message and, when a server answered,
/// its HTTP status and OAuth2 `error` / `error_description`.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    oauth_error: Option<String>,
    oauth_error_description: Option<String>,
    /// The server's `Retry-After`, for the refresh coordinator's backoff.
    retry_after: Option<std::time::Duration>,
    /// The connection failed before the request was sent (safe to repeat any request).
    connect_failure: bool,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            http_status: None,
            oauth_error: None,
            oauth_error_description: None,
            retry_after: None,
            connect_failure: false,
        }
    }

    /// The same error with another message.
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Attach the server's `Retry-After`.
    pub(crate) fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// How long the server asked to wait before trying again (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// Mark a connection that failed before the request was sent.
    pub(crate) fn with_connect_failure(mut self) -> Self {
        self.connect_failure = true;
        self
    }

    /// Whether the connection failed before the request was sent.
    pub(crate) fn is_connect_failure(&self) -> bool {
        self.connect_failure
    }

    /// A configuration error; the message should name the key.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Attach the HTTP status the server answered with.
    pub(crate) fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Attach the OAuth2 `error` and `error_description` the server answered with.
    pub(crate) fn with_oauth_error(mut self, error: String, description: Option<String>) -> Self {
        self.oauth_error = Some(error);
        self.oauth_error_description = description;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status the server answered with, if a server answered.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The OAuth2 `error` code (RFC 6749 §5.2), e.g. `invalid_client`.
    pub fn oauth_error(&self) -> Option<&str> {
        self.oauth_error.as_deref()
    }

    /// The OAuth2 `error_description`, if the server sent one.
    pub fn oauth_error_description(&self) -> Option<&str> {
        self.oauth_error_description.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("http_status", &self.http_status)
            .field("oauth_error", &self.oauth_error)
            .field("oauth_error_description", &self.oauth_error_description)
            .finish()
    }
}

impl std::error::Error for Error {}
