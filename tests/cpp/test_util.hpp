// Shared helpers of the C++ tests (tests/cpp/run.sh): checks, the fixture's environment and
// counters, and a TCP server that accepts connections and never answers.
#ifndef FLYTEAUTH_TEST_UTIL_HPP
#define FLYTEAUTH_TEST_UTIL_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace test {

inline std::atomic<int> checks{0};
inline std::atomic<int> failures{0};

inline void check(bool ok, const char *file, int line, const std::string &what) {
    checks++;
    if (!ok) {
        failures++;
        std::fprintf(stderr, "%s:%d: CHECK FAILED: %s\n", file, line, what.c_str());
    }
}

#define CHECK(expr) ::test::check(static_cast<bool>(expr), __FILE__, __LINE__, #expr)
#define CHECK_EQ(a, b)                                                                         \
    ::test::check((a) == (b), __FILE__, __LINE__,                                              \
                  std::string(#a " == " #b " (") + ::test::show(a) + " != " +                  \
                      ::test::show(b) + ")")

inline std::string show(const std::string &s) { return "\"" + s + "\""; }
inline std::string show(std::string_view s) { return show(std::string(s)); }
inline std::string show(const char *s) { return s ? show(std::string(s)) : "(null)"; }
template <class T> std::string show(const T &v) { return std::to_string(v); }

/// Run the named cases (all when `names` is empty); returns the exit status.
inline int run(const std::vector<std::pair<const char *, std::function<void()>>> &cases,
               int argc, char **argv) {
    for (const auto &c : cases) {
        bool wanted = argc <= 1;
        for (int i = 1; i < argc; i++)
            wanted = wanted || std::strcmp(argv[i], c.first) == 0;
        if (!wanted)
            continue;
        auto start = std::chrono::steady_clock::now();
        int before = failures;
        try {
            c.second();
        } catch (const std::exception &e) {
            check(false, __FILE__, __LINE__,
                  std::string(c.first) + ": unexpected exception: " + e.what());
        }
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%s %s (%.2f s)\n", failures == before ? "ok  " : "FAIL", c.first, secs);
        std::fflush(stdout);
    }
    std::printf("%d checks, %d failed\n", checks.load(), failures.load());
    return failures == 0 ? 0 : 1;
}

/// An environment variable set by scripts/with-idp; throws when it is missing.
inline std::string env(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        throw std::runtime_error(std::string(name) + " is not set: run under scripts/with-idp");
    return v;
}

/// The client-credentials config for the fixture, with `secret` and `extra` (e.g.
/// `, "maxRetries": 0`) appended inside the object.
inline std::string fixture_config(const std::string &secret, const std::string &extra = "") {
    return "{\"endpoint\": \"" + env("FLYTEAUTH_IDP_ENDPOINT") +
           "\", \"insecure\": true, \"authType\": \"ClientSecret\", \"clientId\": \"" +
           env("FLYTEAUTH_IDP_CLIENT_ID") + "\", \"clientSecret\": \"" + secret + "\"" + extra +
           "}";
}

/// The fixture's number of POST /token requests so far (GET /_test/stats), or -1.
inline long fixture_token_requests() {
    std::string url = env("FLYTEAUTH_IDP_URL");
    long port = std::strtol(url.substr(url.rfind(':') + 1).c_str(), nullptr, 10);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    const std::string req = "GET /_test/stats HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        close(fd);
        return -1;
    }
    std::string resp;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        resp.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    const std::string key = "\"token_requests\":";
    size_t at = resp.find(key);
    return at == std::string::npos ? -1 : std::strtol(resp.c_str() + at + key.size(), nullptr, 10);
}

/// A 127.0.0.1 TCP server that accepts every connection and never answers (a hanging token
/// endpoint). Connections are held until it is destroyed.
class HangingServer {
  public:
    HangingServer() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        socklen_t len = sizeof sa;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 ||
            listen(fd_, 16) != 0 || getsockname(fd_, reinterpret_cast<sockaddr *>(&sa), &len) != 0)
            throw std::runtime_error("HangingServer: cannot listen");
        port_ = ntohs(sa.sin_port);
        thread_ = std::thread([this] {
            for (;;) {
                int c = accept(fd_, nullptr, nullptr);
                if (c < 0)
                    return; // shutdown() below
                std::lock_guard<std::mutex> lock(mu_);
                held_.push_back(c);
            }
        });
    }
    ~HangingServer() {
        shutdown(fd_, SHUT_RDWR);
        thread_.join();
        close(fd_);
        for (int c : held_)
            close(c);
    }
    HangingServer(const HangingServer &) = delete;
    HangingServer &operator=(const HangingServer &) = delete;

    /// e.g. "http://127.0.0.1:40123"
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  private:
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    std::vector<int> held_;
};

/// Config whose token endpoint is `token_url` (no discovery), header "authorization".
inline std::string static_config(const std::string &token_url, const std::string &extra = "") {
    return "{\"authType\": \"ClientSecret\", \"clientId\": \"" + env("FLYTEAUTH_IDP_CLIENT_ID") +
           "\", \"clientSecret\": \"" + env("FLYTEAUTH_IDP_CLIENT_SECRET") +
           "\", \"tokenUrl\": \"" + token_url +
           "\", \"scopes\": [\"all\"], \"authorizationHeader\": \"authorization\"" + extra + "}";
}

/// Seconds since `start`.
inline double since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace test

#endif
