// The worker protocol from the worker's side: RunWorkerWith over a SocketTransport in-process,
// and the real mlfaas-runtime as a stem cell that is launched by a frame.
#include "runtime/socket_transport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/fs.h"
#include "package/package.h"
#include "runtime/model_handler.h"
#include "runtime/test_model.h"
#include "runtime/worker.h"
#include "testing/subprocess.h"

namespace mlfaas::runtime {
namespace {

using wire::FrameType;

// The gateway's end of the socket: blocking frame I/O with a bounded wait.
class GatewayEnd {
 public:
  explicit GatewayEnd(int fd) : fd_(fd) {}
  ~GatewayEnd() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void Send(FrameType t, std::initializer_list<std::string_view> fields) {
    std::string buf;
    wire::AppendFrame(buf, t, fields);
    ASSERT_EQ(write(fd_, buf.data(), buf.size()), static_cast<ssize_t>(buf.size()));
  }
  void Send(const std::vector<std::string>& launch) {
    std::string buf;
    wire::AppendFrame(buf, FrameType::kLaunch, launch);
    ASSERT_EQ(write(fd_, buf.data(), buf.size()), static_cast<ssize_t>(buf.size()));
  }
  // The next frame; type 0 on EOF or after 20 s.
  std::pair<FrameType, std::string> Read() {
    for (;;) {
      wire::Frame f;
      auto used = wire::ParseFrame(in_, &f);
      EXPECT_TRUE(used.ok());
      if (!used.ok()) return {};
      if (*used > 0) {
        std::pair<FrameType, std::string> out{f.type, std::string(f.data)};
        in_.erase(0, *used);
        return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20'000) != 1) return {};
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return {};
      in_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string in_;
};

class SocketTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(task_root_);
    testing::WriteTaskRoot(task_root_);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_), 0);
  }

  WorkerConfig Config() const {
    WorkerConfig c;
    c.task_root = task_root_;
    c.function_name = "kdd99-test";
    c.function_version = "3";
    return c;
  }

  TempDir dir_{"mlfaas-socket-transport-test"};
  std::filesystem::path task_root_ = dir_.path() / "task";
  int sv_[2] = {-1, -1};
};

TEST_F(SocketTransportTest, WorkerAnswersEveryEventLikeTheHandler) {
  const std::vector<std::string> events = testing::TestEvents();
  Status loop_end;
  std::thread worker([&] {
    SocketTransport t(sv_[1]);
    loop_end = RunWorkerWith(Config(), t);
  });
  GatewayEnd gw(sv_[0]);
  auto manifest = package::ReadManifestFile(task_root_ / "manifest.json");
  ASSERT_TRUE(manifest.ok());
  ModelHandler reference(std::make_shared<const model::Predictor>(manifest->model),
                         ModelInfo{manifest->name, "3", manifest->digest});
  ASSERT_EQ(gw.Read().first, FrameType::kNext);
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string id = "req-" + std::to_string(i);
    gw.Send(FrameType::kInvocation, {id, "1700000000000", "arn:fn", "Root=1", events[i]});
    auto [type, data] = gw.Read();
    Response want = reference.HandleEvent(events[i]);
    std::string_view f[3];
    if (want.is_error) {
      ASSERT_EQ(type, FrameType::kError) << events[i];
      ASSERT_TRUE(wire::SplitFields(data, 3, f));
      EXPECT_EQ(f[1], "InvalidInput");
      EXPECT_EQ(
          nlohmann::json::parse(f[2]),
          nlohmann::json({{"errorType", want.error_type}, {"errorMessage", want.error_message}}));
    } else {
      ASSERT_EQ(type, FrameType::kResponse) << events[i];
      ASSERT_TRUE(wire::SplitFields(data, 2, f));
      EXPECT_EQ(f[1], want.payload);
    }
    EXPECT_EQ(f[0], id);
    ASSERT_EQ(gw.Read().first, FrameType::kNext) << "the worker asks for more after " << id;
  }
  gw.Close();  // the gateway goes away: the loop ends
  worker.join();
  EXPECT_EQ(loop_end.code(), StatusCode::kUnavailable) << loop_end.ToString();
}

TEST_F(SocketTransportTest, BadManifestIsAnInitErrorFrame) {
  ASSERT_TRUE(WriteFileAtomic(task_root_ / "manifest.json", "{\"truncated\": ").ok());
  Status end;
  std::thread worker([&] {
    SocketTransport t(sv_[1]);
    end = RunWorkerWith(Config(), t);
  });
  GatewayEnd gw(sv_[0]);
  auto [type, data] = gw.Read();
  worker.join();
  ASSERT_EQ(type, FrameType::kInitError);
  std::string_view f[2];
  ASSERT_TRUE(wire::SplitFields(data, 2, f));
  EXPECT_EQ(f[0], "InitError");
  EXPECT_NE(f[1].find("manifest.json"), std::string_view::npos) << f[1];
  EXPECT_FALSE(end.ok());
}

