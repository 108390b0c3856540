// StemPool with real processes: the mlfaas-runtime binary as stem cells, forked by the pool's
// own thread, without cgroups (unit tests must not need root-owned hierarchies).
#include "sandbox/stem_pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "common/worker_protocol.h"
#include "testing/subprocess.h"

namespace mlfaas::sandbox {
namespace {

std::set<pid_t> Children() { return testing::ChildrenOf(getpid()); }

template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

StemPoolOptions Options(int size) {
  StemPoolOptions o;
  o.size = size;
  o.runtime_bin = std::filesystem::path(MLFAAS_BIN).parent_path() / "mlfaas-runtime";
  o.retry = std::chrono::milliseconds(50);
  return o;
}

class StemPoolTest : public ::testing::Test {
 protected:
  ForkExecLauncher launcher;
  Cgroups cgroups = Cgroups::Detect("off");
  const std::set<pid_t> before = Children();  // processes the test did not start
};

TEST_F(StemPoolTest, KeepsStemsReadyRefillsAndReapsOnStop) {
  {
    StemPool pool(launcher, cgroups, Options(2));
    pool.Start();
    ASSERT_TRUE(Eventually([&] { return pool.Ready() == 2; }));
    auto stem = pool.Take();
    ASSERT_TRUE(stem.has_value());
    EXPECT_EQ(kill(stem->pid, 0), 0);
    ASSERT_TRUE(Eventually([&] { return pool.Ready() == 2 && pool.Started() == 3; }));

    // The taken stem is ours: launch it into a custom runtime that exits 3.
    std::string frame;
    wire::AppendLaunch(frame, {"/bin/sh", "/", {"-c", "exit 3"}, {}});
    ASSERT_EQ(write(stem->socket_fd, frame.data(), frame.size()),
              static_cast<ssize_t>(frame.size()));
    int status = 0;
    ASSERT_EQ(waitpid(stem->pid, &status, 0), stem->pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
    for (int fd : {stem->output_fd, stem->pidfd, stem->socket_fd}) close(fd);
    EXPECT_EQ(Children().size(), before.size() + 2);  // the two waiting stems
  }
  EXPECT_EQ(Children(), before) << "stems outlived their pool";
}

TEST_F(StemPoolTest, AStemThatDiedWhileWaitingIsNeverHandedOut) {
  StemPool pool(launcher, cgroups, Options(1));
  pool.Start();
  ASSERT_TRUE(Eventually([&] { return pool.Ready() == 1; }));
  std::set<pid_t> stems;
  for (pid_t p : Children())
    if (!before.count(p)) stems.insert(p);
  ASSERT_EQ(stems.size(), 1u);
  const pid_t dead = *stems.begin();
  kill(dead, SIGKILL);
  ASSERT_TRUE(Eventually([&] { return Children().count(dead) == 0; }));  // now a zombie
  std::optional<Stem> stem;
  ASSERT_TRUE(Eventually([&] {
    stem = pool.Take();
    return stem.has_value();
  }));
  EXPECT_NE(stem->pid, dead);
  EXPECT_EQ(kill(stem->pid, 0), 0);
  kill(stem->pid, SIGKILL);
  waitpid(stem->pid, nullptr, 0);
  for (int fd : {stem->output_fd, stem->pidfd, stem->socket_fd}) close(fd);
  pool.Stop();
  EXPECT_EQ(Children(), before);
}

TEST_F(StemPoolTest, SizeZeroStartsNothingAndAMissingBinaryKeepsRetrying) {
  StemPool off(launcher, cgroups, Options(0));
  off.Start();
  EXPECT_FALSE(off.Take().has_value());
  EXPECT_EQ(off.Started(), 0);

  auto o = Options(1);
  o.runtime_bin = "/nonexistent/mlfaas-runtime";
  StemPool broken(launcher, cgroups, o);
  broken.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_FALSE(broken.Take().has_value());
  EXPECT_EQ(broken.Started(), 0);
  broken.Stop();  // returns promptly even while backing off
}

}  // namespace
}  // namespace mlfaas::sandbox
