#include "loadtest/schedule.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace mlfaas::loadtest {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

Stage StudyStage() {
  Stage s;
  s.concurrency = 9;
  s.ramp_up = minutes(3);
  s.hold_for = minutes(1);
  return s;
}

TEST(ScheduleTest, StudyRampAddsAUserEveryTwentySeconds) {
  const Stage s = StudyStage();
  // The study's chart: 3 users after the first minute, 6 after two, 9 from three on.
  struct Case {
    Duration t;
    int users;
  } cases[] = {{seconds(-1), 0},  {seconds(0), 1},  {seconds(19), 1},  {seconds(20), 2},
               {seconds(59), 3},  {seconds(60), 4}, {seconds(119), 6}, {seconds(160), 9},
               {seconds(239), 9}, {seconds(240), 0}};
  for (const auto& c : cases) EXPECT_EQ(ScheduledUsers(s, c.t, 1.0), c.users) << c.t.count();
}

TEST(ScheduleTest, FollowsASimulatedClockWithTimeScale) {
  const Stage s = StudyStage();
  testing::FakeClock clock;
  const auto start = clock.Now();
  // Compressed 60x: the 4-minute stage takes 4 s; a user joins every 1/3 s.
  std::vector<int> seen;
  for (int i = 0; i < 9; ++i) {
    seen.push_back(ScheduledUsers(s, clock.Now() - start, 60.0));
    clock.Advance(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 4, 5, 7, 8, 9, 9, 0}));
}

TEST(ScheduleTest, StepsJoinInGroups) {
  Stage s = StudyStage();
  s.steps = 3;
  EXPECT_EQ(ScheduledUsers(s, seconds(0), 1.0), 3);
  EXPECT_EQ(ScheduledUsers(s, seconds(59), 1.0), 3);
  EXPECT_EQ(ScheduledUsers(s, seconds(60), 1.0), 6);
  EXPECT_EQ(ScheduledUsers(s, seconds(120), 1.0), 9);
  EXPECT_EQ(UserStartOffset(s, 4, 1.0), minutes(1));
}

TEST(ScheduleTest, NoRampStartsEveryoneAtOnce) {
  Stage s;
  s.concurrency = 18;
  s.hold_for = minutes(1);
  EXPECT_EQ(ScheduledUsers(s, Duration(0), 1.0), 18);
  EXPECT_EQ(StageLength(s, 1.0), minutes(1));
  EXPECT_EQ(StageLength(s, 60.0), seconds(1));
}

TEST(ScheduleTest, TimelineLastsUntilTheLastOffset) {
  Stage s;
  s.at = {minutes(0), minutes(6), minutes(16), minutes(31), minutes(61)};
  EXPECT_EQ(StageLength(s, 60.0), seconds(61));
  EXPECT_EQ(ScheduledUsers(s, seconds(30), 60.0), 1);
  EXPECT_EQ(ScheduledUsers(s, seconds(62), 60.0), 0);
}

TEST(ScheduleTest, IterationBoundStageHasNoLength) {
  Stage s;
  s.concurrency = 2;
  s.iterations = 10;
  EXPECT_FALSE(StageLength(s, 1.0).has_value());
  EXPECT_EQ(ScheduledUsers(s, minutes(100), 1.0), 2);
}

TEST(ScheduleTest, PacedSendTimesAreEvenlySpaced) {
  EXPECT_EQ(PacedSendOffset(0, 100), Duration(0));
  EXPECT_EQ(PacedSendOffset(1, 100), std::chrono::milliseconds(10));
  EXPECT_EQ(PacedSendOffset(250, 100), std::chrono::milliseconds(2500));
}

}  // namespace
}  // namespace mlfaas::loadtest
