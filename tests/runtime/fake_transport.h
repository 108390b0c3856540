// An in-memory RuntimeTransport: scripted invocations in, recorded posts out. No sockets.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "runtime/transport.h"

namespace mlfaas::testing {

class FakeTransport : public runtime::RuntimeTransport {
 public:
  struct Post {
    std::string kind;  // "response" | "error" | "init_error"
    std::string request_id;
    std::string body;
  };

  // Queues an invocation with request id "req-<n>" (n counts from 0).
  void Add(std::string payload) {
    runtime::Invocation inv;
    inv.request_id = "req-" + std::to_string(added_++);
    inv.payload = std::move(payload);
    pending_.push_back(std::move(inv));
  }

  // When the queue is empty Next() fails with kUnavailable, as when the Runtime API goes away.
  StatusOr<runtime::Invocation> Next() override {
    ++next_calls;
    if (on_next) on_next(next_calls);
    if (pending_.empty()) return Unavailable("fake runtime API closed");
    runtime::Invocation inv = std::move(pending_.front());
    pending_.pop_front();
    return inv;
  }
  Status PostResponse(const std::string& id, std::string_view payload) override {
    posts.push_back({"response", id, std::string(payload)});
    return post_status;
  }
  Status PostError(const std::string& id, std::string_view type, std::string_view msg) override {
    posts.push_back({"error", id, runtime::ErrorBody(type, msg)});
    return post_status;
  }
  Status PostInitError(std::string_view type, std::string_view msg) override {
    posts.push_back({"init_error", "", runtime::ErrorBody(type, msg)});
    return post_status;
  }

  std::vector<Post> posts;
  int next_calls = 0;
  // Called at the start of each Next() with its number (from 1): to change the world between
  // invocations.
  std::function<void(int)> on_next;
  Status post_status;  // what every post returns

 private:
  std::deque<runtime::Invocation> pending_;
  int added_ = 0;
};

}  // namespace mlfaas::testing
