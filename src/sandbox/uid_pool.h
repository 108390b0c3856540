// Hands out host uids from a range, one per live environment, so that no two environments share
// an identity (they cannot signal or ptrace one another, nor read each other's files). A released
// uid goes to the back of the line: reuse is as late as the range allows. Thread-safe.
#pragma once

#include <sys/types.h>

#include <deque>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "sandbox/isolation.h"

namespace mlfaas::sandbox {

class UidPool {
 public:
  explicit UidPool(UidRange range);
  // A uid no live environment has; nullopt when all are taken.
  std::optional<uid_t> Take();
  // Back to the pool, once the environment's processes are gone. Unknown uids are ignored.
  void Give(uid_t uid);
  size_t InUse() const;

 private:
  const UidRange range_;
  mutable std::mutex mu_;
  uid_t next_;                  // the next never-used uid
  std::deque<uid_t> released_;  // used before, now free, oldest first
  std::unordered_set<uid_t> in_use_;
};

}  // namespace mlfaas::sandbox
