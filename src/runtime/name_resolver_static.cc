// ResolveHostName for the static mlfaas-bootstrap: no resolver (see name_resolver.h), so only
// "localhost" is known by name. Linked before libmlfaas_runtime.a, whose name_resolver.o is then
// never pulled in.
#include "runtime/name_resolver.h"

namespace mlfaas::runtime {

StatusOr<std::vector<boost::asio::ip::tcp::endpoint>> ResolveHostName(const std::string& host,
                                                                      unsigned short port) {
  if (host == "localhost") {
    return std::vector<boost::asio::ip::tcp::endpoint>{
        {boost::asio::ip::address_v4::loopback(), port}};
  }
  return Unavailable("cannot resolve '" + host +
                     "': this static build takes IP addresses only (e.g. 127.0.0.1:9001)");
}

}  // namespace mlfaas::runtime
