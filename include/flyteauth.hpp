/*
 * flyteauth.hpp: header-only C++17 wrappers over the C ABI in flyteauth.h.
 *
 * RAII handles (move-only) and exceptions instead of status codes; nothing else. Every
 * behaviour (token cache, single-flight refresh, timeouts, error messages) is the library's,
 * documented in flyteauth.h.
 *
 *     auto auth = flyteauth::Authenticator::from_json(R"({"endpoint": "dns:///flyte.example.com",
 *         "authType": "ClientSecret", "clientId": "my-app",
 *         "clientSecretLocation": "/etc/secrets/client_secret"})");
 *     for (const auto &header : auth.fetch_metadata())
 *         add_header(header.key, header.value);   // std::string_view, valid while the Metadata lives
 *
 * Link with flyteauth::flyteauth (CMake) or `pkg-config --libs flyteauth`. Needs C++17.
 *
 * Errors: every fallible call throws flyteauth::Error (a std::runtime_error) with the
 * library's status code, message, HTTP status and OAuth2 error fields; what() never contains a
 * secret or a token. Functions marked noexcept do not throw.
 *
 * Threads: an Authenticator may be used from any number of threads at once (not while it is
 * being moved from or destroyed); Metadata and Error are immutable.
 */
#ifndef FLYTEAUTH_HPP
#define FLYTEAUTH_HPP

#include "flyteauth.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace flyteauth {

/// A status code of the C ABI (FLYTEAUTH_OK, FLYTEAUTH_ERR_AUTHENTICATION, ...).
using Status = flyteauth_status;
/// The severity of a log record, and the threshold of set_log_callback (FLYTEAUTH_LOG_*).
using LogLevel = flyteauth_log_level;
/// What a login prompt asks the person to do (FLYTEAUTH_PROMPT_BROWSER, _DEVICE_CODE).
using PromptKind = flyteauth_prompt_kind;

/// The version of the header this program was compiled with, e.g. "0.1.0".
inline constexpr const char *header_version = FLYTEAUTH_VERSION;
/// The header's version as MAJOR * 10000 + MINOR * 100 + PATCH.
inline constexpr int header_version_num = FLYTEAUTH_VERSION_NUM;

/// The linked library's version, e.g. "0.1.0".
inline std::string_view version() noexcept { return flyteauth_version(); }

/// The linked library's version as MAJOR * 10000 + MINOR * 100 + PATCH.
inline int version_num() noexcept { return flyteauth_version_num(); }

/// A short, static name for a status code, e.g. "authentication error".
inline std::string_view status_str(Status status) noexcept {
    return flyteauth_status_str(static_cast<int>(status));
}

/// A failed call: the library's flyteauth_error, copied. what() is the library's message
/// (never a secret or a token).
class Error : public std::runtime_error {
  public:
    /// An error with these fields (normally made from a flyteauth_error by the wrappers).
    Error(Status code, const std::string &message, int http_status = 0,
          std::optional<std::string> oauth_error = std::nullopt,
          std::optional<std::string> oauth_error_description = std::nullopt)
        : std::runtime_error(message), code_(code), http_status_(http_status),
          oauth_error_(std::move(oauth_error)),
          oauth_error_description_(std::move(oauth_error_description)) {}

    /// Copy the details of `e` (which stays the caller's); `fallback` is the status the call
    /// returned, used when `e` is NULL.
    static Error from_c(const flyteauth_error *e, Status fallback) {
        if (e == nullptr)
            return Error(fallback, std::string(status_str(fallback)));
        const char *message = flyteauth_error_message(e);
        const char *oauth = flyteauth_error_oauth_error(e);
        const char *description = flyteauth_error_oauth_error_description(e);
        return Error(flyteauth_error_code(e), message != nullptr ? message : "",
                     flyteauth_error_http_status(e),
                     oauth != nullptr ? std::optional<std::string>(oauth) : std::nullopt,
                     description != nullptr ? std::optional<std::string>(description)
                                            : std::nullopt);
    }

    /// The status code, e.g. FLYTEAUTH_ERR_AUTHENTICATION.
    Status code() const noexcept { return code_; }
    /// The HTTP status the server answered with, 0 when no server answered.
    int http_status() const noexcept { return http_status_; }
    /// The OAuth2 `error` the server answered with (e.g. "invalid_client"), if any.
    const std::optional<std::string> &oauth_error() const noexcept { return oauth_error_; }
    /// The OAuth2 `error_description` the server answered with, if any.
    const std::optional<std::string> &oauth_error_description() const noexcept {
        return oauth_error_description_;
    }

