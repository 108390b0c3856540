// Fault injection against the real `mlfaas serve` and CLI: a low descriptor limit, a full disk
// under the home directory, the gateway killed during traffic and the CLI killed while it
// writes. Each case checks that the process answers or fails cleanly, that the registry stays
// consistent (SQLite's integrity_check) and that nothing outlives a killed gateway.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <sstream>

#include "gateway/serve_fixture.h"

namespace mlfaas::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string InvokePath(const std::string& fn, const std::string& qualifier = "") {
  std::string p = "/2015-03-31/functions/" + fn + "/invocations";
  return qualifier.empty() ? p : p + "?Qualifier=" + qualifier;
}

// A custom runtime that keeps one Runtime API connection: a warm invocation needs no new
// descriptor in the gateway.
constexpr const char* kKeepAlive = R"PY(#!/usr/bin/python3
import http.client, json, os
conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
p = "/2018-06-01/runtime/invocation/"
while True:
    conn.request("GET", p + "next")
    r = conn.getresponse()
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    r.read()
    conn.request("POST", p + rid + "/response", body=json.dumps({"pid": os.getpid()}))
    conn.getresponse().read()
)PY";

// Prints 2,000 lines of 500 bytes (1 MB) per invocation.
constexpr const char* kChatty = R"PY(#!/usr/bin/python3
import os, sys, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(base + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    for i in range(2000):
        print("%06d %s" % (i, "y" * 493))
    sys.stdout.flush()
    urllib.request.urlopen(urllib.request.Request(base + rid + "/response", data=b"{}",
                                                  method="POST")).read()
)PY";

