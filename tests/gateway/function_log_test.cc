#include "gateway/function_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>
#include <vector>

#include "common/fs.h"

namespace mlfaas::gateway {
namespace {

std::vector<std::string> Lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(FunctionLogTest, LinesFromManyThreadsArriveWholeAndInOrder) {
  TempDir dir("mlfaas-function-log");
  const auto path = dir.path() / "logs" / "functions.log";  // the directory is created
  constexpr int kThreads = 4, kLines = 20000;               // > 256 KiB: the writer wakes early
  {
    auto log = FunctionLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kLines; ++i) {
          (*log)->Write("fn:" + std::to_string(t), "stream", "line " + std::to_string(i));
        }
      });
    }
    for (auto& th : threads) th.join();
    (*log)->Flush();
    EXPECT_EQ(Lines(path).size(), size_t{kThreads} * kLines);  // Flush wrote everything
    (*log)->Write("fn:0", "stream", "after the flush");
  }  // the destructor writes the rest
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), size_t{kThreads} * kLines + 1);
  const std::regex re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z fn:(\d) stream (.*))");
  std::vector<int> next(kThreads, 0);
  for (const auto& l : lines) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, re)) << l;
    int t = std::stoi(m[1]);
    if (m[2] == "after the flush") continue;
    EXPECT_EQ(m[2], "line " + std::to_string(next[t]++)) << "thread " << t << " out of order";
  }
  EXPECT_EQ(lines.back().substr(25), "fn:0 stream after the flush");
}

TEST(FunctionLogTest, OpenFailsWithAClearError) {
  auto log = FunctionLog::Open("/proc/no-such-dir/functions.log");
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("cannot open /proc/no-such-dir/functions.log"),
            std::string::npos)
      << log.status().message();
}

}  // namespace
}  // namespace mlfaas::gateway
