/*
 * flyteauth_grpc.hpp: flyteauth for gRPC C++ (header-only, C++17, needs grpc++ and
 * flyteauth.hpp).
 *
 * Every call on a channel gets the authenticator's headers:
 *
 *     auto auth = std::make_shared<flyteauth::Authenticator>(
 *         flyteauth::Authenticator::from_flyte_config());
 *     auto channel = grpc::CreateChannel("flyte.example.com:443",
 *         grpc::CompositeChannelCredentials(grpc::SslCredentials({}),
 *                                           flyteauth::grpc::CallCredentials(auth)));
 *
 * and, to recover from a revoked or expired token with one refresh, run unary calls through
 * call_with_retry on a channel *without* those call credentials (it attaches them per call,
 * so that it knows which header value the server rejected):
 *
 *     auto channel = grpc::CreateChannel("flyte.example.com:443", grpc::SslCredentials({}));
 *     auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(10);
 *     grpc::Status status = flyteauth::grpc::call_with_retry(auth, deadline,
 *         [&](grpc::ClientContext &ctx) { return stub->ListProjects(&ctx, request, &response); });
 *
 * gRPC gives a channel's metadata plugin neither the call's deadline nor a way to cancel it,
 * so there a token fetch is bounded by Options::fetch_timeout; gRPC still ends the call itself
 * at its deadline (DEADLINE_EXCEEDED) while the fetch finishes in the background.
 * call_with_retry with a deadline makes one plugin per call, which knows the deadline: the
 * fetch ends with the call.
 */
#ifndef FLYTEAUTH_GRPC_HPP
#define FLYTEAUTH_GRPC_HPP

#include "flyteauth.hpp"

#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace flyteauth {
namespace grpc {

/// How the plugin fetches metadata.
struct Options {
    /// The bound of one fetch of metadata (a token request, with its retries); 0 means the
    /// library's own per-request timeouts and retries only.
    std::chrono::milliseconds fetch_timeout{std::chrono::seconds(30)};
};

/// The gRPC status for a flyteauth error: FLYTEAUTH_ERR_TIMEOUT is DEADLINE_EXCEEDED;
/// network and discovery failures (retrying later may help) are UNAVAILABLE; a cancelled
/// fetch is CANCELLED; a bug is INTERNAL; everything else (refused credentials, login
/// required, a bad configuration, a failed command) is UNAUTHENTICATED. The message is the
/// library's, which never contains a secret or a token. (gRPC itself may report a failed
/// plugin as UNAVAILABLE, keeping this message.)
inline ::grpc::Status to_grpc_status(const Error &e) {
    ::grpc::StatusCode code;
    switch (e.code()) {
    case FLYTEAUTH_ERR_TIMEOUT:
        code = ::grpc::StatusCode::DEADLINE_EXCEEDED;
        break;
    case FLYTEAUTH_ERR_NETWORK:
    case FLYTEAUTH_ERR_DISCOVERY:
        code = ::grpc::StatusCode::UNAVAILABLE;
        break;
    case FLYTEAUTH_ERR_CANCELLED:
        code = ::grpc::StatusCode::CANCELLED;
        break;
    case FLYTEAUTH_ERR_INTERNAL:
        code = ::grpc::StatusCode::INTERNAL;
        break;
    default:
        code = ::grpc::StatusCode::UNAUTHENTICATED;
        break;
    }
    return ::grpc::Status(code, std::string("flyteauth: ") + e.what());
}

/// A gRPC metadata credentials plugin: each call gets the authenticator's headers. Blocking
/// (gRPC runs it on its own threads, never on the caller's event loop).
class MetadataPlugin : public ::grpc::MetadataCredentialsPlugin {
  public:
    /// Where the plugin records the auth header value it attached (see call_with_retry).
    struct SentValue {
        std::mutex mu;     ///< Guards value.
        std::string value; ///< The last auth header value attached; empty before the first.
    };

    /// A plugin using `auth`, which it shares. `sent`, when given, receives the auth header
    /// value of each call. `deadline`, when given, is the call's (a plugin made for one call,
    /// as call_with_retry makes them): a fetch then also ends at it.
    explicit MetadataPlugin(std::shared_ptr<Authenticator> auth, Options options = Options(),
                            std::shared_ptr<SentValue> sent = nullptr,
                            std::chrono::system_clock::time_point deadline =
                                std::chrono::system_clock::time_point::max())
        : auth_(std::move(auth)), options_(options), sent_(std::move(sent)), deadline_(deadline) {}

    /// Always true: fetching may wait on the network.
    bool IsBlocking() const override { return true; }

    /// "flyteauth".
    const char *GetType() const override { return "flyteauth"; }