TEST_F(SocketTransportTest, MalformedInvocationFrameEndsTheLoop) {
  Status end;
  std::thread worker([&] {
    SocketTransport t(sv_[1]);
    end = RunWorkerWith(Config(), t);
  });
  GatewayEnd gw(sv_[0]);
  ASSERT_EQ(gw.Read().first, FrameType::kNext);
  gw.Send(FrameType::kInvocation, {"only-an-id"});
  worker.join();
  EXPECT_EQ(end.code(), StatusCode::kUnavailable) << end.ToString();
}

// Starts MLFAAS_RUNTIME_BIN as a stem cell with the socket's other end as fd 3.
pid_t StartStem(int child_end, const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(out, 2);
    dup2(child_end, 3);
    char* argv[] = {const_cast<char*>(MLFAAS_RUNTIME_BIN), nullptr};
    char stem[] = "MLFAAS_STEM_FD=3";
    char* envp[] = {stem, nullptr};
    execve(MLFAAS_RUNTIME_BIN, argv, envp);
    _exit(127);
  }
  return pid;
}

int Reap(pid_t pid) {
  int status = -1;
  for (int i = 0; i < 2000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ADD_FAILURE() << "process " << pid << " did not exit";
  return status;
}

TEST_F(SocketTransportTest, StemCellBecomesTheBuiltInWorker) {
  pid_t pid = StartStem(sv_[1], dir_.path() / "stem.log");
  ASSERT_GT(pid, 0);
  close(sv_[1]);
  GatewayEnd gw(sv_[0]);
  ASSERT_EQ(gw.Read().first, FrameType::kStemReady);  // off: no listener rides along
  gw.Send({"", task_root_.string(), "-1", "-1", "0", "0", "MLFAAS_RUNTIME_FD=3",
           "AWS_LAMBDA_FUNCTION_NAME=stemfn", "AWS_LAMBDA_FUNCTION_VERSION=7",
           "LAMBDA_TASK_ROOT=" + task_root_.string()});
  ASSERT_EQ(gw.Read().first, FrameType::kNext)
      << testing::Slurp((dir_.path() / "stem.log").string());
  gw.Send(FrameType::kInvocation,
          {"r1", "0", "arn", "t", R"({"duration":0,"src_bytes":215,"dst_bytes":45076})"});
  auto [type, data] = gw.Read();
  ASSERT_EQ(type, FrameType::kResponse);
  std::string_view f[2];
  ASSERT_TRUE(wire::SplitFields(data, 2, f));
  auto result = nlohmann::json::parse(f[1]);
  EXPECT_EQ(result["model"]["version"], "7");  // the launch environment took effect
  ASSERT_EQ(result["predictions"].size(), 1u);
  gw.Close();
  int status = Reap(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_NE(testing::Slurp((dir_.path() / "stem.log").string()).find("function stemfn version 7"),
            std::string::npos);
}

TEST_F(SocketTransportTest, StemCellExecsACustomRuntimeInItsDirectory) {
  pid_t pid = StartStem(sv_[1], dir_.path() / "stem.log");
  ASSERT_GT(pid, 0);
  close(sv_[1]);
  GatewayEnd gw(sv_[0]);
  ASSERT_EQ(gw.Read().first, FrameType::kStemReady);
  gw.Send({"/bin/sh", dir_.path().string(), "-1", "-1", "0", "2", "-c",
           "if [ -e /proc/$$/fd/3 ]; then exit 9; fi; printf '%s' \"$GREETING\" > greeting.txt",
           "GREETING=hello from the launch frame", "PATH=/usr/bin:/bin"});
  int status = Reap(pid);
  // Exit 9 would mean the exec'd runtime inherited the worker-protocol socket.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(testing::Slurp((dir_.path() / "greeting.txt").string()), "hello from the launch frame");
}

TEST_F(SocketTransportTest, StemCellWithABadLaunchFrameExitsNonZero) {
  pid_t pid = StartStem(sv_[1], dir_.path() / "stem.log");
  ASSERT_GT(pid, 0);
  close(sv_[1]);
  GatewayEnd gw(sv_[0]);
  ASSERT_EQ(gw.Read().first, FrameType::kStemReady);
  gw.Send(
      {"", (dir_.path() / "missing-dir").string(), "-1", "-1", "0", "0", "MLFAAS_RUNTIME_FD=3"});
  auto [type, data] = gw.Read();  // the failure is reported like an init error
  EXPECT_EQ(type, FrameType::kInitError);
  EXPECT_NE(data.find("Runtime.InvalidEntrypoint"), std::string::npos) << data;
  EXPECT_NE(data.find("cannot enter"), std::string::npos) << data;
  int status = Reap(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  EXPECT_NE(testing::Slurp((dir_.path() / "stem.log").string()).find("cannot enter"),
            std::string::npos);
}

}  // namespace
}  // namespace mlfaas::runtime
