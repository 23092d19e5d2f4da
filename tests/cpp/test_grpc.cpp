// flyteauth_grpc.hpp against a real gRPC C++ server on 127.0.0.1 and the real IdP fixture.
// Run through tests/cpp/run.sh (inside scripts/with-idp). Arguments: the cases to run.
#include "flyteauth_grpc.hpp"
#include "test_util.hpp"

#include "echo.grpc.pb.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using flyteauth::test::Echo;
using flyteauth::test::PingReply;
using flyteauth::test::PingRequest;

namespace {

/// The server side: checks the `authorization` header. It rejects the first token it ever
/// sees once with UNAUTHENTICATED (a token revoked at the server), and afterwards accepts only
/// other tokens.
class EchoService final : public Echo::Service {
  public:
    ::grpc::Status Ping(::grpc::ServerContext *ctx, const PingRequest *req,
                        PingReply *reply) override {
        std::lock_guard<std::mutex> lock(mu_);
        calls_++;
        auto range = ctx->client_metadata().equal_range("authorization");
        int headers = 0;
        std::string value;
        for (auto it = range.first; it != range.second; ++it) {
            headers++;
            value.assign(it->second.data(), it->second.size());
        }
        if (headers != 1 || value.rfind("Bearer ", 0) != 0 || value.size() <= 7) {
            bad_header_calls_++;
            return ::grpc::Status(::grpc::StatusCode::UNAUTHENTICATED, "want one bearer token");
        }
        tokens_.insert(value);
        if (first_.empty())
            first_ = value;
        if (value == first_) {
            rejected_++;
            return ::grpc::Status(::grpc::StatusCode::UNAUTHENTICATED, "token revoked");
        }
        reply->set_text(req->text());
        return ::grpc::Status::OK;
    }

    int calls() {
        std::lock_guard<std::mutex> lock(mu_);
        return calls_;
    }
    int rejected() {
        std::lock_guard<std::mutex> lock(mu_);
        return rejected_;
    }
    int bad_header_calls() {
        std::lock_guard<std::mutex> lock(mu_);
        return bad_header_calls_;
    }
    size_t distinct_tokens() {
        std::lock_guard<std::mutex> lock(mu_);
        return tokens_.size();
    }

  private:
    std::mutex mu_;
    int calls_ = 0, rejected_ = 0, bad_header_calls_ = 0;
    std::string first_;
    std::set<std::string> tokens_;
};

/// A running server on 127.0.0.1, random port, with local (loopback) credentials: gRPC sends
/// call credentials over them, as over TLS, without certificates in the test.
struct Server {
    EchoService service;
    std::unique_ptr<::grpc::Server> server;
    int port = 0;

    Server() {
        ::grpc::ServerBuilder builder;
        builder.AddListeningPort("127.0.0.1:0",
                                 ::grpc::experimental::LocalServerCredentials(LOCAL_TCP), &port);
        builder.RegisterService(&service);
        server = builder.BuildAndStart();
        if (!server || port == 0)
            throw std::runtime_error("the gRPC server did not start");
    }
    ~Server() { server->Shutdown(std::chrono::system_clock::now() + 5s); }

    std::shared_ptr<::grpc::Channel>
    channel(std::shared_ptr<::grpc::CallCredentials> call_creds = nullptr) const {
        auto creds = ::grpc::experimental::LocalCredentials(LOCAL_TCP);
        if (call_creds)
            creds = ::grpc::CompositeChannelCredentials(creds, call_creds);
        return ::grpc::CreateChannel("127.0.0.1:" + std::to_string(port), creds);
    }
};

std::shared_ptr<flyteauth::Authenticator> fixture_authenticator() {
    return std::make_shared<flyteauth::Authenticator>(flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET"),
                             R"(, "authorizationHeader": "authorization")")));
}

::grpc::Status ping(Echo::Stub &stub, ::grpc::ClientContext &ctx, const std::string &text,
                    std::string *out) {
    PingRequest req;
    req.set_text(text);
    PingReply reply;
    ::grpc::Status s = stub.Ping(&ctx, req, &reply);
    *out = reply.text();
    return s;
}

/// The first token is rejected; call_with_retry invalidates it, the IdP issues exactly one
/// more token, and the one retry succeeds with it.
void test_retry_after_unauthenticated() {
    Server server;
    auto auth = fixture_authenticator();
    auto stub = Echo::NewStub(server.channel());
    long before = test::fixture_token_requests();

    int attempts = 0;
    std::string out;
    ::grpc::Status s = flyteauth::grpc::call_with_retry(auth, [&](::grpc::ClientContext &ctx) {
        attempts++;
        ctx.set_deadline(std::chrono::system_clock::now() + 30s);
        return ping(*stub, ctx, "hello", &out);
    });
    CHECK(s.ok());
    if (!s.ok())
        std::fprintf(stderr, "  status %d: %s\n", s.error_code(), s.error_message().c_str());
    CHECK_EQ(out, std::string("hello"));
    CHECK_EQ(attempts, 2);
    CHECK_EQ(server.service.calls(), 2);
    CHECK_EQ(server.service.rejected(), 1);
    CHECK_EQ(server.service.bad_header_calls(), 0);
    CHECK_EQ(server.service.distinct_tokens(), size_t(2));
    CHECK_EQ(test::fixture_token_requests(), before + 2); // the first token, one refresh

    // The next call uses the refreshed token at once: no retry, no token request.
    attempts = 0;
    s = flyteauth::grpc::call_with_retry(auth, [&](::grpc::ClientContext &ctx) {
        attempts++;
        return ping(*stub, ctx, "again", &out);
    });
    CHECK(s.ok());
    CHECK_EQ(attempts, 1);
    CHECK_EQ(server.service.calls(), 3);
    CHECK_EQ(test::fixture_token_requests(), before + 2);
}