  private:
    Status code_;
    int http_status_;
    std::optional<std::string> oauth_error_;
    std::optional<std::string> oauth_error_description_;
};

namespace detail {
/// Throw the Error for `status` (not FLYTEAUTH_OK), releasing `err`.
[[noreturn]] inline void throw_error(Status status, flyteauth_error *err) {
    std::unique_ptr<flyteauth_error, decltype(&flyteauth_error_free)> owned(err,
                                                                            flyteauth_error_free);
    throw Error::from_c(owned.get(), status);
}

/// Throw unless `status` is FLYTEAUTH_OK. `err` is taken by reference so that it is read
/// after the call that fills it (`check(f(&err), err)`: the order in which arguments are
/// evaluated is unspecified).
inline void check(Status status, flyteauth_error *&err) {
    if (status != FLYTEAUTH_OK)
        throw_error(status, err);
}

/// A timeout as the C ABI's milliseconds (0: no bound); negative durations are 1 ms.
inline uint64_t to_ms(std::chrono::milliseconds timeout) noexcept {
    return timeout.count() <= 0 ? (timeout.count() == 0 ? 0 : 1)
                                : static_cast<uint64_t>(timeout.count());
}
} // namespace detail

/// One header of a Metadata: views into the Metadata, valid while it lives. `value` is a
/// credential: do not log it.
struct Header {
    /// The header name, lowercase (e.g. "authorization").
    std::string_view key;
    /// The header value (e.g. "Bearer ...").
    std::string_view value;
};

/// The headers for one call (flyteauth_metadata): an immutable snapshot, move-only. Header 0
/// is always the auth header; "proxy-authorization", when configured, follows it.
class Metadata {
  public:
    /// Iterates over the headers as Header values.
    class const_iterator {
      public:
        using iterator_category = std::forward_iterator_tag; ///< Forward iteration only.
        using value_type = Header;                           ///< Yields Header values.
        using difference_type = std::ptrdiff_t;              ///< As for any iterator.
        using pointer = void;                                ///< No pointer access.
        using reference = Header;                            ///< Dereferencing yields a copy.

        /// The header at this position.
        Header operator*() const noexcept { return (*m_)[i_]; }
        /// The next position.
        const_iterator &operator++() noexcept {
            ++i_;
            return *this;
        }
        /// The next position (post-increment).
        const_iterator operator++(int) noexcept {
            const_iterator old = *this;
            ++i_;
            return old;
        }
        /// Same metadata, same position.
        bool operator==(const const_iterator &o) const noexcept {
            return m_ == o.m_ && i_ == o.i_;
        }
        /// Not operator==.
        bool operator!=(const const_iterator &o) const noexcept { return !(*this == o); }

      private:
        friend class Metadata;
        const_iterator(const Metadata *m, std::size_t i) noexcept : m_(m), i_(i) {}
        const Metadata *m_;
        std::size_t i_;
    };

