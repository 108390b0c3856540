// ProcessSandbox over a recording fake launcher: what it asks of the OS for an environment
// (no process is started; cgroups off).
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/worker_protocol.h"

namespace mlfaas::sandbox {
namespace {

class RecordingLauncher final : public ProcessLauncher {
 public:
  StatusOr<LaunchedProcess> Launch(const LaunchSpec& spec) override {
    specs.push_back(spec);
    passed_fd_was_open = spec.pass_fd < 0 || fcntl(spec.pass_fd, F_GETFD) >= 0;
    if (fail) return NotFound("no such executable: " + spec.executable.string());
    int out[2], exit_pipe[2];
    if (pipe(out) != 0 || pipe(exit_pipe) != 0) return Internal("pipe");
    close(out[1]);
    close(exit_pipe[1]);
    return LaunchedProcess{424242, out[0], exit_pipe[0]};
  }
  std::vector<LaunchSpec> specs;
  bool fail = false;
  bool passed_fd_was_open = false;
};

EnvironmentSpec Spec(bool channel) {
  EnvironmentSpec s;
  s.name = "fn-$LATEST-7";
  s.executable = "/code/bootstrap";
  s.cwd = "/code";
  s.env = {"A=1", wire::WorkerFdEntry(wire::kRuntimeFdEnv)};
  s.memory_mb = 256;
  s.channel = channel;
  return s;
}

void CloseAll(Environment& e) {
  for (int fd : {e.output_fd, e.exit_fd, e.channel_fd}) {
    if (fd >= 0) close(fd);
  }
}

TEST(ProcessSandboxTest, LaunchesWithTheSpecAndHandsBackAChannel) {
  RecordingLauncher launcher;
  ProcessSandbox sandbox(launcher, {Cgroups::Detect("off"), 0, {}, Isolation::kOff, {}});
  auto env = sandbox.Start(Spec(/*channel=*/true));
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  ASSERT_EQ(launcher.specs.size(), 1u);
  const LaunchSpec& ls = launcher.specs[0];
  EXPECT_EQ(ls.executable, "/code/bootstrap");
  EXPECT_EQ(ls.cwd, "/code");
  EXPECT_EQ(ls.env, Spec(true).env);
  EXPECT_TRUE(ls.join_files.empty());  // cgroups off
  EXPECT_GE(ls.pass_fd, 0);
  EXPECT_TRUE(launcher.passed_fd_was_open);
  EXPECT_EQ(fcntl(ls.pass_fd, F_GETFD), -1) << "the worker's end stays open in the gateway";
  EXPECT_EQ(env->pid, 424242);
  ASSERT_GE(env->channel_fd, 0);
  EXPECT_EQ(env->cgroup_id, Cgroups::OwnedId("fn-_LATEST-7"));  // SafeName: '$' -> '_'
  EXPECT_FALSE(env->from_stem);
  // The channel is a connected stream socket.
  int type = 0;
  socklen_t len = sizeof type;
  ASSERT_EQ(getsockopt(env->channel_fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
  EXPECT_EQ(type, SOCK_STREAM);
  CloseAll(*env);
  sandbox.Release(*env);
  EXPECT_TRUE(env->cgroup_id.empty());
  sandbox.Release(*env);  // idempotent
}

TEST(ProcessSandboxTest, WithoutAChannelNothingIsPassed) {
  RecordingLauncher launcher;
  ProcessSandbox sandbox(launcher, {Cgroups::Detect("off"), 0, {}, Isolation::kOff, {}});
  auto env = sandbox.Start(Spec(/*channel=*/false));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(launcher.specs.at(0).pass_fd, -1);
  EXPECT_EQ(env->channel_fd, -1);
  CloseAll(*env);
  sandbox.Release(*env);
}

TEST(ProcessSandboxTest, ALaunchFailureIsReturnedAndLeavesNoDescriptor) {
  RecordingLauncher launcher;
  launcher.fail = true;
  ProcessSandbox sandbox(launcher, {Cgroups::Detect("off"), 0, {}, Isolation::kOff, {}});
  const int before = open("/dev/null", O_RDONLY);  // the lowest free descriptor
  close(before);
  auto env = sandbox.Start(Spec(/*channel=*/true));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), StatusCode::kNotFound);
  const int after = open("/dev/null", O_RDONLY);
  close(after);
  EXPECT_EQ(after, before) << "the socketpair was not closed";
  EXPECT_EQ(sandbox.StemsReady(), 0);
}

TEST(SafeNameTest, KeepsLettersDigitsDashAndUnderscore) {
  EXPECT_EQ(SafeName("kdd99-anomaly_2"), "kdd99-anomaly_2");
  EXPECT_EQ(SafeName("f:$LATEST/../x"), "f__LATEST____x");
}

}  // namespace
}  // namespace mlfaas::sandbox
