#include "loadtest/plan_parser.h"

#include <algorithm>

#include "common/fs.h"
#include "common/json.h"
#include "loadtest/yaml_util.h"

namespace mlfaas::loadtest {
namespace {

using yamlutil::Reader;

struct Ctx {
  Reader r;
  std::filesystem::path base_dir;
};

Status ParseAsserts(const Ctx& ctx, const YAML::Node& list, RequestSpec& req) {
  if (!(list.IsDefined() && list.IsSequence()))
    return ctx.r.Error(list, "assert", "expected a list");
  for (const auto& a : list) {
    ContainsAssertion ca;
    if (a.IsDefined() && a.IsScalar()) {
      ca.contains.push_back(a.Scalar());
    } else {
      MLFAAS_RETURN_IF_ERROR(
          ctx.r.KnownKeys(a, "assert", {"contains", "subject", "not", "regexp"}));
      const YAML::Node c = a["contains"];
      if (c.IsDefined() && c.IsSequence()) {
        for (const auto& s : c) ca.contains.push_back(s.Scalar());
      } else {
        MLFAAS_ASSIGN_OR_RETURN(std::string s, ctx.r.String(c, "assert.contains"));
        ca.contains.push_back(s);
      }
      if (a["subject"]) {
        MLFAAS_ASSIGN_OR_RETURN(std::string subj, ctx.r.String(a["subject"], "assert.subject"));
        if (subj != "body" && subj != "http-code") {
          return ctx.r.Error(a["subject"], "assert.subject", "expected body or http-code");
        }
        ca.subject = subj == "body" ? ContainsAssertion::Subject::kBody
                                    : ContainsAssertion::Subject::kHttpCode;
      }
      if (a["not"]) {
        MLFAAS_ASSIGN_OR_RETURN(ca.invert, ctx.r.Bool(a["not"], "assert.not"));
      }
    }
    req.asserts.push_back(std::move(ca));
  }
  return Status::Ok();
}

Status ParseJsonAsserts(const Ctx& ctx, const YAML::Node& list, RequestSpec& req) {
  if (!(list.IsDefined() && list.IsSequence()))
    return ctx.r.Error(list, "assert-jsonpath", "expected a list");
  for (const auto& a : list) {
    JsonAssertion ja;
    if (a.IsDefined() && a.IsScalar()) {
      ja.path = a.Scalar();
    } else {
      MLFAAS_RETURN_IF_ERROR(ctx.r.KnownKeys(a, "assert-jsonpath",
                                             {"jsonpath", "expected-value", "invert", "validate"}));
      MLFAAS_ASSIGN_OR_RETURN(ja.path, ctx.r.String(a["jsonpath"], "assert-jsonpath.jsonpath"));
      // DumpJson, not dump(): invalid UTF-8 in the YAML becomes U+FFFD instead of throwing.
      if (a["expected-value"]) ja.expected = DumpJson(yamlutil::ToJson(a["expected-value"]));
      if (a["invert"]) {
        MLFAAS_ASSIGN_OR_RETURN(ja.invert, ctx.r.Bool(a["invert"], "invert"));
      }
    }
    if (ja.path.rfind("$", 0) != 0) {
      return ctx.r.Error(a, "assert-jsonpath", "expected a path starting with '$', e.g. $.a.b");
    }
    req.json_asserts.push_back(std::move(ja));
  }
  return Status::Ok();
}

Status ParseHeaders(const Ctx& ctx, const YAML::Node& n, RequestSpec& req) {
  if (!(n.IsDefined() && n.IsMap()))
    return ctx.r.Error(n, "headers", "expected a map of name: value");
  for (const auto& kv : n) {
    MLFAAS_ASSIGN_OR_RETURN(std::string v, ctx.r.String(kv.second, "headers." + kv.first.Scalar()));
    req.headers.emplace_back(kv.first.Scalar(), v);
  }
  return Status::Ok();
}

Status ParseBody(const Ctx& ctx, const YAML::Node& n, RequestSpec& req) {
  if (n["body"] && n["body-file"]) {
    return ctx.r.Error(n["body-file"], "body-file", "give either body or body-file, not both");
  }
  if (const YAML::Node b = n["body"]) {
    req.body = (b.IsDefined() && b.IsScalar()) ? b.Scalar() : DumpJson(yamlutil::ToJson(b));
  } else if (const YAML::Node f = n["body-file"]) {
    MLFAAS_ASSIGN_OR_RETURN(std::string rel, ctx.r.String(f, "body-file"));
    auto bytes = ReadFile(ctx.base_dir / rel);
    if (!bytes.ok()) return ctx.r.Error(f, "body-file", bytes.status().message());
    req.body = std::move(*bytes);
  }
  return Status::Ok();
}

StatusOr<RequestSpec> ParseRequest(const Ctx& ctx, const YAML::Node& n, const RequestSpec& dflt) {
  RequestSpec req = dflt;
  YAML::Node url_node = n;
  if (!(n.IsDefined() && n.IsScalar())) {
    MLFAAS_RETURN_IF_ERROR(
        ctx.r.KnownKeys(n, "request",
                        {"url", "method", "headers", "body", "body-file", "think-time", "timeout",
                         "assert", "assert-jsonpath", "label"}));
    url_node.reset(n["url"]);
    if (n["method"]) {
      MLFAAS_ASSIGN_OR_RETURN(req.method, ctx.r.String(n["method"], "method"));
    }
    if (n["headers"]) MLFAAS_RETURN_IF_ERROR(ParseHeaders(ctx, n["headers"], req));
    MLFAAS_RETURN_IF_ERROR(ParseBody(ctx, n, req));
    if (n["think-time"]) {
      MLFAAS_ASSIGN_OR_RETURN(req.think_time, ctx.r.Dur(n["think-time"], "think-time"));
    }
    if (n["timeout"]) {
      MLFAAS_ASSIGN_OR_RETURN(req.timeout, ctx.r.Dur(n["timeout"], "timeout"));
    }
    if (n["assert"]) MLFAAS_RETURN_IF_ERROR(ParseAsserts(ctx, n["assert"], req));
    if (n["assert-jsonpath"])
      MLFAAS_RETURN_IF_ERROR(ParseJsonAsserts(ctx, n["assert-jsonpath"], req));
  }
  MLFAAS_ASSIGN_OR_RETURN(req.url_text, ctx.r.String(url_node, "url"));
  auto url = ParseUrl(req.url_text);
  if (!url.ok()) return ctx.r.Error(url_node, "url", url.status().message());
  req.url = *url;
  if (req.timeout.count() <= 0) return ctx.r.Error(n, "timeout", "expected > 0");
  return req;
}

StatusOr<Scenario> ParseScenario(const Ctx& ctx, const std::string& name, const YAML::Node& n) {
  MLFAAS_RETURN_IF_ERROR(ctx.r.KnownKeys(
      n, "scenario '" + name + "'",
      {"requests", "headers", "think-time", "timeout", "keepalive", "default-address"}));
  RequestSpec dflt;
  if (n["headers"]) MLFAAS_RETURN_IF_ERROR(ParseHeaders(ctx, n["headers"], dflt));
  if (n["think-time"]) {
    MLFAAS_ASSIGN_OR_RETURN(dflt.think_time, ctx.r.Dur(n["think-time"], "think-time"));
  }
  if (n["timeout"]) {
    MLFAAS_ASSIGN_OR_RETURN(dflt.timeout, ctx.r.Dur(n["timeout"], "timeout"));
  }
  const YAML::Node reqs = n["requests"];
  if (!(reqs.IsDefined() && reqs.IsSequence()) || reqs.size() == 0) {
    return ctx.r.Error(reqs.IsDefined() ? reqs : n, "scenario '" + name + "'.requests",
                       "expected a non-empty list of requests");
  }
  Scenario s;
  s.name = name;
  for (const auto& r : reqs) {
    MLFAAS_ASSIGN_OR_RETURN(RequestSpec req, ParseRequest(ctx, r, dflt));
    s.requests.push_back(std::move(req));
  }
  return s;
}

Status ParseStageTiming(const Ctx& ctx, const YAML::Node& n, Stage& st) {
  if (n["concurrency"]) {
    MLFAAS_ASSIGN_OR_RETURN(int64_t c, ctx.r.Int(n["concurrency"], "concurrency", 1));
    st.concurrency = static_cast<int>(std::min<int64_t>(c, 100000));
  }
  if (n["ramp-up"]) {
    MLFAAS_ASSIGN_OR_RETURN(st.ramp_up, ctx.r.Dur(n["ramp-up"], "ramp-up"));
  }
  if (n["hold-for"]) {
    MLFAAS_ASSIGN_OR_RETURN(st.hold_for, ctx.r.Dur(n["hold-for"], "hold-for"));
  }
  if (n["delay"]) {
    MLFAAS_ASSIGN_OR_RETURN(st.delay, ctx.r.Dur(n["delay"], "delay"));
  }
  if (n["steps"]) {
    MLFAAS_ASSIGN_OR_RETURN(int64_t s, ctx.r.Int(n["steps"], "steps", 1));
    st.steps = static_cast<int>(std::min<int64_t>(s, st.concurrency));
  }
  if (n["iterations"]) {
    MLFAAS_ASSIGN_OR_RETURN(st.iterations, ctx.r.Int(n["iterations"], "iterations", 1));
  }
  if (n["throughput"]) {
    MLFAAS_ASSIGN_OR_RETURN(st.throughput, ctx.r.Number(n["throughput"], "throughput"));
  }
  if (n["rate"]) {
    MLFAAS_ASSIGN_OR_RETURN(st.rate, ctx.r.Number(n["rate"], "rate"));
  }
  if (const YAML::Node at = n["at"]) {
    if (!(at.IsDefined() && at.IsSequence()) || at.size() == 0)
      return ctx.r.Error(at, "at", "expected a list of offsets, e.g. [0m, 6m]");
    for (const auto& item : at) {
      MLFAAS_ASSIGN_OR_RETURN(Duration d, ctx.r.Dur(item, "at"));
      if (!st.at.empty() && d < st.at.back())
        return ctx.r.Error(item, "at", "expected offsets in increasing order");
      st.at.push_back(d);
    }
  }
  return Status::Ok();
}

StatusOr<Stage> ParseStage(const Ctx& ctx, const YAML::Node& n, const Plan& plan) {
  MLFAAS_RETURN_IF_ERROR(
      ctx.r.KnownKeys(n, "execution item",
                      {"concurrency", "ramp-up", "hold-for", "iterations", "throughput", "steps",
                       "delay", "scenario", "rate", "at", "executor"}));
  Stage st;
  MLFAAS_RETURN_IF_ERROR(ParseStageTiming(ctx, n, st));
  MLFAAS_ASSIGN_OR_RETURN(st.scenario, ctx.r.String(n["scenario"], "execution item.scenario"));
  if (!plan.scenarios.count(st.scenario)) {
    return ctx.r.Error(n["scenario"], "scenario",
                       "expected the name of a scenario defined under 'scenarios'");
  }
  if (st.timeline() && (st.rate > 0 || st.concurrency > 1 || st.ramp_up.count() > 0)) {
    return ctx.r.Error(n["at"], "at",
                       "timeline mode sends from one user: drop concurrency, ramp-up and rate");
  }
  if (!st.timeline() && st.ramp_up.count() == 0 && st.hold_for.count() == 0 && st.iterations == 0) {
    return ctx.r.Error(n, "execution item",
                       "expected hold-for, ramp-up, iterations or at (the run would be empty)");
  }
  return st;
}

Status ParseReporting(const Ctx& ctx, const YAML::Node& n, Plan& plan) {
  if (!(n.IsDefined() && n.IsSequence()))
    return ctx.r.Error(n, "reporting", "expected a list of modules");
  for (const auto& m : n) {
    MLFAAS_RETURN_IF_ERROR(ctx.r.KnownKeys(m, "reporting item", {"module", "criteria"}));
    MLFAAS_ASSIGN_OR_RETURN(std::string mod, ctx.r.String(m["module"], "reporting.module"));
    if (mod != "passfail") {
      if (mod == "final-stats" || mod == "console" || mod == "junit-xml") continue;
      return ctx.r.Error(m["module"], "module",
                         "expected passfail, final-stats, console or junit-xml");
    }
    const YAML::Node crit = m["criteria"];
    if (!(crit.IsDefined() && crit.IsSequence()))
      return ctx.r.Error(crit.IsDefined() ? crit : m, "criteria", "expected a list of strings");
    for (const auto& c : crit) {
      MLFAAS_ASSIGN_OR_RETURN(std::string text, ctx.r.String(c, "criteria"));
      auto parsed = ParseCriterion(text);
      if (!parsed.ok()) return ctx.r.Error(c, "criteria", parsed.status().message());
      plan.criteria.push_back(std::move(*parsed));
    }
  }
  return Status::Ok();
}

StatusOr<Plan> ParseRoot(const Ctx& ctx, const YAML::Node& root) {
  MLFAAS_RETURN_IF_ERROR(ctx.r.KnownKeys(
      root, "top level", {"execution", "scenarios", "reporting", "settings", "modules"}));
  Plan plan;
  const YAML::Node scenarios = root["scenarios"];
  if (!(scenarios.IsDefined() && scenarios.IsMap()))
    return ctx.r.Error(scenarios.IsDefined() ? scenarios : root, "scenarios",
                       "expected a map of name: scenario");
  for (const auto& kv : scenarios) {
    MLFAAS_ASSIGN_OR_RETURN(Scenario s, ParseScenario(ctx, kv.first.Scalar(), kv.second));
    plan.scenarios[s.name] = std::move(s);
  }
  YAML::Node exec = root["execution"];
  if (exec.IsDefined() && exec.IsMap()) {
    YAML::Node list(YAML::NodeType::Sequence);
    list.push_back(exec);
    exec.reset(list);
  }
  if (!(exec.IsDefined() && exec.IsSequence()) || exec.size() == 0)
    return ctx.r.Error(exec.IsDefined() ? exec : root, "execution", "expected a list of stages");
  for (const auto& item : exec) {
    MLFAAS_ASSIGN_OR_RETURN(Stage st, ParseStage(ctx, item, plan));
    plan.stages.push_back(std::move(st));
  }
  if (root["reporting"]) MLFAAS_RETURN_IF_ERROR(ParseReporting(ctx, root["reporting"], plan));
  return plan;
}

}  // namespace

StatusOr<Override> ParseOverride(std::string_view kv) {
  const size_t eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument("-o '" + std::string(kv) +
                           "': expected key=value, e.g. execution.0.concurrency=18");
  }
  return Override{std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1))};
}