    /// Take ownership of `m` (released with flyteauth_metadata_free).
    explicit Metadata(flyteauth_metadata *m) noexcept : m_(m) {}
    /// Move-only.
    Metadata(Metadata &&o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    /// Move-only; releases what this held.
    Metadata &operator=(Metadata &&o) noexcept {
        if (this != &o)
            flyteauth_metadata_free(std::exchange(m_, std::exchange(o.m_, nullptr)));
        return *this;
    }
    /// Not copyable: one owner per handle (share an Authenticator with std::shared_ptr).
    Metadata(const Metadata &) = delete;
    /// Not copyable.
    Metadata &operator=(const Metadata &) = delete;
    /// Releases the metadata (flyteauth_metadata_free).
    ~Metadata() { flyteauth_metadata_free(m_); }

    /// The number of headers (0 for a moved-from Metadata).
    std::size_t size() const noexcept { return flyteauth_metadata_len(m_); }
    /// Whether there is no header.
    bool empty() const noexcept { return size() == 0; }
    /// Header `i`; empty views when `i` is out of range.
    Header operator[](std::size_t i) const noexcept {
        const char *k = flyteauth_metadata_key(m_, i);
        const char *v = flyteauth_metadata_value(m_, i);
        return Header{k != nullptr ? std::string_view(k) : std::string_view(),
                      v != nullptr ? std::string_view(v) : std::string_view()};
    }
    /// The first header.
    const_iterator begin() const noexcept { return const_iterator(this, 0); }
    /// Past the last header.
    const_iterator end() const noexcept { return const_iterator(this, size()); }

    /// When the token expires, in milliseconds since the Unix epoch; 0 when unknown.
    int64_t expires_at_ms() const noexcept { return flyteauth_metadata_expires_at_ms(m_); }
    /// When the token expires, or nullopt when unknown.
    std::optional<std::chrono::system_clock::time_point> expires_at() const noexcept {
        int64_t ms = expires_at_ms();
        if (ms == 0)
            return std::nullopt;
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::milliseconds(ms)));
    }

    /// The C handle, still owned by this object.
    const flyteauth_metadata *get() const noexcept { return m_; }
    /// Give up ownership: the caller releases the result with flyteauth_metadata_free.
    flyteauth_metadata *release() noexcept { return std::exchange(m_, nullptr); }

  private:
    flyteauth_metadata *m_;
};

/// A cancellation signal for the calls that take one (flyteauth_cancel): move-only. Cancel
/// from any thread; a waiting call then throws Error with FLYTEAUTH_ERR_CANCELLED. It must
/// outlive every call it was given to.
class Cancel {
  public:
    /// A new signal, not cancelled. Throws std::bad_alloc if the library could not make one.
    Cancel() : c_(flyteauth_cancel_new()) {
        if (c_ == nullptr)
            throw std::bad_alloc();
    }
    /// Move-only.
    Cancel(Cancel &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    /// Move-only; releases what this held.
    Cancel &operator=(Cancel &&o) noexcept {
        if (this != &o)
            flyteauth_cancel_free(std::exchange(c_, std::exchange(o.c_, nullptr)));
        return *this;
    }
    /// Not copyable: one owner per handle (share an Authenticator with std::shared_ptr).
    Cancel(const Cancel &) = delete;
    /// Not copyable.
    Cancel &operator=(const Cancel &) = delete;
    /// Releases the signal; no call given it may still be running.
    ~Cancel() { flyteauth_cancel_free(c_); }

    /// Cancel every call waiting with this signal, and every later one that would wait.
    void cancel() const noexcept { flyteauth_cancel_cancel(c_); }
    /// The C handle, still owned by this object.
    const flyteauth_cancel *get() const noexcept { return c_; }

  private:
    flyteauth_cancel *c_;
};

/// A login prompt callback: show `url` (and, for the device flow, `user_code`) to the person.
/// Called on a library thread; must return promptly and must not call into the same
/// Authenticator. An exception it throws is swallowed.
using PromptCallback =
    std::function<void(PromptKind kind, std::string_view url, std::string_view user_code)>;

/// A log callback: one record with its level, module (e.g. "flyteauth::cache") and message.
/// Called on any thread, possibly several at once; must return promptly. An exception it
/// throws is swallowed.
using LogCallback =
    std::function<void(LogLevel level, std::string_view target, std::string_view message)>;

namespace detail {
/// Calls the PromptCallback in `user_data`; never lets an exception out.
inline void prompt_trampoline(void *user_data, flyteauth_prompt_kind kind, const char *url,
                              const char *user_code) {
    try {
        (*static_cast<PromptCallback *>(user_data))(kind, url != nullptr ? url : "",
                                                    user_code != nullptr ? user_code : "");
    } catch (...) {
        // No exception may cross into the library.
    }
}

/// Calls the LogCallback in `user_data`; never lets an exception out.
inline void log_trampoline(void *user_data, flyteauth_log_level level, const char *target,
                           const char *message) {
    try {
        (*static_cast<LogCallback *>(user_data))(level, target != nullptr ? target : "",
                                                 message != nullptr ? message : "");
    } catch (...) {
        // No exception may cross into the library.
    }
}

/// Destroys the library's copy of a PromptCallback.
inline void release_prompt(void *user_data) { delete static_cast<PromptCallback *>(user_data); }
/// Destroys the library's copy of a LogCallback.
inline void release_log(void *user_data) { delete static_cast<LogCallback *>(user_data); }
} // namespace detail

/// Send the library's log records at `min_level` and above to `callback`, process-wide,
/// replacing any callback set before (flyteauth_set_log_callback). An empty `callback` removes
/// it. The library keeps its own copy of `callback` and destroys it once it will no longer
/// call it. While a callback is set the library writes nothing to stderr.
inline void set_log_callback(LogCallback callback, LogLevel min_level = FLYTEAUTH_LOG_INFO) {
    if (!callback) {
        Status s = flyteauth_set_log_callback(nullptr, nullptr, nullptr,
                                              static_cast<int>(min_level));
        if (s != FLYTEAUTH_OK)
            throw Error(s, "flyteauth_set_log_callback: invalid min_level");
        return;
    }
    auto owned = std::make_unique<LogCallback>(std::move(callback));
    Status s = flyteauth_set_log_callback(detail::log_trampoline, owned.get(), detail::release_log,
                                          static_cast<int>(min_level));
    if (s != FLYTEAUTH_OK)
        throw Error(s, "flyteauth_set_log_callback: invalid min_level");
    owned.release(); // now the library's: detail::release_log deletes it
}

/// Remove the log callback (set_log_callback with an empty callback).
inline void clear_log_callback() { set_log_callback(LogCallback(), FLYTEAUTH_LOG_OFF); }

/// An authenticator (flyteauth_authenticator): turns configuration into header metadata.
/// Move-only; thread-safe. Create it once and share it (e.g. in a std::shared_ptr).
class Authenticator {
  public:
    /// Create from a JSON object with the `admin:` keys of Flyte's config.yaml
    /// (flyteauth_authenticator_new). No network I/O. Throws Error (FLYTEAUTH_ERR_CONFIG
    /// naming the key) for a bad configuration.
    static Authenticator from_json(const std::string &config_json) {
        flyteauth_authenticator *a = nullptr;
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_new(config_json.c_str(), &a, &err), err);
        return Authenticator(a);
    }

