//! Text that is safe to put in a message or a log line.
//!
//! Every URL the library names in an error or a log record goes through [`url`]: user info
//! (`alice:hunter2@`), the query string (`?key=…`) and the fragment can carry credentials, and
//! messages travel to log aggregators and bug reports.

/// `url` for messages: user info, query and fragment removed. Text that is not a URL is not
/// shown at all (it could be a URL with a typo and a password in it).
pub fn url(url: &str) -> String {
    match ::url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// `text` with every occurrence of `url` (as written) replaced by its redacted form: for
/// messages of other libraries that quote the URL they were given.
pub fn url_in(text: &str, url: &str) -> String {
    if url.is_empty() {
        return text.to_owned();
    }
    text.replace(url, &self::url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed() {
        assert_eq!(
            url("socks5://alice:hunter2@proxy:1080"),
            "socks5://proxy:1080"
        );
        assert_eq!(
            url("https://alice:hunter2@idp.example.com/token?key=sekrit#frag"),
            "https://idp.example.com/token"
        );
        assert_eq!(url("not a url hunter2"), "<invalid URL>");
        assert_eq!(
            url_in(
                "error sending request for url (http://a:b@h/t?q=1)",
                "http://a:b@h/t?q=1"
            ),
            "error sending request for url (http://h/t)"
        );
    }
}