    /// Adds every header of Authenticator::fetch_metadata (bounded by
    /// Options::fetch_timeout and the call's deadline, when the plugin has it) to `metadata`,
    /// or returns the error as to_grpc_status does.
    ::grpc::Status GetMetadata(::grpc::string_ref, ::grpc::string_ref, const ::grpc::AuthContext &,
                               std::multimap<std::string, std::string> *metadata) override {
        try {
            Metadata m = auth_->fetch_metadata(timeout());
            for (const Header &h : m)
                metadata->emplace(std::string(h.key), std::string(h.value));
            if (sent_ && !m.empty()) {
                std::lock_guard<std::mutex> lock(sent_->mu);
                sent_->value.assign(m[0].value);
            }
            return ::grpc::Status::OK;
        } catch (const Error &e) {
            return to_grpc_status(e);
        } catch (const std::exception &) {
            return ::grpc::Status(::grpc::StatusCode::INTERNAL, "flyteauth: unexpected error");
        }
    }

    /// "flyteauth" (no configuration, no credential).
    std::string DebugString() override { return "flyteauth"; }

  private:
    /// Options::fetch_timeout, or what is left until the deadline when that is sooner (at
    /// least 1 ms: the library then answers only from a token it has).
    std::chrono::milliseconds timeout() const {
        if (deadline_ == std::chrono::system_clock::time_point::max())
            return options_.fetch_timeout;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline_ - std::chrono::system_clock::now());
        left = std::max(left, std::chrono::milliseconds(1));
        return options_.fetch_timeout.count() == 0 ? left : std::min(left, options_.fetch_timeout);
    }

    std::shared_ptr<Authenticator> auth_;
    Options options_;
    std::shared_ptr<SentValue> sent_;
    std::chrono::system_clock::time_point deadline_;
};

/// The minimum channel security the credentials need: none when the authenticator is
/// configured `insecure` (plain text, e.g. a local sandbox over LocalCredentials), else
/// privacy and integrity (TLS), as gRPC requires by default.
inline grpc_security_level min_security_level(const Authenticator &auth) noexcept {
    return auth.insecure() ? GRPC_SECURITY_NONE : GRPC_PRIVACY_AND_INTEGRITY;
}

/// Call credentials that attach `auth`'s headers to every call; combine them with channel
/// credentials (grpc::CompositeChannelCredentials) or set them on one ClientContext.
inline std::shared_ptr<::grpc::CallCredentials>
CallCredentials(std::shared_ptr<Authenticator> auth, Options options = Options()) {
    grpc_security_level level = min_security_level(*auth);
    return ::grpc::experimental::MetadataCredentialsFromPlugin(
        std::make_unique<MetadataPlugin>(std::move(auth), options), level);
}

/// Run a unary call with `auth`'s credentials; if the server answers UNAUTHENTICATED,
/// invalidate the header value it rejected (one refresh, shared with concurrent callers) and
/// run it once more. `call` is invoked with a fresh ClientContext per attempt, which it may
/// configure (deadline, metadata) before making the call, and returns the call's status:
/// `[&](grpc::ClientContext &ctx) { return stub->Method(&ctx, request, &response); }`. The
/// channel must not carry CallCredentials(auth) already (the header would be sent twice).
/// A failed refresh returns its error as to_grpc_status does.
template <class Call>
::grpc::Status call_with_retry(const std::shared_ptr<Authenticator> &auth, Call &&call,
                               Options options = Options()) {
    return call_with_retry(auth, std::chrono::system_clock::time_point::max(),
                           std::forward<Call>(call), options);
}

/// call_with_retry with the call's `deadline`, set on each attempt's ClientContext (`call`
/// must not set another): fetching the token ends at it too, so a hanging identity provider
/// holds no gRPC thread past the call. Both attempts share the one deadline.
template <class Call>
::grpc::Status call_with_retry(const std::shared_ptr<Authenticator> &auth,
                               std::chrono::system_clock::time_point deadline, Call &&call,
                               Options options = Options()) {
    ::grpc::Status status;
    for (int attempt = 0; attempt < 2; attempt++) {
        auto sent = std::make_shared<MetadataPlugin::SentValue>();
        ::grpc::ClientContext ctx;
        if (deadline != std::chrono::system_clock::time_point::max())
            ctx.set_deadline(deadline);
        ctx.set_credentials(::grpc::experimental::MetadataCredentialsFromPlugin(
            std::make_unique<MetadataPlugin>(auth, options, sent, deadline),
            min_security_level(*auth)));
        status = call(ctx);
        if (status.error_code() != ::grpc::StatusCode::UNAUTHENTICATED || attempt == 1)
            break;
        std::string rejected;
        {
            std::lock_guard<std::mutex> lock(sent->mu);
            rejected = std::move(sent->value);
        }
        if (rejected.empty())
            break; // the plugin attached nothing: the failure was not the server's rejection
        try {
            auth->invalidate(rejected, options.fetch_timeout);
        } catch (const Error &e) {
            return to_grpc_status(e);
        }
    }
    return status;
}

} // namespace grpc
} // namespace flyteauth

#endif /* FLYTEAUTH_GRPC_HPP */
