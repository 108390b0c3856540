#include "loadtest/schedule.h"

#include <cmath>

namespace mlfaas::loadtest {

Duration Scaled(Duration d, double time_scale) {
  return Duration(static_cast<int64_t>(std::llround(static_cast<double>(d.count()) / time_scale)));
}

Duration UserStartOffset(const Stage& stage, int user, double time_scale) {
  if (stage.timeline() || stage.ramp_up.count() == 0 || stage.concurrency <= 1) return Duration(0);
  const Duration ramp = Scaled(stage.ramp_up, time_scale);
  if (stage.steps > 0) {
    // Step k holds users [k*C/S, (k+1)*C/S).
    const int64_t step = static_cast<int64_t>(user) * stage.steps / stage.concurrency;
    return Duration(ramp.count() * step / stage.steps);
  }
  return Duration(ramp.count() * user / stage.concurrency);
}

std::optional<Duration> StageLength(const Stage& stage, double time_scale) {
  if (stage.timeline()) return Scaled(stage.at.back(), time_scale);
  const Duration total = stage.ramp_up + stage.hold_for;
  if (total.count() == 0) return std::nullopt;
  return Scaled(total, time_scale);
}

int ScheduledUsers(const Stage& stage, Duration t, double time_scale) {
  if (t.count() < 0) return 0;
  const auto length = StageLength(stage, time_scale);
  if (length && t >= *length && !stage.timeline()) return 0;
  if (length && t > *length) return 0;
  if (stage.timeline()) return 1;
  int users = 0;
  for (int i = 0; i < stage.concurrency; ++i) {
    if (UserStartOffset(stage, i, time_scale) > t) break;
    ++users;
  }
  return users;
}

Duration PacedSendOffset(int64_t k, double per_second) {
  return Duration(static_cast<int64_t>(std::llround(static_cast<double>(k) * 1e9 / per_second)));
}

}  // namespace mlfaas::loadtest