    /// Create from Flyte's config.yaml at `path`, with the FLYTE_* environment overrides
    /// (flyteauth_authenticator_from_flyte_config).
    static Authenticator from_flyte_config(const std::string &path) {
        return from_flyte_config_c(path.c_str());
    }

    /// Create from the default Flyte config: $FLYTECTL_CONFIG, else ~/.flyte/config.yaml,
    /// else the environment only.
    static Authenticator from_flyte_config() { return from_flyte_config_c(nullptr); }

    /// Take ownership of `a` (released with flyteauth_authenticator_free).
    explicit Authenticator(flyteauth_authenticator *a) noexcept : a_(a) {}
    /// Move-only.
    Authenticator(Authenticator &&o) noexcept : a_(std::exchange(o.a_, nullptr)) {}
    /// Move-only; releases what this held.
    Authenticator &operator=(Authenticator &&o) noexcept {
        if (this != &o)
            flyteauth_authenticator_free(std::exchange(a_, std::exchange(o.a_, nullptr)));
        return *this;
    }
    /// Not copyable: one owner per handle (share an Authenticator with std::shared_ptr).
    Authenticator(const Authenticator &) = delete;
    /// Not copyable.
    Authenticator &operator=(const Authenticator &) = delete;
    /// Releases the authenticator; no other call on it may be running.
    ~Authenticator() { flyteauth_authenticator_free(a_); }

