// The ramp schedule as pure functions of (stage, time since the stage started, time-scale), so
// it can be table-tested on a simulated clock. Times returned are real (already divided by
// `time_scale`, which must be > 0; 1 = real time, 60 = one scenario minute per real second).
#pragma once

#include <optional>

#include "loadtest/plan.h"

namespace mlfaas::loadtest {

// `d` compressed by `time_scale`.
Duration Scaled(Duration d, double time_scale);

// When user `user` (0-based, < concurrency) starts, relative to the stage start. Without
// `steps` a new user joins every ramp-up/concurrency (user 0 at 0); with `steps` S the users
// join in S equal groups at 0, R/S, 2R/S, ...
Duration UserStartOffset(const Stage& stage, int user, double time_scale);

// How long the stage lasts (ramp-up + hold-for; the last `at` offset in timeline mode), or
// nullopt when only `iterations` bounds it.
std::optional<Duration> StageLength(const Stage& stage, double time_scale);

// Users the stage wants active `t` after it started: those whose start offset is <= t, while
// t < StageLength (iteration-bound stages: all started users). 0 for t < 0.
int ScheduledUsers(const Stage& stage, Duration t, double time_scale);

// Intended send time (relative to the stage start) of the `k`-th request of a paced stage
// (`rate` or `throughput` requests/s, not time-scaled). Precondition: per_second > 0.
Duration PacedSendOffset(int64_t k, double per_second);

}  // namespace mlfaas::loadtest
