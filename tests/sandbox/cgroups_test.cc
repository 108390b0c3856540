// Cgroups over a directory tree laid out like /sys/fs/cgroup (the Detect seam): which groups
// RemoveStale takes away.
#include "sandbox/cgroups.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/fs.h"

namespace mlfaas::sandbox {
namespace {

namespace fs = std::filesystem;

// Our own cgroup path for `controller`, as Cgroups reads it.
fs::path SelfCgroup(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    const std::string list = line.substr(a + 1, b - a - 1);
    if (("," + list + ",").find("," + controller + ",") != std::string::npos) {
      return fs::path(line.substr(b + 1)).relative_path();
    }
  }
  return {};
}

pid_t DeadPid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status;
  waitpid(pid, &status, 0);
  return pid;
}

TEST(CgroupsTest, RemoveStaleRemovesOnlyGroupsOfGoneGateways) {
  TempDir root("mlfaas-cgroupfs");
  fs::create_directories(root.path() / "memory");
  std::ofstream(root.path() / "memory" / "memory.limit_in_bytes") << "max";
  const fs::path mem = root.path() / "memory" / SelfCgroup("memory") / "mlfaas";
  const fs::path cpu = root.path() / "cpu" / SelfCgroup("cpu") / "mlfaas";
  Cgroups c = Cgroups::Detect("auto", root.path());
  ASSERT_EQ(c.version(), Cgroups::Version::kV1) << c.reason();
  const pid_t dead = DeadPid();
  const std::string gone = std::to_string(dead) + ".stem-1";
  const std::string mine = Cgroups::OwnedId("fn-1");
  const std::string alive = "1.other-gateway";  // pid 1 lives
  for (const fs::path& base : {mem, cpu}) {
    for (const std::string& g : {gone, mine, alive, std::string("not-a-gateway")}) {
      fs::create_directories(base / g);
    }
  }
  EXPECT_EQ(c.RemoveStale(), 1);
  for (const fs::path& base : {mem, cpu}) {
    EXPECT_FALSE(fs::exists(base / gone)) << base;
    EXPECT_TRUE(fs::exists(base / mine));
    EXPECT_TRUE(fs::exists(base / alive));
    EXPECT_TRUE(fs::exists(base / "not-a-gateway"));
  }
  EXPECT_EQ(c.RemoveStale(), 0) << "nothing left to remove";
}

}  // namespace
}  // namespace mlfaas::sandbox
