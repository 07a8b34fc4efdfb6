#pragma once

// keel::testing::TestClient: supertest for Keel. Builds a site from a manifest (a file, a
// folder, or JSON text), starts its plugins from the plugin path, and sends requests through
// the site's full pipeline in-process, without sockets: middleware, routing, handlers and
// the central error handler run exactly as behind the http plugin.
//
//   keel::testing::TestClient site = keel::testing::TestClient::fromJson(R"({
//       "name": "t", "listeners": [{"address": "127.0.0.1:0"}], "plugins": {"hello": "^0.1.0"},
//       "routes": [{"path": "/greet/:name", "use": "greet"}]})");
//   auto res = site.get("/greet/Ada");
//   CPPUNIT_ASSERT_EQUAL(200, res.status);
//
// Link the CMake target Keel::testing (the kernel as a library). The plugin path is
// $KEEL_PLUGIN_PATH unless given. Not thread-safe; one client runs its own loop.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
    int status = 0;
    Headers headers;
    std::string body;
    bool complete = false;   // the response ended normally
    bool reset = false;      // the transport was told to cut the connection
    bool sentContinue = false;
    /// The first header of that name (case-insensitive).
    std::optional<std::string> header(std::string_view name) const;
};

struct Request {
    std::string method = "GET";
    std::string target = "/";
    Headers headers;
    std::string body;
    bool chunked = false;          // send the body without Content-Length
    bool expectContinue = false;   // Expect: 100-continue
    std::string client = "127.0.0.1";
    std::string host;              // Host header and site selection; "" = the first site
};

class TestClient {
public:
    /// A site manifest (site.json or its folder), and optional plugin directories.
    static TestClient fromManifest(const std::string& fileOrDir, std::vector<std::string> pluginPath = {});
    /// A site manifest given as JSON text; relative paths in it resolve against `dir`.
    static TestClient fromJson(std::string_view json, const std::string& dir = ".", std::vector<std::string> pluginPath = {});

    TestClient(TestClient&&) noexcept;
    TestClient& operator=(TestClient&&) noexcept;
    ~TestClient();

    /// Sends a request and runs the loop until the response ends (or `deadlineMs`).
    Response request(const Request& request, unsigned deadlineMs = 10000);
    Response get(const std::string& target, Headers headers = {});
    Response post(const std::string& target, std::string body, std::string contentType = "application/json",
                  Headers headers = {});
    /// Starts a request without waiting for its response (for requests in flight across a
    /// reload); returns a ticket for finish().
    int start(const Request& request);
    /// Runs the loop until the started request's response ends (or `deadlineMs`).
    Response finish(int ticket, unsigned deadlineMs = 10000);
    /// Starts a request and makes the client go away once the pipeline holds it: the step
    /// holding it must be told. Returns the response state at the time of the abort.
    Response requestAndAbort(const Request& request);

    /// Replaces the site's manifest (as SIGHUP would); returns the errors, empty on success.
    std::vector<std::string> reload(std::string_view json);
    /// Runs the loop until nothing is pending (timers, offloaded work) or `deadlineMs`.
    void settle(unsigned deadlineMs = 5000);
    /// Lines the kernel and plugins logged since the client was made ("LEVEL source: text").
    const std::vector<std::string>& logs() const;

private:
    struct Impl;
    explicit TestClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace keel::testing
