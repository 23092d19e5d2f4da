// The C++ wrapper (include/flyteauth.hpp) against the real IdP fixture. Run through
// tests/cpp/run.sh (inside scripts/with-idp). Arguments: the cases to run (default: all).
#include "flyteauth.hpp"
#include "test_util.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<flyteauth::Authenticator>);
static_assert(!std::is_copy_assignable_v<flyteauth::Authenticator>);
static_assert(std::is_nothrow_move_constructible_v<flyteauth::Authenticator>);
static_assert(std::is_nothrow_move_assignable_v<flyteauth::Authenticator>);
static_assert(!std::is_copy_constructible_v<flyteauth::Metadata>);
static_assert(std::is_nothrow_move_constructible_v<flyteauth::Metadata>);
static_assert(!std::is_copy_constructible_v<flyteauth::Cancel>);
static_assert(std::is_nothrow_move_constructible_v<flyteauth::Cancel>);
static_assert(std::is_base_of_v<std::runtime_error, flyteauth::Error>);

namespace {

void test_version() {
    CHECK_EQ(flyteauth::version(), std::string_view(flyteauth::header_version));
    CHECK_EQ(flyteauth::version_num(), flyteauth::header_version_num);
    CHECK_EQ(flyteauth::status_str(FLYTEAUTH_ERR_AUTHENTICATION),
             std::string_view(flyteauth_status_str(FLYTEAUTH_ERR_AUTHENTICATION)));
}

void test_fetch_metadata() {
    auto auth = flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET")));
    CHECK(auth.insecure());
    flyteauth::Metadata md = auth.fetch_metadata();
    CHECK(md.size() >= 1);
    CHECK_EQ(md[0].key, std::string_view("flyte-authorization"));
    CHECK(md[0].value.substr(0, 7) == "Bearer ");
    CHECK(md[0].value.size() > 7);
    size_t n = 0;
    for (const flyteauth::Header &h : md) {
        CHECK(!h.key.empty());
        n++;
    }
    CHECK_EQ(n, md.size());
    auto expires = md.expires_at();
    CHECK(expires.has_value());
    if (expires) {
        auto now = std::chrono::system_clock::now();
        CHECK(*expires > now);
        CHECK(*expires < now + 1h);
    }
    CHECK(auth.is_current(md));

    // The hot path: the same token again, also without blocking; with a bound and a signal.
    auto again = auth.try_fetch_metadata();
    CHECK(again.has_value());
    if (again)
        CHECK_EQ((*again)[0].value, md[0].value);
    flyteauth::Cancel cancel;
    flyteauth::Metadata bounded = auth.fetch_metadata(5s, &cancel);
    CHECK_EQ(bounded[0].value, md[0].value);
    // Out of range: empty views.
    CHECK(md[md.size()].key.empty());
}

void test_refresh_and_invalidate() {
    auto auth = flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET")));
    std::string first(auth.fetch_metadata()[0].value);
    long before = test::fixture_token_requests();
    CHECK(before >= 1);

    // invalidate(current) refreshes once; a second invalidate of the same value does nothing.
    auth.invalidate(first);
    std::string second(auth.fetch_metadata()[0].value);
    CHECK(second != first);
    auth.invalidate(first, 10s);
    CHECK_EQ(test::fixture_token_requests(), before + 1);

    auth.refresh();
    auth.refresh(10s);
    CHECK_EQ(test::fixture_token_requests(), before + 3);
    CHECK(std::string(auth.fetch_metadata()[0].value) != second);

    // logout() forgets the token: nothing current, and the next fetch is a new token.
    std::string third(auth.fetch_metadata()[0].value);
    auth.logout();
    CHECK(!auth.try_fetch_metadata().has_value());
    CHECK(std::string(auth.fetch_metadata()[0].value) != third);
    CHECK_EQ(test::fixture_token_requests(), before + 4);
}

void test_error_bad_config() {
    try {
        flyteauth::Authenticator::from_json(
            R"({"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret", )"
            R"("clientId": "a", "clientSecret": "topsecret-config-value", "bogusKey": 1})");
        CHECK(!"from_json threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_CONFIG));
        CHECK(std::string(e.what()).find("bogusKey") != std::string::npos);
        CHECK(std::string(e.what()).find("topsecret-config-value") == std::string::npos);
        CHECK_EQ(e.http_status(), 0);
        CHECK(!e.oauth_error().has_value());
    }
    try {
        flyteauth::Authenticator::from_json("not json");
        CHECK(!"from_json threw");
    } catch (const std::runtime_error &e) { // catchable as its base class
        CHECK(std::string(e.what()).size() > 0);
    }
    try {
        flyteauth::Authenticator::from_flyte_config("/nonexistent/flyte/config.yaml");
        CHECK(!"from_flyte_config threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_CONFIG));
    }
}

void test_error_bad_secret() {
    const std::string wrong = "wrong-secret-a8f3e1";
    auto auth = flyteauth::Authenticator::from_json(
        test::fixture_config(wrong, R"(, "maxRetries": 0)"));
    try {
        auth.fetch_metadata();
        CHECK(!"fetch_metadata threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_AUTHENTICATION));
        CHECK_EQ(e.http_status(), 401);
        CHECK(e.oauth_error().has_value());
        if (e.oauth_error())
            CHECK_EQ(*e.oauth_error(), std::string("invalid_client"));
        std::string what = e.what();
        CHECK(what.find(wrong) == std::string::npos);
        CHECK(!what.empty());
        // Copyable, as exceptions are.
        flyteauth::Error copy = e;
        CHECK_EQ(std::string(copy.what()), what);
        CHECK_EQ(copy.http_status(), 401);
    }
}

void test_timeout_and_cancel() {
    test::HangingServer hang;
    auto auth = flyteauth::Authenticator::from_json(
        test::static_config(hang.url() + "/token", R"(, "maxRetries": 0)"));
    auto start = std::chrono::steady_clock::now();
    try {
        auth.fetch_metadata(1500ms);
        CHECK(!"fetch_metadata threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_TIMEOUT));
    }
    CHECK(test::since(start) < 10.0);

    flyteauth::Cancel cancel;
    std::thread canceller([&cancel] {
        std::this_thread::sleep_for(500ms);
        cancel.cancel();
    });
    start = std::chrono::steady_clock::now();
    try {
        auth.fetch_metadata(0ms, &cancel);
        CHECK(!"fetch_metadata threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_CANCELLED));
    }
    canceller.join();
    CHECK(test::since(start) < 10.0);
}

/// Counts how often it is destroyed: the library must release each callback exactly once.
struct Tracker {
    std::atomic<int> *destroyed;
    explicit Tracker(std::atomic<int> *d) : destroyed(d) {}
    ~Tracker() { (*destroyed)++; }
};

void test_log_callback() {
    std::atomic<int> destroyed_a{0}, destroyed_b{0};
    std::atomic<int> records{0};
    std::weak_ptr<Tracker> weak_a, weak_b;
    std::mutex mu;
    std::string text;
    {
        auto a = std::make_shared<Tracker>(&destroyed_a);
        weak_a = a;
        flyteauth::set_log_callback(
            [a, &records, &mu, &text](flyteauth::LogLevel level, std::string_view target,
                                      std::string_view message) {
                records++;
                std::lock_guard<std::mutex> lock(mu);
                text += std::to_string(static_cast<int>(level)) + " " + std::string(target) +
                        ": " + std::string(message) + "\n";
            },
            FLYTEAUTH_LOG_INFO);
    }
    CHECK(!weak_a.expired()); // the library holds it
    // insecureSkipVerify is logged as a warning when the authenticator is made.
    flyteauth::Authenticator::from_json(
        R"({"endpoint": "dns:///flyte.invalid", "authType": "ClientSecret", "clientId": "a", )"
        R"("clientSecret": "log-cb-s3cret-value", "insecureSkipVerify": true})");
    CHECK(records >= 1);
    {
        std::lock_guard<std::mutex> lock(mu);
        CHECK(text.find("insecureSkipVerify is on") != std::string::npos);
        CHECK(text.find("log-cb-s3cret-value") == std::string::npos);
    }

    // An invalid level throws and changes nothing; the new callback is destroyed, not kept.
    {
        auto b = std::make_shared<Tracker>(&destroyed_b);
        weak_b = b;
        try {
            flyteauth::set_log_callback([b](auto, auto, auto) {}, static_cast<flyteauth::LogLevel>(6));
            CHECK(!"set_log_callback threw");
        } catch (const flyteauth::Error &e) {
            CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_INVALID_ARGUMENT));
        }
    }
    CHECK(weak_b.expired());
    CHECK_EQ(destroyed_a.load(), 0);
    destroyed_b = 0;

    // Replacing releases the old callback exactly once.
    {
        auto b = std::make_shared<Tracker>(&destroyed_b);
        weak_b = b;
        flyteauth::set_log_callback([b](auto, auto, auto) {}, FLYTEAUTH_LOG_WARN);
    }
    CHECK(weak_a.expired());
    CHECK_EQ(destroyed_a.load(), 1);
    CHECK(!weak_b.expired());
    // Clearing releases the current one exactly once.
    flyteauth::clear_log_callback();
    CHECK(weak_b.expired());
    CHECK_EQ(destroyed_b.load(), 1);
    CHECK_EQ(destroyed_a.load(), 1);
    flyteauth::clear_log_callback(); // clearing again is harmless
    CHECK_EQ(destroyed_b.load(), 1);
}

void test_prompt_callback() {
    std::atomic<int> destroyed{0};
    std::weak_ptr<Tracker> weak;
    auto auth = flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET")));
    {
        auto t = std::make_shared<Tracker>(&destroyed);
        weak = t;
        auth.set_prompt_callback([t](flyteauth::PromptKind, std::string_view, std::string_view) {});
    }
    CHECK(!weak.expired());
    auth.set_prompt_callback(nullptr);
    CHECK(weak.expired());
    CHECK_EQ(destroyed.load(), 1);

    // Freed with the authenticator.
    destroyed = 0;
    {
        auto t = std::make_shared<Tracker>(&destroyed);
        weak = t;
        auth.set_prompt_callback([t](flyteauth::PromptKind, std::string_view, std::string_view) {});
    }
    auth.set_interactive(false);
    { flyteauth::Authenticator gone = std::move(auth); }
    CHECK(weak.expired());
    CHECK_EQ(destroyed.load(), 1);
}

void test_login_required() {
    auto auth = flyteauth::Authenticator::from_json(
        "{\"endpoint\": \"" + test::env("FLYTEAUTH_IDP_ENDPOINT") +
        "\", \"insecure\": true, \"authType\": \"Pkce\", \"tokenCache\": \"memory\"}");
    auth.set_interactive(false);
    try {
        auth.fetch_metadata(20s);
        CHECK(!"fetch_metadata threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_LOGIN_REQUIRED));
    }
}

void test_move_semantics() {
    auto a = flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET")));
    flyteauth_authenticator *raw = a.get();
    CHECK(raw != nullptr);
    flyteauth::Authenticator b = std::move(a);
    CHECK(a.get() == nullptr); // NOLINT(bugprone-use-after-move): checked on purpose
    CHECK(b.get() == raw);
    CHECK(!a.insecure());      // a moved-from handle is NULL to the library: no crash
    try {
        a.fetch_metadata();
        CHECK(!"fetch_metadata on a moved-from Authenticator threw");
    } catch (const flyteauth::Error &e) {
        CHECK_EQ(static_cast<int>(e.code()), static_cast<int>(FLYTEAUTH_ERR_INVALID_ARGUMENT));
    }

    flyteauth::Metadata m1 = b.fetch_metadata();
    std::string value(m1[0].value);
    flyteauth::Metadata m2 = std::move(m1);
    CHECK_EQ(m1.size(), size_t(0)); // NOLINT(bugprone-use-after-move)
    CHECK(m1.begin() == m1.end());
    CHECK_EQ(std::string(m2[0].value), value);

    // Move assignment releases the target's old handle (valgrind/ASan would see a leak).
    auto c = flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET")));
    c = std::move(b);
    CHECK(c.get() == raw);
    c = std::move(c); // self-move keeps it
    CHECK(c.get() == raw);
    flyteauth::Metadata m3 = c.fetch_metadata();
    m3 = std::move(m2);
    CHECK_EQ(std::string(m3[0].value), value);
    // Metadata outlives its authenticator.
    { flyteauth::Authenticator gone = std::move(c); }
    CHECK_EQ(std::string(m3[0].value), value);

    flyteauth::Cancel k1;
    const flyteauth_cancel *rawc = k1.get();
    flyteauth::Cancel k2 = std::move(k1);
    CHECK(k1.get() == nullptr); // NOLINT(bugprone-use-after-move)
    CHECK(k2.get() == rawc);
    k1.cancel(); // NULL: a no-op

    // A shared authenticator, as the gRPC plugin holds it.
    auto shared = std::make_shared<flyteauth::Authenticator>(flyteauth::Authenticator::from_json(
        test::fixture_config(test::env("FLYTEAUTH_IDP_CLIENT_SECRET"))));
    CHECK_EQ(std::string(shared->fetch_metadata()[0].key), std::string("flyte-authorization"));
}

} // namespace

int main(int argc, char **argv) {
    return test::run(
        {
            {"version", test_version},
            {"fetch_metadata", test_fetch_metadata},
            {"refresh_and_invalidate", test_refresh_and_invalidate},
            {"error_bad_config", test_error_bad_config},
            {"error_bad_secret", test_error_bad_secret},
            {"timeout_and_cancel", test_timeout_and_cancel},
            {"log_callback", test_log_callback},
            {"prompt_callback", test_prompt_callback},
            {"login_required", test_login_required},
            {"move_semantics", test_move_semantics},
        },
        argc, argv);
}
