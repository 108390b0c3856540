// Host names in AWS_LAMBDA_RUNTIME_API, apart from the HTTP transport so that a static build can
// leave name resolution out: getaddrinfo in a statically linked glibc loads NSS modules with
// dlopen at run time (those of the build host's glibc), which a static `bootstrap` on another
// system must never do. IP literals never come here (HttpTransport parses them itself), and
// Lambda's Runtime API address is one (127.0.0.1:9001).
//
// Two definitions, one per binary: name_resolver.cc (getaddrinfo, through Asio) for
// mlfaas-runtime and mlfaas; name_resolver_static.cc (only "localhost") for mlfaas-bootstrap.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace mlfaas::runtime {

// The endpoints of `host` (a name, not an IP literal) at `port`. Unavailable when it does not
// resolve (or, in the static build, when it is not "localhost").
StatusOr<std::vector<boost::asio::ip::tcp::endpoint>> ResolveHostName(const std::string& host,
                                                                      unsigned short port);

}  // namespace mlfaas::runtime
