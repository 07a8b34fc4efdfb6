#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "Config.hpp"
#include "Url.hpp"

namespace keel::bench {

/// One request a run sends, again and again: its bytes are built once (build()), so the
/// engine's hot path only copies them to the socket.
struct RequestSpec {
    std::string method = "GET";
    Url url;
    std::vector<Header> headers;
    std::string body;
    std::vector<int> expectStatus;  // empty: any status is fine
    int line = 0;                   // where a scenario declared it (0: the command line)

    // Filled by build() and the engine.
    std::string wire;
    bool head = false;           // a HEAD response has headers only
    std::size_t endpoint = 0;    // the engine's index of url's host, port and scheme

    /// Serialises the request: Host and User-Agent unless given, Content-Length when there is
    /// a body (or the method usually carries one).
    void build();
    bool expects(int status) const;
};

} // namespace keel::bench
