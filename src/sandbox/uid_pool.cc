#include "sandbox/uid_pool.h"

namespace mlfaas::sandbox {

UidPool::UidPool(UidRange range) : range_(range), next_(range.first) {}

std::optional<uid_t> UidPool::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  uid_t uid;
  if (next_ >= range_.first && next_ <= range_.last && next_ != 0) {
    uid = next_;
    next_ = uid == range_.last ? 0 : uid + 1;  // 0: the fresh ones are used up
  } else if (!released_.empty()) {
    uid = released_.front();
    released_.pop_front();
  } else {
    return std::nullopt;
  }
  in_use_.insert(uid);
  return uid;
}

void UidPool::Give(uid_t uid) {
  std::lock_guard<std::mutex> lock(mu_);
  if (in_use_.erase(uid) == 0) return;
  released_.push_back(uid);
}

size_t UidPool::InUse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_.size();
}

}  // namespace mlfaas::sandbox
