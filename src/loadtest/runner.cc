#include "loadtest/runner.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <thread>

#include "loadtest/schedule.h"
#include "loadtest/session.h"

namespace mlfaas::loadtest {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto kDrainLag = std::chrono::milliseconds(20);  // late Record() calls for a second
constexpr auto kStopGrace = std::chrono::seconds(2);

class IoPool {
 public:
  explicit IoPool(int n) {
    for (int i = 0; i < n; ++i) {
      ios_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*ios_.back()));
    }
    for (auto& io : ios_) threads_.emplace_back([&io] { io->run(); });
  }
  ~IoPool() { Stop(); }
  void Stop() {
    for (auto& io : ios_) io->stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  asio::io_context& at(size_t i) { return *ios_[i % ios_.size()]; }

 private:
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

class Runner {
 public:
  Runner(const Plan& plan, const RunOptions& opts)
      : plan_(plan), opts_(opts), eval_(plan.criteria) {
    for (int i = 0; i < opts.threads; ++i)
      recorders_.push_back(std::make_unique<Recorder>(opts.keep_samples));
  }

  StatusOr<RunResult> Run() {
    std::vector<std::unique_ptr<StageShared>> shared;
    for (const Stage& st : plan_.stages) {
      MLFAAS_ASSIGN_OR_RETURN(auto s, Prepare(st));
      shared.push_back(std::move(s));
    }
    start_ = Clock::now();
    {
      IoPool pool(opts_.threads);
      for (auto& s : shared) {
        if (stop_.load()) break;
        RunStage(pool, *s);
      }
      pool.Stop();  // sessions die before `shared`
    }
    return Finish();
  }

 private:
  StatusOr<std::unique_ptr<StageShared>> Prepare(const Stage& st) {
    auto s = std::make_unique<StageShared>();
    s->stage = &st;
    s->scenario = &plan_.scenarios.at(st.scenario);
    s->time_scale = opts_.time_scale;
    s->pace_per_second = st.open_loop() ? st.rate : st.throughput;
    s->measure_from_intended = st.open_loop();
    s->stop = &stop_;
    s->active_users = &active_;
    s->on_done = [this] {
      std::lock_guard lock(mu_);
      --live_sessions_;
      cv_.notify_all();
    };
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    for (const RequestSpec& r : s->scenario->requests) {
      boost::system::error_code ec;
      auto results = resolver.resolve(r.url.host, r.url.port, ec);
      if (ec) return InvalidArgument("cannot resolve " + r.url_text + ": " + ec.message());
      s->endpoints.push_back(results);
      s->wire.push_back(SerializeRequest(r));
    }
    return s;
  }

  void RunStage(IoPool& pool, StageShared& s) {
    const Stage& st = *s.stage;
    WaitUntil(Clock::now() + Scaled(st.delay, opts_.time_scale), [] { return false; });
    s.run_start = start_;
    s.stage_start = Clock::now();
    if (auto len = StageLength(st, opts_.time_scale); len && !st.timeline())
      s.stage_end = s.stage_start + *len;
    const int users = st.timeline() ? 1 : st.concurrency;
    {
      std::lock_guard lock(mu_);
      live_sessions_ = users;
    }
    for (int i = 0; i < users; ++i) {
      asio::post(pool.at(i), [&s, &pool, this, i] {
        StartSession(pool.at(i), s, *recorders_[i % recorders_.size()], i);
      });
    }
    std::optional<Clock::time_point> stop_seen;
    WaitUntil(Clock::time_point::max(), [&] {
      if (stop_.load() && !stop_seen) stop_seen = Clock::now();
      return live_sessions_ == 0 || (stop_seen && Clock::now() - *stop_seen > kStopGrace);
    });
  }

  // Waits for `done` (checked under mu_) or `until`, ticking once per second meanwhile.
  template <typename Pred>
  void WaitUntil(Clock::time_point until, Pred done) {
    std::unique_lock lock(mu_);
    while (!done() && Clock::now() < until) {
      const auto next_tick = start_ + std::chrono::seconds(next_second_ + 1) + kDrainLag;
      cv_.wait_until(lock, std::min(until, next_tick));
      if (Clock::now() >= next_tick) {
        lock.unlock();
        Tick(next_second_ + 1);
        lock.lock();
      }
    }
  }

  // Closes every second < `upto`.
  void Tick(int64_t upto) {
    std::map<int64_t, SecondStats> drained;
    for (auto& r : recorders_) r->DrainBefore(upto, drained);
    for (int64_t sec = next_second_; sec < upto; ++sec) {
      const SecondStats& ss = drained[sec];
      KpiRow row = MakeKpiRow(sec, active_.load(), ss);
      result_.kpi.push_back(row);
      result_.total.Merge(ss);
      if (eval_.OnSecond(sec, ss.window)) {
        stop_.store(true);
        result_.stopped_early = true;
      }
      if (opts_.live) *opts_.live << LiveLine(row) << std::endl;
    }
    next_second_ = upto;
  }

  RunResult Finish() {
    const auto elapsed = Clock::now() - start_;
    const int64_t last = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count() + 1;
    Tick(std::max(last, next_second_));
    eval_.Finish(result_.total.window);
    result_.criteria = eval_.results();
    result_.failed = eval_.Failed();
    result_.elapsed_s = std::chrono::duration<double>(elapsed).count();
    result_.time_scale = opts_.time_scale;
    result_.plan_name = opts_.name;
    for (auto& r : recorders_) {
      auto s = r->TakeSamples();
      result_.samples.insert(result_.samples.end(), s.begin(), s.end());
    }
    std::sort(result_.samples.begin(), result_.samples.end(),
              [](const Sample& a, const Sample& b) { return a.done_ns < b.done_ns; });
    return std::move(result_);
  }

  const Plan& plan_;
  const RunOptions& opts_;
  CriteriaEvaluator eval_;
  std::vector<std::unique_ptr<Recorder>> recorders_;
  std::atomic<bool> stop_{false};
  std::atomic<int> active_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int live_sessions_ = 0;  // guarded by mu_
  Clock::time_point start_;
  int64_t next_second_ = 0;  // control thread only
  RunResult result_;
};

}  // namespace

StatusOr<RunResult> RunPlan(const Plan& plan, const RunOptions& options) {
  if (options.time_scale <= 0) return InvalidArgument("--time-scale must be > 0");
  if (options.threads < 1 || options.threads > 16) return InvalidArgument("threads must be 1..16");
  Runner runner(plan, options);
  return runner.Run();
}

std::string LiveLine(const KpiRow& r) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%5llds  users %3d  hits/s %6lld  avg %8.2fms  p99 %8.2fms  max %8.2fms  err %lld  "
                "cold %lld",
                static_cast<long long>(r.second + 1), r.users, static_cast<long long>(r.hits),
                r.avg_ms, r.p99_ms, r.max_ms, static_cast<long long>(r.errors),
                static_cast<long long>(r.cold_starts));
  return buf;
}

}  // namespace mlfaas::loadtest