/// Many threads see the same token rejected at once: they share one refresh (the IdP issues
/// one token more, not one per thread), and every call succeeds on its one retry.
void test_concurrent_rejections_share_one_refresh() {
    Server server;
    auto auth = fixture_authenticator();
    auto stub = Echo::NewStub(server.channel());
    long before = test::fixture_token_requests();
    constexpr int kThreads = 6;
    std::atomic<int> ok{0}, attempts{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; i++) {
        threads.emplace_back([&] {
            std::string out;
            ::grpc::Status s =
                flyteauth::grpc::call_with_retry(auth, [&](::grpc::ClientContext &ctx) {
                    attempts++;
                    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
                    return ping(*stub, ctx, "burst", &out);
                });
            if (s.ok() && out == "burst")
                ok++;
        });
    }
    for (auto &t : threads)
        t.join();
    CHECK_EQ(ok.load(), kThreads);
    CHECK(attempts.load() <= 2 * kThreads);
    CHECK_EQ(server.service.distinct_tokens(), size_t(2));
    CHECK_EQ(test::fixture_token_requests(), before + 2); // the first token, one refresh
}

/// A rejection that a refresh does not cure is returned after exactly one retry.
void test_retry_only_once() {
    Server server;
    auto auth = fixture_authenticator();
    auto stub = Echo::NewStub(server.channel());
    int attempts = 0;
    std::string out;
    ::grpc::Status s = flyteauth::grpc::call_with_retry(auth, [&](::grpc::ClientContext &ctx) {
        attempts++;
        // The server wants one "authorization" header: a second one makes every call fail.
        ctx.AddMetadata("authorization", "Bearer extra");
        return ping(*stub, ctx, "x", &out);
    });
    CHECK_EQ(static_cast<int>(s.error_code()), static_cast<int>(::grpc::StatusCode::UNAUTHENTICATED));
    CHECK_EQ(attempts, 2);
    CHECK_EQ(server.service.calls(), 2);
}

/// Channel-wide CallCredentials: every call carries the token, without a retry helper.
void test_channel_credentials() {
    Server server;
    auto auth = fixture_authenticator();
    // Burn the first token (the server rejects the first it sees), then refresh.
    std::string first(auth->fetch_metadata()[0].value);
    auto stub = Echo::NewStub(server.channel(flyteauth::grpc::CallCredentials(auth)));
    std::string out;
    {
        ::grpc::ClientContext ctx;
        ::grpc::Status s = ping(*stub, ctx, "one", &out);
        CHECK_EQ(static_cast<int>(s.error_code()),
                 static_cast<int>(::grpc::StatusCode::UNAUTHENTICATED));
        CHECK(s.error_message().find(first.substr(7)) == std::string::npos);
    }
    auth->invalidate(first);
    for (int i = 0; i < 3; i++) {
        ::grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 30s);
        ::grpc::Status s = ping(*stub, ctx, "two", &out);
        CHECK(s.ok());
        CHECK_EQ(out, std::string("two"));
    }
    CHECK_EQ(server.service.calls(), 4);
    CHECK_EQ(server.service.distinct_tokens(), size_t(2));
    CHECK_EQ(server.service.bad_header_calls(), 0);
}

