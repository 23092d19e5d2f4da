//! macOS: the login Keychain and `open`.
//!
//! **Keyring.** Python `keyring`'s macOS backend (what pyflyte uses here) keeps one *generic
//! password* per (service, username) in the default (login) keychain, with the Keychain's
//! `service` attribute set to the service and `account` to the username, and the secret as
//! UTF-8 (`SecKeychainAddGenericPassword` / `SecKeychainFindGenericPassword`); a write to an
//! existing item changes its data in place. `apple-native-keyring-store`'s `keychain` store
//! keeps exactly such items in the User (login) keychain ([`item_layout`]): each side reads and
//! replaces what the other wrote. (The first read of an item another program created makes
//! macOS ask the person to allow it, as it does for pyflyte.)

/// A Keychain item as Python keyring creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeychainItem {
    /// The item class (`kSecClassGenericPassword`).
    pub class: &'static str,
    /// The keychain that holds it.
    pub keychain: &'static str,
    /// The `service` attribute (`svce`).
    pub service: String,
    /// The `account` attribute (`acct`).
    pub account: String,
}

/// The item Python keyring's `set_password(service, username, ...)` creates.
pub fn item_layout(service: &str, username: &str) -> KeychainItem {
    KeychainItem {
        class: "generic password",
        keychain: "login (the user's default keychain)",
        service: service.to_owned(),
        account: username.to_owned(),
    }
}

/// The argv of `open` for `url`.
pub fn opener_argv(url: &url::Url) -> Vec<String> {
    vec!["open".to_owned(), url.as_str().to_owned()]
}

#[cfg(target_os = "macos")]
pub(crate) use store::Keyring;

#[cfg(target_os = "macos")]
mod store {
    use std::sync::Arc;

    use apple_native_keyring_store::keychain::Store;
    use keyring_core::api::CredentialStoreApi;
    use keyring_core::{Entry, Error};

    use super::item_layout;

    /// The user's login keychain.
    #[derive(Clone)]
    pub(crate) struct Keyring(Arc<Store>);

    impl Keyring {
        /// The User (login) keychain, the one Python keyring uses.
        pub(crate) fn open() -> Result<Keyring, Error> {
            Store::new().map(Keyring)
        }

        fn entry(&self, service: &str, user: &str) -> Result<Entry, Error> {
            let item = item_layout(service, user);
            self.0.build(&item.service, &item.account, None)
        }

        /// The secret of (`service`, `user`), if there is one.
        pub(crate) fn get(&self, service: &str, user: &str) -> Result<Option<String>, Error> {
            match self.entry(service, user)?.get_password() {
                Ok(v) => Ok(Some(v)),
                Err(Error::NoEntry) => Ok(None),
                Err(e) => Err(e),
            }
        }

        /// Create the item of (`service`, `user`), or change its data in place.
        pub(crate) fn set(&self, service: &str, user: &str, secret: &str) -> Result<(), Error> {
            self.entry(service, user)?.set_password(secret)
        }

        /// Remove the item of (`service`, `user`); none is fine.
        pub(crate) fn delete(&self, service: &str, user: &str) -> Result<(), Error> {
            match self.entry(service, user)?.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => Ok(()),
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
        // keyring/backends/macOS/api.py: SecKeychainAddGenericPassword(default keychain,
        // service, username, password.encode('utf-8')).
        assert_eq!(
            item_layout("flyte.example.com", "refresh_token"),
            KeychainItem {
                class: "generic password",
                keychain: "login (the user's default keychain)",
                service: "flyte.example.com".to_owned(),
                account: "refresh_token".to_owned(),
            }
        );
    }

    #[test]
    fn the_opener_is_open_with_the_url_as_one_argument() {
        let url = url::Url::parse("https://idp.example/a?b=1").unwrap();
        assert_eq!(opener_argv(&url), ["open", "https://idp.example/a?b=1"]);
    }
}
