//! Linux (and the other unix desktops): the Secret Service keyring, `xdg-open`, the coarse
//! wall clock.
//!
//! **Keyring.** Python `keyring`'s SecretService backend (what pyflyte uses here) stores one
//! item per (service, username) in the default collection, with the attributes `service`,
//! `username` and `application = "Python keyring library"` and the label
//! `Password for '<username>' on '<service>'`; it finds items by `service` + `username`, and
//! writes with `replace=True`, which gnome-keyring applies only to an item with exactly the
//! same attributes. So we create items with exactly these attributes and this label
//! ([`item_layout`]): then a later pyflyte write replaces our item instead of adding a
//! duplicate, and each side reads what the other wrote.

/// Python keyring's `application` attribute.
pub const PYTHON_KEYRING_APPLICATION: &str = "Python keyring library";

/// A Secret Service item as Python keyring creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretServiceItem {
    /// The item's label (shown by Seahorse and `secret-tool`).
    pub label: String,
    /// The item's attributes, sorted by name.
    pub attributes: Vec<(&'static str, String)>,
}

/// The item Python keyring's `set_password(service, username, ...)` creates.
pub fn item_layout(service: &str, username: &str) -> SecretServiceItem {
    SecretServiceItem {
        label: format!("Password for '{username}' on '{service}'"),
        attributes: vec![
            ("application", PYTHON_KEYRING_APPLICATION.to_owned()),
            ("service", service.to_owned()),
            ("username", username.to_owned()),
        ],
    }
}

/// The argv of `xdg-open` for `url`.
pub fn opener_argv(url: &url::Url) -> Vec<String> {
    vec!["xdg-open".to_owned(), url.as_str().to_owned()]
}

/// Nanoseconds since the Unix epoch from `CLOCK_REALTIME_COARSE` (updated every tick, a few
/// milliseconds; ~3 ns from the vDSO, against 17–28 ns for the precise clock).
#[cfg(all(unix, not(target_os = "macos")))]
#[inline]
pub(crate) fn coarse_now_nanos() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) use store::Keyring;

#[cfg(all(unix, not(target_os = "macos")))]
mod store {
    use std::collections::HashMap;
    use std::sync::Arc;

    use keyring_core::api::CredentialStoreApi;
    use keyring_core::{Entry, Error};

    use super::{item_layout, PYTHON_KEYRING_APPLICATION};

    /// The Secret Service of this session (one D-Bus connection).
    #[derive(Clone)]
    pub(crate) struct Keyring(Arc<zbus_secret_service_keyring_store::Store>);

    impl Keyring {
        /// Connect to the session's Secret Service.
        pub(crate) fn open() -> Result<Keyring, Error> {
            zbus_secret_service_keyring_store::Store::new().map(Keyring)
        }

        fn entry(&self, service: &str, user: &str) -> Result<Entry, Error> {
            let label = item_layout(service, user).label;
            let modifiers = HashMap::from([("label", label.as_str())]);
            self.0.build(service, user, Some(&modifiers))
        }

        /// The secret of (`service`, `user`), if there is one.
        pub(crate) fn get(&self, service: &str, user: &str) -> Result<Option<String>, Error> {
            match self.entry(service, user)?.get_password() {
                Ok(v) => Ok(Some(v)),
                Err(Error::NoEntry) => Ok(None),
                // Duplicates (e.g. written by two tools): any readable one will do; the next
                // set() cleans them up.
                Err(Error::Ambiguous(entries)) => {
                    Ok(entries.iter().find_map(|e| e.get_password().ok()))
                }
                Err(e) => Err(e),
            }
        }

        /// Create or replace the item of (`service`, `user`), with Python keyring's layout.
        pub(crate) fn set(&self, service: &str, user: &str, secret: &str) -> Result<(), Error> {
            let entry = self.entry(service, user)?;
            match entry.set_password(secret) {
                Err(Error::Ambiguous(entries)) => {
                    for e in entries {
                        let _ = e.delete_credential();
                    }
                    entry.set_password(secret)?;
                }
                other => other?,
            }
            // The store sets `service` and `username` itself; Python's third attribute makes
            // the attribute sets equal (see the module docs).
            let attrs = HashMap::from([("application", PYTHON_KEYRING_APPLICATION)]);
            if let Err(e) = entry.update_attributes(&attrs) {
                crate::logging::debug!(
                    "flyteauth: could not set the keyring item's application attribute: {e}"
                );
            }
            Ok(())
        }

        /// Remove the item(s) of (`service`, `user`); none is fine.
        pub(crate) fn delete(&self, service: &str, user: &str) -> Result<(), Error> {
            match self.entry(service, user)?.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => Ok(()),
                Err(Error::Ambiguous(entries)) => {
                    for e in entries {
                        let _ = e.delete_credential();
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_laid_out_as_python_keyring_lays_them_out() {
        // keyring/backends/SecretService.py: label "Password for '%s' on '%s'" % (username,
        // service); attributes {"username", "service", "application": "Python keyring
        // library"}. pyflyte: service = the endpoint, username = the token's name.
        let item = item_layout("flyte.example.com", "access_token");
        assert_eq!(
            item.label,
            "Password for 'access_token' on 'flyte.example.com'"
        );
        assert_eq!(
            item.attributes,
            [
                ("application", "Python keyring library".to_owned()),
                ("service", "flyte.example.com".to_owned()),
                ("username", "access_token".to_owned()),
            ]
        );
    }

    #[test]
    fn the_opener_is_xdg_open_with_the_url_as_one_argument() {
        let url = url::Url::parse("https://idp.example/authorize?a=1&b=2").unwrap();
        assert_eq!(
            opener_argv(&url),
            ["xdg-open", "https://idp.example/authorize?a=1&b=2"]
        );
    }
}
