// A maintenance task's error, logged once when it appears or changes and once when it clears,
// instead of on every tick.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>

namespace mlfaas::gateway {

class ErrorOnce {
 public:
  // `what`: "canary controller"; `recovered`: the line logged when the error clears.
  ErrorOnce(std::string what, std::string recovered)
      : what_(std::move(what)), recovered_(std::move(recovered)) {}
  // The tick's outcome: "" when it went well.
  void Update(std::string error) {
    if (error == last_) return;
    if (error.empty()) {
      spdlog::info("{}: {}", what_, recovered_);
    } else {
      spdlog::error("{}: {}", what_, error);
    }
    last_ = std::move(error);
  }

 private:
  std::string what_, recovered_, last_;
};

}  // namespace mlfaas::gateway
