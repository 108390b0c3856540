// Fuzz target: a labelled-feedback body (registry/feedback.h), what
// POST /v1/functions/{name}/feedback hands registry::ParseFeedback, all of it client bytes. The
// first byte picks the function's features (its value mod 4: none, i.e. a custom runtime that
// takes any names; kdd99's three; one feature; three names that need escaping); the rest is the
// body.
//
//  1. ParseFeedback returns, never throws; a refusal is InvalidArgument with a message.
//  2. Accepted rows are what the gateway stores: at most max_rows; each id 1..max_id_bytes
//     printable ASCII bytes, unique; a label of 0 or 1; at most max_features features, every
//     value finite; with a feature list, exactly its names.
//  3. The same body parses again to the same rows (no hidden state), and the rows written back
//     as a body ({"rows":[{"id","label","features"}]}) parse to themselves.
//  4. Under tighter limits (kTight) the body is accepted exactly when it was accepted under the
//     defaults and its rows are within the tight limits, and then to the same rows.
//  5. IsHeldOut of each accepted id: never at share 0, always at share 1, monotonic in between.
// MLFAAS_FUZZ_VERBOSE=1 prints what became of each input.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "registry/feedback.h"

namespace {

using namespace mlfaas;
using nlohmann::json;
using registry::FeedbackLimits;
using registry::FeedbackRow;

constexpr FeedbackLimits kTight{/*max_rows=*/3, /*max_id_bytes=*/8, /*max_features=*/3};

const std::vector<std::string>& FeatureList(uint8_t pick) {
  using Lists = std::vector<std::vector<std::string>>;
  static const Lists* const kLists = new Lists{
      {},
      {"duration", "src_bytes", "dst_bytes"},
      {"x"},
      {"a\"b", "\xc3\xbc", "c\\d"},
  };
  return (*kLists)[pick % kLists->size()];
}

StatusOr<std::vector<FeedbackRow>> Parse(std::string_view body,
                                         const std::vector<std::string>& features,
                                         const FeedbackLimits& limits) {
  try {
    return registry::ParseFeedback(body, features, limits);
  } catch (const std::exception& e) {
    fuzz::Fail("ParseFeedback threw", e.what());
  } catch (...) {
    fuzz::Fail("ParseFeedback threw a non-exception");
  }
}

bool SameRows(const std::vector<FeedbackRow>& a, const std::vector<FeedbackRow>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].label != b[i].label || a[i].features != b[i].features) {
      return false;
    }
  }
  return true;
}

void CheckRefusal(const Status& st, std::string_view body) {
  if (st.code() != StatusCode::kInvalidArgument || st.message().empty()) {
    fuzz::Fail("a refusal is not InvalidArgument with a message",
               st.ToString() + "\n" + std::string(body));
  }
}

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void CheckRows(const std::vector<FeedbackRow>& rows, const std::vector<std::string>& features,
               const FeedbackLimits& limits, std::string_view body) {
  if (rows.size() > limits.max_rows) fuzz::Fail("more rows than max_rows", body);
  const std::set<std::string> wanted(features.begin(), features.end());
  std::set<std::string> ids;
  for (const FeedbackRow& r : rows) {
    if (r.id.empty() || r.id.size() > limits.max_id_bytes || !PrintableAscii(r.id)) {
      fuzz::Fail("an id that is not 1..max_id_bytes printable ASCII bytes", r.id);
    }
    if (!ids.insert(r.id).second) fuzz::Fail("an id accepted twice", r.id);
    if (r.label != 0 && r.label != 1) fuzz::Fail("a label other than 0 or 1", r.id);
    if (r.features.size() > limits.max_features) fuzz::Fail("more features than max_features");
    for (const auto& [name, value] : r.features) {
      if (!std::isfinite(value)) fuzz::Fail("a value that is not finite", name);
      if (!wanted.empty() && !wanted.count(name)) fuzz::Fail("a feature not in the list", name);
    }
    if (!wanted.empty() && r.features.size() != wanted.size()) {
      fuzz::Fail("a row without every feature of the list", r.id);
    }
  }
}

// The rows as a body again; empty when they hold a name nlohmann cannot write (not UTF-8).
std::string Rewrite(const std::vector<FeedbackRow>& rows) {
  json out = json::array();
  for (const FeedbackRow& r : rows) {
    json f = json::object();
    for (const auto& [name, value] : r.features) f[name] = value;
    out.push_back({{"id", r.id}, {"label", r.label}, {"features", std::move(f)}});
  }
  try {
    return json{{"rows", std::move(out)}}.dump();
  } catch (const json::exception&) {
    return "";
  }
}

bool WithinTight(const std::vector<FeedbackRow>& rows) {
  if (rows.size() > kTight.max_rows) return false;
  for (const FeedbackRow& r : rows) {
    if (r.id.size() > kTight.max_id_bytes || r.features.size() > kTight.max_features) return false;
  }
  return true;
}

void CheckHeldOut(const std::vector<FeedbackRow>& rows) {
  for (const FeedbackRow& r : rows) {
    if (registry::IsHeldOut(r.id, 0.0)) fuzz::Fail("held out at share 0", r.id);
    if (!registry::IsHeldOut(r.id, 1.0)) fuzz::Fail("not held out at share 1", r.id);
    bool before = false;
    for (double share : {0.1, 0.2, 0.5, 0.9}) {
      const bool now = registry::IsHeldOut(r.id, share);
      if (before && !now) fuzz::Fail("IsHeldOut is not monotonic in share", r.id);
      before = now;
    }
  }
}

// MLFAAS_FUZZ_VERBOSE=1: what the default parse made of the input, on stderr.
void Say(const StatusOr<std::vector<FeedbackRow>>& rows) {
  static const bool verbose = std::getenv("MLFAAS_FUZZ_VERBOSE") != nullptr;
  if (!verbose) return;
  if (rows.ok()) {
    std::fprintf(stderr, "feedback: accepted %zu rows\n", rows->size());
  } else {
    std::fprintf(stderr, "feedback: refused: %s\n", rows.status().message().c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<std::string>& features = FeatureList(data[0]);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const FeedbackLimits defaults;

  auto rows = Parse(body, features, defaults);
  Say(rows);
  auto tight = Parse(body, features, kTight);
  if (!tight.ok()) CheckRefusal(tight.status(), body);
  if (!rows.ok()) {
    CheckRefusal(rows.status(), body);
    if (tight.ok()) fuzz::Fail("accepted under tight limits, refused under the defaults", body);
    if (Parse(body, features, defaults).ok()) fuzz::Fail("a second parse accepts", body);
    return 0;
  }
  CheckRows(*rows, features, defaults, body);
  if (tight.ok()) {
    CheckRows(*tight, features, kTight, body);
    if (!SameRows(*rows, *tight)) fuzz::Fail("other rows under tight limits", body);
  } else if (WithinTight(*rows)) {
    fuzz::Fail("refused under tight limits its rows are within", tight.status().message());
  }

  auto again = Parse(body, features, defaults);
  if (!again.ok() || !SameRows(*rows, *again)) fuzz::Fail("a second parse differs", body);

  if (const std::string rewritten = Rewrite(*rows); !rewritten.empty()) {
    auto back = Parse(rewritten, features, defaults);
    if (!back.ok()) fuzz::Fail("the rows written back are refused", back.status().message());
    if (!SameRows(*rows, *back)) fuzz::Fail("the rows written back parse to other rows", rewritten);
  }
  CheckHeldOut(*rows);
  return 0;
}