StatusOr<Plan> ParsePlanText(std::string_view yaml, const std::string& source,
                             const std::filesystem::path& base_dir,
                             const std::vector<Override>& overrides) {
  Ctx ctx{Reader(source), base_dir};
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    for (const Override& o : overrides)
      MLFAAS_RETURN_IF_ERROR(yamlutil::ApplyOverride(root, o.path, o.value));
    return ParseRoot(ctx, root);
  } catch (const YAML::Exception& e) {
    std::string msg = source;
    if (!e.mark.is_null())
      msg += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return InvalidArgument(msg + ": " + e.msg);
  }
}

StatusOr<Plan> ParsePlanFile(const std::filesystem::path& path,
                             const std::vector<Override>& overrides) {
  MLFAAS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParsePlanText(text, path.string(), path.parent_path(), overrides);
}

StatusOr<Url> ParseUrl(const std::string& text) {
  const std::string scheme = "http://";
  if (text.rfind(scheme, 0) != 0)
    return InvalidArgument("expected an http:// URL, got '" + text + "'");
  Url url;
  const std::string rest = text.substr(scheme.size());
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    url.port = authority.substr(colon + 1);
    authority = authority.substr(0, colon);
    if (url.port.empty() || url.port.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgument("bad port in URL '" + text + "'");
    }
  }
  if (authority.empty()) return InvalidArgument("missing host in URL '" + text + "'");
  url.host = authority;
  return url;
}

}  // namespace mlfaas::loadtest
