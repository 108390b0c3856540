// A runtime in HTTP adapter mode (`--http 127.0.0.1:0`) as a child process for tests: started,
// its port read from the line it prints ("mlfaas-runtime: listening on 127.0.0.1:PORT"), and
// reaped on destruction (testing::BackgroundProcess). Plus raw exchanges, for requests an HTTP
// client library would not send.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "testing/subprocess.h"

namespace mlfaas::testing {

class AdapterProcess {
 public:
  // Runs `argv` (which must include `--http 127.0.0.1:0`) with `env` added to this process's
  // environment, output to `log`. port() is 0 when it never said where it listens.
  AdapterProcess(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env, const std::string& log)
      : log_(log), process_(std::make_unique<BackgroundProcess>(argv, env, log)) {
    // The child's only signal that it listens is that line.
    port_ = PortFromLog(*process_, log_, "listening on 127\\.0\\.0\\.1:(\\d+)",
                        std::chrono::seconds(20));
  }

  uint16_t port() const { return port_; }
  std::string log() const { return Slurp(log_); }
  BackgroundProcess& process() { return *process_; }

 private:
  std::string log_;
  uint16_t port_ = 0;
  std::unique_ptr<BackgroundProcess> process_;
};

// Connects to 127.0.0.1:port, writes `bytes`, reads until the server closes (at most 10 s).
// Returns what was read ("" if the connection failed).
inline std::string RawExchange(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace mlfaas::testing
