// `mlfaas serve` (the gateway) and `mlfaas status` (asks a running gateway for /v1/status).
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "auth/auth_store.h"
#include "cli/cli.h"
#include "cli/gateway_client.h"
#include "gateway/base/code_store.h"
#include "gateway/gateway.h"
#include "registry/registry.h"
#include "registry/training_store.h"
#include "sandbox/cgroups.h"
#include "sandbox/isolation.h"

namespace mlfaas::cli {
namespace {

struct ServeFlags {
  gateway::GatewayOptions options;
  std::string runtime_bin;
  int idle_timeout = -1;
  double grace_s = 10;
  int64_t log_retention_mb = 256;
  std::string uid_range = "100000-165535";
  bool insecure_no_auth = false;
  int tick_ms = 0;  // 0: GatewayOptions' default (1 s)
};

// Authentication follows the address (docs/security.md): on loopback it is on once any key
// exists; on any other address always, and serving there without a key is refused unless the
// operator says --insecure-no-auth. Says at start-up which it is.
StatusOr<auth::AuthMode> ChooseAuth(const std::string& host, uint16_t port, bool insecure,
                                    auth::AuthStore& store) {
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument("--host '" + host + "' is not an IP address");
  MLFAAS_ASSIGN_OR_RETURN(auto keys, store.ListKeys());
  const size_t active = static_cast<size_t>(
      std::count_if(keys.begin(), keys.end(), [](const auth::ApiKey& k) { return k.active(); }));
  if (insecure) {
    spdlog::warn(
        "AUTHENTICATION DISABLED (--insecure-no-auth): anyone who can reach {}:{} may invoke "
        "every function and read every status",
        host, port);
    std::cerr << "mlfaas: WARNING: authentication disabled (--insecure-no-auth)" << std::endl;
    return auth::AuthMode::kDisabled;
  }
  if (!addr.is_loopback()) {
    if (keys.empty()) {
      return FailedPrecondition(
          "refusing to serve on " + host +
          " without authentication: no API key exists. Create one first (mlfaas key create "
          "--name NAME --scope 'invoke:*'), or pass --insecure-no-auth to let anyone who "
          "reaches the port invoke every function");
    }
    spdlog::info("authentication on: {} active key(s) (non-loopback address)", active);
    return auth::AuthMode::kRequired;
  }
  if (keys.empty()) {
    spdlog::warn(
        "authentication off: no API key exists, so any local process may invoke and read "
        "status. `mlfaas key create` turns it on");
  } else {
    spdlog::info("authentication on: {} active key(s)", active);
  }
  return auth::AuthMode::kAuto;
}

// Relaxed isolation has no mount namespace: a function's uid reaches its code only through the
// host's paths, so every directory above the code must be searchable by others (o+x). The home is
// made so here (search only: others still cannot list it or read the database or the server
// key, which are 0600); the directories above it are the operator's, and are only warned about.
void OpenCodePathForRelaxed(const std::filesystem::path& home) {
  std::error_code ec;
  struct stat home_st;
  if (stat(home.c_str(), &home_st) == 0 && !(home_st.st_mode & S_IXOTH)) {
    if (chmod(home.c_str(), (home_st.st_mode & 07777) | S_IXOTH) == 0) {
      spdlog::info(
          "isolation relaxed: {} made searchable by others (o+x) for functions to reach "
          "their code",
          home.string());
    }
  }
  std::filesystem::path dir = std::filesystem::absolute(home / "code", ec);
  for (; !ec && !dir.empty(); dir = dir.parent_path()) {
    struct stat st;
    if (stat(dir.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) {
      spdlog::warn(
          "isolation relaxed: {} is not searchable by others (chmod o+x): custom "
          "runtimes will not reach their code",
          dir.string());
      return;
    }
    if (dir == dir.root_path()) return;
  }
}

Status RunServe(const CliContext& ctx, ServeFlags flags) {
  auto& o = flags.options;
  if (o.cgroups != "auto" && o.cgroups != "off") {
    return InvalidArgument("--cgroups must be auto or off");
  }
  if (!sandbox::ParseIsolation(o.isolation)) {
    return InvalidArgument("--isolation must be strict, relaxed or off");
  }
  if (o.cgroups == "off") {
    if (o.isolation != "off") {
      spdlog::warn("--cgroups off is deprecated: it means --isolation off now");
    }
    o.isolation = "off";
  }
  MLFAAS_ASSIGN_OR_RETURN(o.uids, sandbox::ParseUidRange(flags.uid_range));
  if (o.max_instances < 1) return InvalidArgument("--max-instances must be >= 1");
  if (o.worker_transport != "socket" && o.worker_transport != "http") {
    return InvalidArgument("--worker-transport must be socket or http");
  }
  if (o.stem_cells < 0 || o.stem_cells > 64) {
    return InvalidArgument("--stem-cells must be between 0 and 64");
  }
  if (flags.grace_s < 0) return InvalidArgument("--grace must be >= 0");
  if (flags.log_retention_mb < 1 || flags.log_retention_mb > (int64_t{1} << 30)) {
    return InvalidArgument("--log-retention-mb must be between 1 and 1073741824");
  }
  o.log_retention_bytes = static_cast<uint64_t>(flags.log_retention_mb) << 20;
  o.runtime_bin = flags.runtime_bin.empty() ? ctx.self_exe.parent_path() / "mlfaas-runtime"
                                            : std::filesystem::path(flags.runtime_bin);
  if (flags.idle_timeout >= 0) o.idle_timeout_s = flags.idle_timeout;
  if (flags.tick_ms < 0 || flags.tick_ms > 60000) {
    return InvalidArgument("--tick-ms must be between 1 and 60000");
  }
  if (flags.tick_ms > 0) o.tick_interval = std::chrono::milliseconds(flags.tick_ms);
  o.grace = std::chrono::milliseconds(static_cast<int64_t>(flags.grace_s * 1000));
  o.log_dir = ctx.home / "logs";
  MLFAAS_ASSIGN_OR_RETURN(auto registry, registry::OpenRegistry(ctx.home, ctx.registry));
  MLFAAS_ASSIGN_OR_RETURN(auto keys, auth::AuthStore::Open(ctx.home));
  MLFAAS_ASSIGN_OR_RETURN(o.auth_mode, ChooseAuth(o.host, o.port, flags.insecure_no_auth, *keys));
  o.keys = keys.get();
  o.store = keys.get();
  MLFAAS_ASSIGN_OR_RETURN(auto usage, registry::UsageStore::Open(ctx.home));
  o.usage = usage.get();
  MLFAAS_ASSIGN_OR_RETURN(auto training,
                          registry::TrainingStore::Open(ctx.home, SystemClock::Get()));
  o.training = training.get();
  // Automatic retraining runs this executable: `mlfaas retrain` (retrain_scheduler.h).
  o.retrain_exe = ctx.self_exe;
  o.home = ctx.home;
  o.registry_location = ctx.registry;
  gateway::ExtractingCodeStore code(*registry, ctx.home);

  // SIGTERM/SIGINT (stop) and SIGHUP (reopen the log files) are handled by sigwait on this
  // thread: block them before any thread starts (workers get a clean mask in the launcher).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  gateway::Gateway gw(o, *registry, code);
  if (gw.isolation() == sandbox::Isolation::kRelaxed) OpenCodePathForRelaxed(ctx.home);
  MLFAAS_RETURN_IF_ERROR(gw.Start());
  spdlog::info("listening on http://{}:{}", o.host, gw.port());
  std::cout << "listening on http://" << o.host << ":" << gw.port() << std::endl;
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    spdlog::info("received SIGHUP, reopening the function log files");
    gw.ReopenLogs();
  }
  spdlog::info("received {}, shutting down (grace {} s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               flags.grace_s);
  gw.Shutdown();
  spdlog::info("stopped");
  return Status::Ok();
}

// GET /v1/status of the gateway at --remote, signed with the environment's credentials (as every
// --remote command), or else at --endpoint, authenticated as the local CLI (a token derived from
// the home's server key) when the home has one. A gateway serving this home accepts that token;
// one serving another home does not (and then says it needs a key). The token never goes to a
// --remote gateway: whoever runs that one could use it on this home's gateway.
StatusOr<nlohmann::json> FetchStatus(const CliContext& ctx, const std::string& endpoint,
                                     bool endpoint_given) {
  if (ctx.remote_flag && endpoint_given) {
    return InvalidArgument("status: give --remote or --endpoint, not both");
  }
  std::unique_ptr<GatewayClient> gateway;
  if (!ctx.remote.empty() && !endpoint_given) {
    MLFAAS_ASSIGN_OR_RETURN(gateway, GatewayClient::ForRemote(ctx.remote));
  } else {
    MLFAAS_ASSIGN_OR_RETURN(HttpEndpoint ep, ParseHttpUrl(endpoint));
    GatewayAuth local;
    if (auto store = auth::AuthStore::Open(ctx.home); store.ok()) {
      if (auto token = (*store)->LocalToken()) local.bearer = "mlfaas-local:" + *token;
    }
    gateway = std::make_unique<GatewayClient>(std::move(ep), std::move(local));
  }
  return gateway->Call("GET", "/v1/status");
}

Status RunStatus(const CliContext& ctx, const std::string& endpoint, bool endpoint_given,
                 bool as_json) {
  MLFAAS_ASSIGN_OR_RETURN(nlohmann::json j, FetchStatus(ctx, endpoint, endpoint_given));
  if (!j.is_object()) return Internal("gateway returned invalid JSON");
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return Status::Ok();
  }
  std::cout << "instances: " << j.value("live_instances", 0) << "/" << j.value("max_instances", 0)
            << "  in flight: " << j.value("in_flight", 0)
            << "  stem cells ready: " << j.value("stem_cells_ready", 0)
            << "  queued events: " << j.value("queued_events", 0) << "\n";
  for (const auto& f : j["functions"]) {
    for (const auto& v : f["versions"]) {
      std::cout << f["name"].get<std::string>() << ":" << v["version"].get<std::string>()
                << "  invocations " << v["invocations"] << "  cold starts " << v["cold_starts"]
                << "  memory " << v["memory_mb"] << " MB\n";
      for (const auto& i : v["instances"]) {
        std::printf("  #%-4d %-9s pid %-7d age %8.1f s  served %lld\n", i["id"].get<int>(),
                    i["state"].get<std::string>().c_str(), i["pid"].get<int>(),
                    i["age_s"].get<double>(),
                    static_cast<long long>(i["invocations"].get<int64_t>()));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

// `mlfaas doctor`: what this machine offers for isolating instances, and the level `serve` uses.
Status RunDoctor(bool as_json, const std::string& require) {
  std::optional<sandbox::Isolation> required;
  if (!require.empty()) {
    required = sandbox::ParseIsolation(require);
    if (!required) return InvalidArgument("--require must be strict, relaxed or off");
  }
  const sandbox::Cgroups cgroups = sandbox::Cgroups::Detect("auto");
  const sandbox::IsolationProbe p = sandbox::ProbeIsolation(cgroups.enabled(), cgroups.reason());
  const sandbox::Isolation level = p.strongest();
  const char* version = cgroups.version() == sandbox::Cgroups::Version::kV2   ? "v2"
                        : cgroups.version() == sandbox::Cgroups::Version::kV1 ? "v1"
                                                                              : "none";
  if (as_json) {
    nlohmann::json j = {{"root", p.root},
                        {"namespaces", p.namespaces},
                        {"seccomp", p.seccomp},
                        {"cgroups", p.cgroups},
                        {"cgroups_version", version},
                        {"pids_controller", cgroups.pids()},
                        {"missing", p.missing},
                        {"isolation", sandbox::IsolationName(level)}};
    std::cout << j.dump(2) << "\n";
  } else {
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    std::cout << "root              " << yes(p.root) << "\n"
              << "namespaces        " << yes(p.namespaces) << " (mount, pid, ipc, uts, network)\n"
              << "seccomp           " << yes(p.seccomp) << "\n"
              << "cgroups           " << yes(p.cgroups) << " (" << version
              << (cgroups.pids() ? ": memory, cpu, pids"
                  : p.cgroups    ? ": memory, cpu"
                                 : "")
              << ")\n";
    for (const auto& m : p.missing) std::cout << "  missing: " << m << "\n";
    std::cout << "isolation         " << sandbox::IsolationName(level)
              << " (what `mlfaas serve` uses by default here)\n";
  }
  if (required && level < *required) {
    return FailedPrecondition(std::string("isolation ") + sandbox::IsolationName(*required) +
                              " required, this machine offers " + sandbox::IsolationName(level));
  }
  return Status::Ok();
}

void RegisterServeCommands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<ServeFlags>();
  auto* serve = app.add_subcommand(
      "serve", "Run the gateway (Lambda Invoke API, TF-Serving, KServe V2) over worker instances");
  auto& o = flags->options;
  serve->add_option("--host", o.host, "Listen address")->capture_default_str();
  serve->add_option("--port", o.port, "Listen port (0 = any free port)")->capture_default_str();
  serve->add_option("--max-instances", o.max_instances, "Global cap on worker instances")
      ->capture_default_str();
  serve->add_option("--threads", o.threads, "I/O threads (0 = half the cores, at least 1)")
      ->capture_default_str();
  serve->add_option("--runtime-bin", flags->runtime_bin,
                    "Built-in worker executable (default: mlfaas-runtime beside mlfaas)");
  o.stem_cells = 4;
  serve
      ->add_option("--stem-cells", o.stem_cells,
                   "Generic workers kept started (in their own cgroups) for cold starts to take")
      ->capture_default_str();
  serve
      ->add_option("--worker-transport", o.worker_transport,
                   "Built-in runtime channel: socket (worker protocol) | http (Runtime API)")
      ->capture_default_str();
  serve
      ->add_option("--isolation", o.isolation,
                   "How instances are confined: strict | relaxed | off (see `mlfaas doctor`)")
      ->capture_default_str();
  serve
      ->add_option("--uid-range", flags->uid_range,
                   "Host uids instances run as, one each: FIRST-LAST")
      ->capture_default_str();
  serve
      ->add_option("--cgroups", o.cgroups,
                   "Deprecated: 'off' is --isolation off (limits come with the isolation level)")
      ->capture_default_str();
  serve->add_option("--idle-timeout", flags->idle_timeout,
                    "Reap idle instances after S seconds (overrides every function's setting)");
  serve->add_option("--grace", flags->grace_s, "Seconds in-flight work may finish on shutdown")
      ->capture_default_str();
  serve->add_option("--event-queue", o.event_queue_limit, "Max queued Event invocations")
      ->capture_default_str();
  serve
      ->add_option("--log-retention-mb", flags->log_retention_mb,
                   "Function log kept per function (<home>/logs/<function>/), oldest deleted first")
      ->capture_default_str();
  serve->add_flag("--insecure-no-auth", flags->insecure_no_auth,
                  "Serve without authentication, even on a non-loopback address (loudly)");
  // A test hook, not in --help: the maintenance tick (reaping, key reloads, usage flushes,
  // retrain and canary decisions), 1000 ms unless given. Tests of what a tick decides set it
  // short, to wait for the decision rather than for the next tick.
  serve->add_option("--tick-ms", flags->tick_ms, "Maintenance tick in ms (tests)")->group("");
  serve->callback([&ctx, flags] { ctx.action = [&ctx, flags] { return RunServe(ctx, *flags); }; });

  auto doctor_json = std::make_shared<bool>(false);
  auto require = std::make_shared<std::string>();
  auto* doctor = app.add_subcommand(
      "doctor", "Show what this machine offers for isolating instances and the level serve uses");
  doctor->add_flag("--json", *doctor_json, "Print JSON");
  doctor->add_option("--require", *require,
                     "Exit non-zero unless this level is available: strict | relaxed | off");
  doctor->callback([&ctx, doctor_json, require] {
    ctx.action = [doctor_json, require] { return RunDoctor(*doctor_json, *require); };
  });

  auto endpoint = std::make_shared<std::string>("http://127.0.0.1:9000");
  auto as_json = std::make_shared<bool>(false);
  auto* status = app.add_subcommand("status", "Show a running gateway's functions and instances");
  CLI::Option* endpoint_opt =
      status->add_option("--endpoint", *endpoint, "Gateway URL (--remote, when given, instead)")
          ->capture_default_str();
  status->add_flag("--json", *as_json, "Print the raw JSON");
  status->callback([&ctx, endpoint, endpoint_opt, as_json] {
    ctx.remote_capable = true;
    const bool endpoint_given = endpoint_opt->count() > 0;
    ctx.action = [&ctx, endpoint, endpoint_given, as_json] {
      return RunStatus(ctx, *endpoint, endpoint_given, *as_json);
    };
  });
}

}  // namespace mlfaas::cli