    /// The headers for a call; blocks while a token is obtained or refreshed
    /// (flyteauth_authenticator_fetch_metadata).
    Metadata fetch_metadata() const {
        flyteauth_metadata *m = nullptr;
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_fetch_metadata(a_, &m, &err), err);
        return Metadata(m);
    }

    /// fetch_metadata bounded by `timeout` (0: no bound; then FLYTEAUTH_ERR_TIMEOUT) and
    /// cancelled by `cancel` (may be null; then FLYTEAUTH_ERR_CANCELLED)
    /// (flyteauth_authenticator_fetch_metadata_ex).
    Metadata fetch_metadata(std::chrono::milliseconds timeout,
                            const Cancel *cancel = nullptr) const {
        flyteauth_metadata *m = nullptr;
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_fetch_metadata_ex(
                          a_, detail::to_ms(timeout), cancel ? cancel->get() : nullptr, &m, &err),
                      err);
        return Metadata(m);
    }

    /// The metadata if it is available without waiting, else nullopt; never blocks
    /// (flyteauth_authenticator_try_fetch_metadata).
    std::optional<Metadata> try_fetch_metadata() const noexcept {
        flyteauth_metadata *m = nullptr;
        if (flyteauth_authenticator_try_fetch_metadata(a_, &m) == 0)
            return std::nullopt;
        return std::optional<Metadata>(std::in_place, m);
    }

    /// Whether `m` (from this authenticator) is still its current, fresh metadata
    /// (flyteauth_authenticator_metadata_is_current).
    bool is_current(const Metadata &m) const noexcept {
        return flyteauth_authenticator_metadata_is_current(a_, m.get()) != 0;
    }

    /// Get new credentials now; concurrent callers share one refresh
    /// (flyteauth_authenticator_refresh). Prefer invalidate() after a rejection.
    void refresh() const {
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_refresh(a_, &err), err);
    }

    /// refresh() with a bound (0: none) and a cancel signal (flyteauth_authenticator_refresh_ex).
    void refresh(std::chrono::milliseconds timeout, const Cancel *cancel = nullptr) const {
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_refresh_ex(a_, detail::to_ms(timeout),
                                                         cancel ? cancel->get() : nullptr, &err),
                      err);
    }

    /// Forget the login in memory and in the keyring, and revoke the refresh token at the IdP
    /// when it has a revocation endpoint (flyteauth_authenticator_logout). Blocks at most
    /// about 10 s per revocation; a failed revocation is a warning, not an exception.
    void logout() const {
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_logout(a_, &err), err);
    }

    /// The server rejected the header value `rejected_value`: refresh only if it is still
    /// the current one (flyteauth_authenticator_invalidate).
    void invalidate(const std::string &rejected_value) const {
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_invalidate(a_, rejected_value.c_str(), &err), err);
    }

    /// invalidate() with a bound (0: none) and a cancel signal
    /// (flyteauth_authenticator_invalidate_ex).
    void invalidate(const std::string &rejected_value, std::chrono::milliseconds timeout,
                    const Cancel *cancel = nullptr) const {
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_invalidate_ex(a_, rejected_value.c_str(),
                                                            detail::to_ms(timeout),
                                                            cancel ? cancel->get() : nullptr, &err),
                      err);
    }

    /// Whether the endpoint is spoken to in plain text (`insecure` after the config file and
    /// the environment were applied) (flyteauth_authenticator_insecure).
    bool insecure() const noexcept { return flyteauth_authenticator_insecure(a_) != 0; }

    /// Show login prompts with `callback` (flyteauth_authenticator_set_prompt_callback); an
    /// empty `callback` removes it (prompts go to stderr or the log callback again). The
    /// library keeps its own copy and destroys it once it will no longer call it.
    void set_prompt_callback(PromptCallback callback) {
        flyteauth_error *err = nullptr;
        if (!callback) {
            detail::check(
                flyteauth_authenticator_set_prompt_callback(a_, nullptr, nullptr, nullptr, &err),
                err);
            return;
        }
        auto owned = std::make_unique<PromptCallback>(std::move(callback));
        detail::check(flyteauth_authenticator_set_prompt_callback(
                          a_, detail::prompt_trampoline, owned.get(), detail::release_prompt, &err),
                      err);
        owned.release(); // now the library's: detail::release_prompt deletes it
    }

    /// Allow or forbid asking a person to log in (flyteauth_authenticator_set_interactive);
    /// forbidden, a needed login throws Error with FLYTEAUTH_ERR_LOGIN_REQUIRED.
    void set_interactive(bool interactive) {
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_set_interactive(a_, interactive ? 1 : 0, &err),
                      err);
    }

    /// The C handle, still owned by this object (NULL after a move).
    flyteauth_authenticator *get() const noexcept { return a_; }
    /// Give up ownership: the caller releases the result with flyteauth_authenticator_free.
    flyteauth_authenticator *release() noexcept { return std::exchange(a_, nullptr); }

  private:
    static Authenticator from_flyte_config_c(const char *path) {
        flyteauth_authenticator *a = nullptr;
        flyteauth_error *err = nullptr;
        detail::check(flyteauth_authenticator_from_flyte_config(path, &a, &err), err);
        return Authenticator(a);
    }

    flyteauth_authenticator *a_;
};

} // namespace flyteauth

#endif /* FLYTEAUTH_HPP */
