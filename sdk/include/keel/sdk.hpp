#pragma once

// The Keel SDK for C++ plugins: header-only, compiled into each plugin; the binary boundary
// stays keel/abi.h. Include this one header.
#include <keel/abi.h>
#include <keel/Context.hpp>
#include <keel/Histogram.hpp>
#include <keel/Json.hpp>
#include <keel/Plugin.hpp>
#include <keel/Request.hpp>
