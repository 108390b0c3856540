// Who is on the other end of a loopback TCP connection: the uid that owns the peer's socket, from
// the kernel's socket table (NETLINK_SOCK_DIAG, one exact lookup by the connection's four-tuple).
// Where an instance's Runtime API listens on the host's loopback (isolation relaxed), only the
// instance's own uid may use it: another function's process, which could otherwise take its
// invocations, is turned away.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <optional>

namespace mlfaas::sandbox {

// The owner of the IPv4 TCP socket whose local address is `peer` and remote address is `local`
// (the other end of a connection accepted at `local`). nullopt when there is no such socket or
// the kernel cannot be asked.
std::optional<uid_t> LoopbackPeerUid(const sockaddr_in& local, const sockaddr_in& peer);

// The same for a connected socket `fd`.
std::optional<uid_t> LoopbackPeerUid(int fd);

}  // namespace mlfaas::sandbox
