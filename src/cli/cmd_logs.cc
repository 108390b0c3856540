// `mlfaas logs FUNCTION`: the function log, in the style of `aws logs tail`. Reads
// <home>/logs/<function>/ (gateway/base/log_reader.h), or with --remote the gateway's
// GET /v1/functions/{name}/logs, page by page; the same lines either way.
#include <signal.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/cli.h"
#include "cli/gateway_client.h"
#include "common/clock.h"
#include "common/json.h"
#include "gateway/base/log_reader.h"
#include "registry/registry.h"

namespace mlfaas::cli {
namespace {

using gateway::LogEvent;
using gateway::LogPage;
using gateway::LogQuery;

constexpr int64_t kFollowSettleMs = 1000;  // the route's too (logs_api.cc)
constexpr auto kPollEvery = std::chrono::milliseconds(500);

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnStopSignal(int) { g_stop = 1; }

// SIGINT/SIGTERM stop --follow cleanly while this lives.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

struct LogsArgs {
  std::string function;
  std::string since;
  bool follow = false;
  std::string request_id;
  std::string filter;
  bool json = false;
};

// One page from wherever the log is.
using PageSource = std::function<StatusOr<LogPage>(const LogQuery&, bool follow)>;

PageSource LocalSource(const CliContext& ctx, const std::string& function) {
  return [&ctx, function](const LogQuery& q, bool) -> StatusOr<LogPage> {
    auto page = gateway::ReadLogs(ctx.home / "logs", function, q);
    if (page.ok() || page.status().code() != StatusCode::kNotFound) return page;
    // No log dir yet: an existing function's log is empty.
    auto reg = registry::OpenRegistry(ctx.home, ctx.registry);
    if (reg.ok()) {
      auto f = (*reg)->GetFunction(function);
      if (f.ok()) return LogPage{{}, false, q.since_ms, q.skip};
      return f.status();
    }
    return NotFound("function '" + function + "' does not exist");
  };
}

PageSource RemoteSource(std::shared_ptr<GatewayClient> gw, const std::string& function) {
  return [gw, function](const LogQuery& q, bool follow) -> StatusOr<LogPage> {
    std::string target = "/v1/functions/" + UriEncode(function) +
                         "/logs?next_token=" + gateway::LogCursor(q.since_ms, q.skip) +
                         "&limit=" + std::to_string(q.limit);
    if (!q.request_id.empty()) target += "&request_id=" + UriEncode(q.request_id);
    if (!q.filter.empty()) target += "&filter=" + UriEncode(q.filter);
    if (follow) target += "&follow=true";
    MLFAAS_ASSIGN_OR_RETURN(nlohmann::json j, gw->Call("GET", target));
    LogPage page;
    const nlohmann::json* events = JsonField(j, "events");
    auto token = JsonString(j, "next_token");
    auto truncated = JsonBool(j, "truncated");
    if (!events || !events->is_array() || !token || !truncated ||
        !gateway::ParseLogCursor(*token, page.next_ms, page.next_skip)) {
      return Internal("the gateway's logs answer is malformed");
    }
    page.truncated = *truncated;
    for (const auto& e : *events) {
      LogEvent ev;
      if (!gateway::LogEventFromJson(e, ev)) return Internal("the gateway sent a malformed event");
      page.events.push_back(std::move(ev));
    }
    return page;
  };
}

Status RunLogs(const LogsArgs& a, const PageSource& source) {
  const int64_t now = SystemClock::Get().EpochMillis();
  LogQuery q;
  q.request_id = a.request_id;
  q.filter = a.filter;
  // Like `aws logs tail`: the last 10 minutes, unless looking for one request (then all kept).
  const std::string since = !a.since.empty() ? a.since : a.request_id.empty() ? "10m" : "";
  if (!since.empty()) {
    auto s = gateway::ParseSince(since, now);
    if (!s.ok()) return InvalidArgument("--since: " + s.status().message());
    q.since_ms = *s;
  }
  std::unique_ptr<StopSignals> signals;
  if (a.follow) signals = std::make_unique<StopSignals>();
  for (;;) {
    if (a.follow) q.until_ms = SystemClock::Get().EpochMillis() - kFollowSettleMs;
    MLFAAS_ASSIGN_OR_RETURN(LogPage page, source(q, a.follow));
    for (const auto& e : page.events) {
      std::cout << (a.json ? gateway::LogEventJson(e) : gateway::LogEventText(e)) << "\n";
    }
    std::cout << std::flush;
    q.since_ms = page.next_ms;
    q.skip = page.next_skip;
    if (page.truncated && !g_stop) continue;
    if (!a.follow) return Status::Ok();
    for (auto waited = std::chrono::milliseconds(0); waited < kPollEvery && !g_stop;
         waited += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (g_stop) return Status::Ok();
  }
}

}  // namespace

void RegisterLogsCommands(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<LogsArgs>();
  auto* cmd = app.add_subcommand(
      "logs",
      "Print a function's log (worker output and START/END/REPORT lines), like aws logs tail");
  cmd->add_option("function", args->function, "Function name")->required();
  cmd->add_option("--since", args->since,
                  "From this long ago (30s, 10m, 2h, 1d, 1w), an RFC 3339 UTC time or epoch ms "
                  "(default 10m; with --request-id, everything kept)")
      ->type_name("WHEN");
  cmd->add_flag("--follow,-f", args->follow,
                "Keep printing new lines until interrupted (SIGINT/SIGTERM)");
  cmd->add_option("--request-id", args->request_id,
                  "Only the lines of this invocation (its START/END/REPORT and output)")
      ->type_name("ID");
  cmd->add_option("--filter", args->filter, "Only lines whose text contains TEXT")
      ->type_name("TEXT");
  cmd->add_flag("--json", args->json, "Print the stored JSON objects, one per line");
  cmd->footer(
      "Lines print as \"<time> <stream> <text>\", oldest first. Reads <home>/logs/<function>/ "
      "(rotated files too), or with --remote the gateway's GET /v1/functions/{name}/logs "
      "(the read scope on the function).");
  cmd->callback([&ctx, args] {
    ctx.remote_capable = true;
    ctx.action = [&ctx, args]() -> Status {
      PageSource source;
      if (!ctx.remote.empty()) {
        MLFAAS_ASSIGN_OR_RETURN(auto gw, GatewayClient::ForRemote(ctx.remote));
        source = RemoteSource(std::shared_ptr<GatewayClient>(std::move(gw)), args->function);
      } else {
        source = LocalSource(ctx, args->function);
      }
      return RunLogs(*args, source);
    };
  });
}

}  // namespace mlfaas::cli