/// A token endpoint that accepts connections and never answers: a call with a short deadline
/// ends promptly with DEADLINE_EXCEEDED (or UNAVAILABLE, gRPC's code for a failed plugin), and
/// the server never sees it.
void test_deadline_with_hanging_token_endpoint() {
    Server server;
    test::HangingServer hang;
    auto auth = std::make_shared<flyteauth::Authenticator>(flyteauth::Authenticator::from_json(
        test::static_config(hang.url() + "/token", R"(, "insecure": true)")));
    flyteauth::grpc::Options options;
    options.fetch_timeout = 3s; // the plugin cannot see the call's deadline
    auto stub = Echo::NewStub(server.channel(flyteauth::grpc::CallCredentials(auth, options)));

    auto start = std::chrono::steady_clock::now();
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 1s);
    std::string out;
    ::grpc::Status s = ping(*stub, ctx, "late", &out);
    double secs = test::since(start);
    std::printf("  deadline call: status %d (%s) after %.2f s\n", s.error_code(),
                s.error_message().c_str(), secs);
    CHECK(s.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED ||
          s.error_code() == ::grpc::StatusCode::UNAVAILABLE);
    CHECK(secs < 10.0);
    CHECK_EQ(server.service.calls(), 0);

    // The same through call_with_retry: a fetch that times out is not retried.
    start = std::chrono::steady_clock::now();
    int attempts = 0;
    s = flyteauth::grpc::call_with_retry(
        auth,
        [&](::grpc::ClientContext &c) {
            attempts++;
            c.set_deadline(std::chrono::system_clock::now() + 1s);
            return ping(*stub, c, "late", &out);
        },
        options);
    secs = test::since(start);
    std::printf("  deadline call_with_retry: status %d after %.2f s\n", s.error_code(), secs);
    CHECK(s.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED ||
          s.error_code() == ::grpc::StatusCode::UNAVAILABLE);
    CHECK_EQ(attempts, 1);
    CHECK(secs < 10.0);

    // With the deadline given to call_with_retry, the token fetch ends with the call: the
    // plugin (which holds the authenticator) is done long before the 30 s fetch_timeout.
    // A channel without call credentials, and an authenticator only the plugin holds.
    auto plain = Echo::NewStub(server.channel());
    auto own = std::make_shared<flyteauth::Authenticator>(flyteauth::Authenticator::from_json(
        test::static_config(hang.url() + "/token", R"(, "insecure": true)")));
    flyteauth::grpc::Options slow;
    slow.fetch_timeout = 30s;
    start = std::chrono::steady_clock::now();
    s = flyteauth::grpc::call_with_retry(
        own, std::chrono::system_clock::now() + 1s,
        [&](::grpc::ClientContext &c) { return ping(*plain, c, "late", &out); }, slow);
    std::weak_ptr<flyteauth::Authenticator> held = own;
    own.reset();
    while (!held.expired() && test::since(start) < 20.0)
        std::this_thread::sleep_for(50ms);
    secs = test::since(start);
    std::printf("  deadline call_with_retry(deadline): status %d; fetch done after %.2f s\n",
                s.error_code(), secs);
    CHECK(s.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED ||
          s.error_code() == ::grpc::StatusCode::UNAVAILABLE);
    CHECK(held.expired());
    CHECK(secs < 20.0);
}

/// The mapping of flyteauth errors to gRPC codes.
void test_status_mapping() {
    using flyteauth::Error;
    using flyteauth::grpc::to_grpc_status;
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_TIMEOUT, "t")).error_code() ==
          ::grpc::StatusCode::DEADLINE_EXCEEDED);
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_NETWORK, "n")).error_code() ==
          ::grpc::StatusCode::UNAVAILABLE);
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_DISCOVERY, "d")).error_code() ==
          ::grpc::StatusCode::UNAVAILABLE);
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_AUTHENTICATION, "a", 401)).error_code() ==
          ::grpc::StatusCode::UNAUTHENTICATED);
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_LOGIN_REQUIRED, "l")).error_code() ==
          ::grpc::StatusCode::UNAUTHENTICATED);
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_CANCELLED, "c")).error_code() ==
          ::grpc::StatusCode::CANCELLED);
    CHECK(to_grpc_status(Error(FLYTEAUTH_ERR_INTERNAL, "i")).error_code() ==
          ::grpc::StatusCode::INTERNAL);

    // A refused client through the plugin: the call fails before reaching the server, and
    // the status carries the library's message, never the secret.
    Server server;
    const std::string wrong = "wrong-grpc-secret-5c1d";
    auto auth = std::make_shared<flyteauth::Authenticator>(flyteauth::Authenticator::from_json(
        test::fixture_config(wrong, R"(, "maxRetries": 0, "authorizationHeader": "authorization")")));
    auto stub = Echo::NewStub(server.channel(flyteauth::grpc::CallCredentials(auth)));
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    std::string out;
    ::grpc::Status s = ping(*stub, ctx, "x", &out);
    std::printf("  refused client: status %d (%s)\n", s.error_code(), s.error_message().c_str());
    CHECK(!s.ok());
    CHECK(s.error_code() == ::grpc::StatusCode::UNAUTHENTICATED ||
          s.error_code() == ::grpc::StatusCode::UNAVAILABLE);
    CHECK(s.error_message().find("flyteauth") != std::string::npos);
    CHECK(s.error_message().find(wrong) == std::string::npos);
    CHECK_EQ(server.service.calls(), 0);
}

} // namespace

int main(int argc, char **argv) {
    return test::run(
        {
            {"retry_after_unauthenticated", test_retry_after_unauthenticated},
            {"concurrent_rejections_share_one_refresh", test_concurrent_rejections_share_one_refresh},
            {"retry_only_once", test_retry_only_once},
            {"channel_credentials", test_channel_credentials},
            {"deadline_with_hanging_token_endpoint", test_deadline_with_hanging_token_endpoint},
            {"status_mapping", test_status_mapping},
        },
        argc, argv);
}
