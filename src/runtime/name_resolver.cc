// ResolveHostName with the system resolver (getaddrinfo). Compiled outside the unity build of
// mlfaas_runtime (its own archive member), so that mlfaas-bootstrap, which defines
// ResolveHostName itself (name_resolver_static.cc), never links it.
#include "runtime/name_resolver.h"

namespace mlfaas::runtime {

StatusOr<std::vector<boost::asio::ip::tcp::endpoint>> ResolveHostName(const std::string& host,
                                                                      unsigned short port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, std::to_string(port),
                                  boost::asio::ip::tcp::resolver::numeric_service, ec);
  if (ec) return Unavailable("cannot resolve '" + host + "': " + ec.message());
  std::vector<boost::asio::ip::tcp::endpoint> out;
  for (const auto& entry : results) out.push_back(entry.endpoint());
  return out;
}

}  // namespace mlfaas::runtime