// The fields of /proc/<pid>/stat after the command name ("" once the process is gone).
std::vector<std::string> ProcStat(pid_t pid) {
  std::string s = Slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = s.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream in(s.substr(close + 2));
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

// Not running: gone, or a zombie waiting for whatever adopted it.
bool Dead(pid_t pid) {
  auto st = ProcStat(pid);
  return st.empty() || st[0] == "Z" || st[0] == "X";
}

// utime + stime, in clock ticks.
uint64_t CpuTicks(pid_t pid) {
  auto st = ProcStat(pid);
  return st.size() > 13 ? std::stoull(st[11]) + std::stoull(st[12]) : 0;
}

size_t FdCount(pid_t pid) {
  std::error_code ec;
  size_t n = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

uint64_t RssKb(pid_t pid) {
  std::smatch m;
  const std::string status = Slurp("/proc/" + std::to_string(pid) + "/status");
  return std::regex_search(status, m, std::regex("VmRSS:\\s+(\\d+) kB")) ? std::stoull(m[1]) : 0;
}

// Writes until the file system is full.
void FillDisk(const fs::path& file) {
  int fd = open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  const std::string chunk(64 << 10, 'f');
  for (size_t size : {chunk.size(), size_t{4096}, size_t{1}}) {
    while (write(fd, chunk.data(), size) > 0) {
    }
  }
  EXPECT_EQ(errno, ENOSPC);
  close(fd);
}

class ServeFaultTest : public ServeFixture {
 protected:
  void TearDown() override {
    ServeFixture::TearDown();
    server_.reset();  // SIGTERM, then SIGKILL; reaped
    if (mounted_ && umount2(Home().c_str(), MNT_DETACH) != 0) {
      ADD_FAILURE() << "umount " << Home() << ": " << strerror(errno);
    }
  }

  fs::path Home() { return tmp_.path() / "home"; }

  // Puts the home directory on a tmpfs of `size` (e.g. "2m"). Fails (never skips) when it
  // cannot: these tests run as root.
  void MountHome(const std::string& size) {
    fs::create_directories(Home());
    ASSERT_EQ(mount("tmpfs", Home().c_str(), "tmpfs", 0, ("size=" + size).c_str()), 0)
        << "cannot mount a tmpfs on " << Home() << " (the test needs root): " << strerror(errno);
    mounted_ = true;
  }

  // Zips made by one python3 run: each a `bootstrap` running `script` plus, when its size is not
  // 0, `model.bin` of that many random (incompressible) bytes.
  std::vector<fs::path> Packages(const std::string& script, const std::vector<size_t>& sizes) {
    fs::path bs = tmp_.path() / ("bootstrap-" + std::to_string(++packages_));
    std::ofstream(bs) << script;
    std::vector<std::string> argv = {"/usr/bin/python3", "-c",
                                     "import os, sys, zipfile\n"
                                     "for out, n in zip(sys.argv[2::2], sys.argv[3::2]):\n"
                                     "    z = zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED)\n"
                                     "    i = zipfile.ZipInfo('bootstrap')\n"
                                     "    i.external_attr = 0o100755 << 16\n"
                                     "    z.writestr(i, open(sys.argv[1]).read())\n"
                                     "    if int(n): z.writestr('model.bin', os.urandom(int(n)))\n"
                                     "    z.close()\n",
                                     bs.string()};
    std::vector<fs::path> out;
    for (size_t n : sizes) {
      out.push_back(tmp_.path() / ("pkg-" + std::to_string(packages_) + "-" +
                                   std::to_string(out.size()) + ".zip"));
      argv.insert(argv.end(), {out.back().string(), std::to_string(n)});
    }
    auto r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  fs::path Package(const std::string& script, size_t extra = 0) {
    return Packages(script, {extra})[0];
  }

  CommandResult Create(const std::string& fn, const fs::path& zip) {
    return Mlfaas({"function", "create", fn, "--package", zip.string(), "--runtime", "provided"});
  }

  std::string IntegrityCheck() {
    auto r = RunCommand({"sqlite3", (Home() / "registry.db").string(), "PRAGMA integrity_check;"});
    return r.exit_code == 0 ? r.out : "sqlite3 failed: " + r.err;
  }

  // A command that failed as a CLI should: an exit status (not a signal), one line on stderr.
  static void ExpectCleanFailure(const CommandResult& r) {
    EXPECT_GT(r.exit_code, 0) << "killed or succeeded: " << r.err;
    EXPECT_FALSE(r.timed_out);
    EXPECT_TRUE(r.err.starts_with("mlfaas: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  // Files a write left behind: temp files of interrupted atomic writes.
  std::vector<std::string> TempFiles() {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(Home(), ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().find(".tmp.") != std::string::npos) {
        out.push_back(it->path().string());
      }
    }
    return out;
  }

  // `mlfaas serve` run through `wrapper` (e.g. prlimit), without isolation or stem cells.
  uint16_t ServeWrapped(std::vector<std::string> wrapper) {
    wrapper.insert(wrapper.end(), {MLFAAS_BIN, "--home", Home().string(), "serve", "--port", "0",
                                   "--threads", "2", "--isolation", "off", "--stem-cells", "0"});
    log_ = (tmp_.path() / "serve-wrapped.log").string();
    server_ =
        std::make_unique<BackgroundProcess>(wrapper, std::map<std::string, std::string>{}, log_);
    std::regex re("listening on http://127\\.0\\.0\\.1:(\\d+)");
    uint16_t port = 0;
    WaitFor([&] {
      std::smatch m;
      std::string text = Slurp(log_);
      if (std::regex_search(text, m, re)) port = static_cast<uint16_t>(std::stoi(m[1]));
      return port != 0 || !server_->Running();
    });
    EXPECT_NE(port, 0) << "serve did not start: " << Slurp(log_);
    return port;
  }

  bool mounted_ = false;
  int packages_ = 0;
};

TEST_F(ServeFaultTest, LowDescriptorLimitRefusesCleanlyAndRecovers) {
  auto zip = Package(kKeepAlive);
  ASSERT_EQ(Create("warm", zip).exit_code, 0);
  ASSERT_EQ(Create("cold", zip).exit_code, 0);
  const uint16_t port = ServeWrapped({"prlimit", "--nofile=64:64"});
  ASSERT_NE(port, 0);
  const pid_t pid = server_->pid();
  HttpClient keep(port);  // connected before the descriptors run out
  ASSERT_EQ(keep.Post(InvokePath("warm"), "{}").status, 200) << Slurp(log_);

  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ADD_FAILURE() << "connect: " << strerror(errno);
      close(s);
      break;
    }
    idle.push_back(s);
  }
  EXPECT_TRUE(WaitFor([&] { return FdCount(pid) >= 62; }, 5s))
      << FdCount(pid) << " descriptors: the limit was never reached";
  // Half a second: a gateway spinning on accept() would burn ~50 ticks of it (one core).
  const uint64_t ticks = CpuTicks(pid);
  std::this_thread::sleep_for(500ms);
  const uint64_t busy = CpuTicks(pid) - ticks;
  RecordProperty("cpu_ticks_per_half_s_while_saturated", std::to_string(busy));
  EXPECT_LT(busy, sysconf(_SC_CLK_TCK) / 20) << "the gateway spins while out of descriptors";

  // The established connection is still served: warm needs no descriptor, a cold start fails
  // as an init error (or succeeds if a descriptor came free).
  auto warm = keep.Post(InvokePath("warm"), "{}");
  EXPECT_EQ(warm.status, 200) << warm.body;
  auto cold = keep.Post(InvokePath("cold"), "{}");
  RecordProperty("cold_start_while_saturated", std::to_string(cold.status) + " " + cold.body);
  EXPECT_TRUE(cold.status == 200 || cold.header("x-amzn-errortype") == "Runtime.InitError")
      << cold.status << " " << cold.body;
  ASSERT_TRUE(server_->Running()) << Slurp(log_);

  for (int s : idle) close(s);
  EXPECT_TRUE(WaitFor([&] {
    return HttpClient(port).Post(InvokePath("warm"), "{}").status == 200;
  })) << Slurp(log_);
  EXPECT_TRUE(WaitFor([&] {
    return HttpClient(port).Post(InvokePath("cold"), "{}").status == 200;
  })) << Slurp(log_);
  EXPECT_EQ(server_->StopWith(SIGTERM, 15s), 0) << Slurp(log_);
}

TEST_F(ServeFaultTest, FullDiskFailsWritesCleanlyAndKeepsTheRegistryConsistent) {
  ASSERT_NO_FATAL_FAILURE(MountHome("2m"));
  auto pkgs = Packages(kPythonBootstrap, {0, 3u << 20});
  const fs::path small = pkgs[0], big = pkgs[1];
  ASSERT_EQ(Create("small", small).exit_code, 0);
  ASSERT_EQ(Mlfaas({"function", "publish", "small"}).exit_code, 0);
  const auto before = Mlfaas({"function", "list"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  const auto versions = Mlfaas({"version", "list", "small"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;

  // A package larger than the free space.
  auto created = Create("big", big);
  ExpectCleanFailure(created);
  EXPECT_NE(created.err.find("No space left on device"), std::string::npos) << created.err;
  ExpectCleanFailure(Mlfaas({"function", "update-code", "small", "--package", big.string()}));
  EXPECT_EQ(Mlfaas({"function", "list"}).out, before.out);
  EXPECT_EQ(Mlfaas({"version", "list", "small"}).out, versions.out);
  EXPECT_EQ(IntegrityCheck(), "ok\n");
  EXPECT_TRUE(TempFiles().empty()) << TempFiles()[0];

  // No space at all: every command succeeds or fails cleanly. Reads fail too (SQLite in WAL
  // mode cannot create its shared-memory file: "disk I/O error"), but nothing is damaged.
  ASSERT_NO_FATAL_FAILURE(FillDisk(Home() / "filler"));
  auto published = Mlfaas({"function", "publish", "small"});
  auto twin = Create("twin", small);  // same code: only the database would grow
  auto full_list = Mlfaas({"function", "list"});
  for (const auto* r : {&published, &twin, &full_list}) {
    if (r->exit_code != 0) ExpectCleanFailure(*r);
  }
  RecordProperty("list_on_a_full_disk", full_list.exit_code == 0 ? "ok" : full_list.err);
  fs::remove(Home() / "filler");
  EXPECT_EQ(IntegrityCheck(), "ok\n");
  auto list = Mlfaas({"function", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("small"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("twin") != std::string::npos, twin.exit_code == 0) << list.out;
  auto after_versions = Mlfaas({"version", "list", "small", "--json"});
  ASSERT_EQ(after_versions.exit_code, 0) << after_versions.err;
  EXPECT_EQ(json::parse(after_versions.out).size(), published.exit_code == 0 ? 3u : 2u)
      << after_versions.out;
  EXPECT_EQ(Create("after", small).exit_code, 0);
  EXPECT_EQ(Mlfaas({"function", "publish", "after"}).exit_code, 0);
  EXPECT_NE(Mlfaas({"function", "list"}).out.find("after"), std::string::npos);
  EXPECT_EQ(IntegrityCheck(), "ok\n");
}

// The gateway's resident memory after it could not write its logs for a while: its backlog is
// capped at 32 MiB. In the ASan build the gateway (built the same way as this test) also keeps
// freed blocks in ASan's quarantine, 256 MB by default (quarantine_size_mb), on top.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kRssBoundKb = (256u + 256u) * 1024;
#else
constexpr size_t kRssBoundKb = 256u * 1024;
#endif

TEST_F(ServeFaultTest, FullDiskUnderTheLogsKeepsTheGatewayServing) {
  ASSERT_NO_FATAL_FAILURE(MountHome("8m"));
  ASSERT_EQ(Create("chatty", Package(kChatty)).exit_code, 0);
  ASSERT_EQ(Create("echo", Package(kPythonBootstrap)).exit_code, 0);
  const uint16_t port = Serve({"--stem-cells", "0"});
  ASSERT_NE(port, 0);
  HttpClient c(port);
  ASSERT_EQ(c.Post(InvokePath("chatty"), "{}").status, 200) << Slurp(log_);
  ASSERT_EQ(c.Post(InvokePath("echo"), "{}").status, 200);
  const fs::path logs = Home() / "logs" / "chatty";
  auto logged = [&](const std::string& text) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(logs, ec)) {
      if (Slurp(e.path().string()).find(text) != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(WaitFor([&] { return logged("001999 "); })) << "no log file under " << logs;

  ASSERT_NO_FATAL_FAILURE(FillDisk(Home() / "filler"));
  for (int i = 0; i < 6; ++i) {
    auto r = c.Post(InvokePath("chatty"), "{}", {{"X-Amz-Log-Type", "Tail"}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(r.header("x-amz-log-result").empty());
  }
  EXPECT_EQ(c.Post(InvokePath("echo"), "{}").status, 200);
  ASSERT_TRUE(server_->Running()) << Slurp(log_);
  EXPECT_LT(RssKb(server_->pid()), kRssBoundKb) << "the gateway buffers what it cannot write";

  // Space again: writing resumes and says what was lost.
  fs::remove(Home() / "filler");
  ASSERT_EQ(c.Post(InvokePath("chatty"), "{}").status, 200);
  EXPECT_TRUE(WaitFor([&] { return logged("log lines dropped"); })) << "no note of the loss";
  EXPECT_EQ(server_->StopWith(SIGTERM, 15s), 0) << Slurp(log_);
}

TEST_F(ServeFaultTest, KilledGatewayLeavesNoWorkersAndItsSuccessorCleansUp) {
  ASSERT_FALSE(MlfaasMemoryCgroups().empty());
  ASSERT_EQ(Create("echo", Package(kPythonBootstrap)).exit_code, 0);
  uint16_t port = Serve({"--cgroups", "auto", "--stem-cells", "2"});
  ASSERT_NE(port, 0);
  const pid_t gateway = server_->pid();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      HttpClient c(port);
      while (!stop) {
        auto r = c.Post(InvokePath("echo"), R"({"action":"sleep","seconds":0.05})");
        if (r.status == 200) ++ok;
        if (r.status == 0) break;  // the gateway is gone
      }
    });
  }
  std::set<pid_t> workers;
  EXPECT_TRUE(WaitFor([&] { return ok >= 6 && WorkerPids(port).size() >= 2; }))
      << ok << " calls answered";
  for (pid_t p : WorkerPids(port)) workers.insert(p);
  for (pid_t p : ChildrenOf(gateway)) workers.insert(p);  // stem cells too
  const auto groups = GroupsOwnedBy(gateway);
  EXPECT_FALSE(groups.empty());
  server_->StopWith(SIGKILL, 15s);
  stop = true;
  for (auto& t : clients) t.join();

  for (pid_t p : workers) EXPECT_TRUE(WaitFor([&] { return Dead(p); })) << p << " outlived it";
  EXPECT_EQ(IntegrityCheck(), "ok\n");
  port = Serve({"--cgroups", "auto", "--stem-cells", "0"});
  ASSERT_NE(port, 0);
  for (const auto& g : groups) EXPECT_FALSE(fs::exists(g)) << g << " survived the restart";
  auto r = HttpClient(port).Post(InvokePath("echo"), "{}");
  EXPECT_EQ(r.status, 200) << r.body << Slurp(log_);
  EXPECT_EQ(server_->StopWith(SIGTERM, 15s), 0);
  EXPECT_TRUE(GroupsOwnedBy(server_->pid()).empty());
  EXPECT_EQ(IntegrityCheck(), "ok\n");
}

TEST_F(ServeFaultTest, CliKilledWhileWritingLeavesAConsistentRegistry) {
  auto pkgs = Packages(kPythonBootstrap, {0, 3u << 20, 3u << 20, 3u << 20});
  ASSERT_EQ(Create("base", pkgs[0]).exit_code, 0);
  // How long an uninterrupted write takes: the kills land anywhere in that window.
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Mlfaas({"function", "update-code", "base", "--package", pkgs[1].string()}).exit_code,
            0);
  const auto window = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  const unsigned seed = std::random_device{}();
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  // Kills land in the first half of that window, and the loop goes on (bounded) until ten
  // writes were really cut: how long a write takes varies with the machine's load.
  int interrupted = 0;
  for (int i = 0; i < 60 && interrupted < 10; ++i) {
    std::vector<std::string> argv = {MLFAAS_BIN, "--home", Home().string(), "function"};
    const std::string zip = pkgs[1 + i % 3].string();
    switch (i % 3) {
      case 0:
        argv.insert(argv.end(),
                    {"create", "f" + std::to_string(i), "--package", zip, "--runtime", "provided"});
        break;
      case 1:
        argv.insert(argv.end(), {"update-code", "base", "--package", zip});
        break;
      default:
        argv.insert(argv.end(), {"publish", "base"});
    }
    BackgroundProcess cli(argv, {}, (tmp_.path() / "cli.log").string());
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int64_t>(0, window.count() / 2)(rng)));
    const int status = cli.StopWith(SIGKILL, 10s);
    interrupted += WIFSIGNALED(status) ? 1 : 0;
  }
  RecordProperty("interrupted", std::to_string(interrupted));
  EXPECT_EQ(interrupted, 10) << "the kills missed the writes";

  EXPECT_EQ(IntegrityCheck(), "ok\n");
  auto list = Mlfaas({"function", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto functions = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(functions.is_array()) << list.out;
  std::vector<std::pair<std::string, std::string>> targets;
  for (const auto& f : functions) {
    const std::string name = f.value("name", "");
    auto versions = Mlfaas({"version", "list", name, "--json"});
    ASSERT_EQ(versions.exit_code, 0) << versions.err;
    for (const auto& v : json::parse(versions.out)) targets.emplace_back(name, v["version"]);
  }
  RecordProperty("versions_after_kills", std::to_string(targets.size()));
  RecordProperty("temp_files_left", std::to_string(TempFiles().size()));
  const uint16_t port = Serve({"--stem-cells", "0"});
  ASSERT_NE(port, 0);
  HttpClient c(port);
  for (const auto& [fn, version] : targets) {
    auto r = c.Post(InvokePath(fn, version == "$LATEST" ? "" : version), "{}");
    EXPECT_EQ(r.status, 200) << fn << ":" << version << " " << r.body;
  }
  EXPECT_EQ(server_->StopWith(SIGTERM, 15s), 0);
}

}  // namespace
}  // namespace mlfaas::testing
