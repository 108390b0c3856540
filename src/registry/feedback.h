// Labelled feedback: rows a caller has seen the true label of, posted to
// `POST /v1/functions/{name}/feedback` and used by `mlfaas retrain` (docs/retraining.md).
//
// The body, from outside the process and therefore hostile, is parsed by ParseFeedback: bounded
// (rows, id length, feature count), exception-free, and checked against the function's features.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::registry {

struct FeedbackRow {
  std::string id;                          // the caller's row id: 1..128 printable ASCII bytes
  std::map<std::string, double> features;  // name -> finite value
  int label = 0;                           // 0 or 1
  std::string received_at;                 // RFC 3339 UTC, set when stored
};

struct FeedbackLimits {
  size_t max_rows = 10'000;   // rows in one request
  size_t max_id_bytes = 128;  // per id
  size_t max_features = 256;  // per row
};

// Parses {"rows": [{"id": "r1", "label": 1, "features": {"duration": 0, ...}}, ...]}.
// `features`: the function's model features; each row must give every one of them (finite
// numbers) and no others. When empty, any feature names are accepted. A label is 0, 1, false or
// true. Ids are unique within the body. InvalidArgument naming the row and field otherwise.
StatusOr<std::vector<FeedbackRow>> ParseFeedback(std::string_view body,
                                                 const std::vector<std::string>& features,
                                                 const FeedbackLimits& limits = {});

// Whether a feedback row is held out for evaluation (never trained on): the first 8 bytes of
// sha256(id), as a fraction of 2^64, below `share`. Depends on the id alone, so a row keeps its
// side across retrains and restarts.
bool IsHeldOut(std::string_view id, double share);

}  // namespace mlfaas::registry
