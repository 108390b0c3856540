// The quality gate of `mlfaas retrain` (docs/retraining.md): terms a candidate model's metrics
// must meet, absolutely or relative to the current version's, on the same held-out rows.
//
//   auc>=current-0.001,f1>=0.99,recall>current
//
// A term is METRIC OP VALUE: METRIC one of auc, pr_auc, f1, precision, recall, accuracy; OP one
// of >=, >, <=, <; VALUE a number, `current` (the current version's value of the same metric),
// or `current` plus or minus a number. Anything else is an error, never a silent pass.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "model/metrics.h"

namespace mlfaas::model {

inline constexpr const char* kDefaultGate = "auc>=current-0.001,f1>=current-0.001";

struct GateTerm {
  std::string metric;     // auc | pr_auc | f1 | precision | recall | accuracy
  std::string op;         // >= | > | <= | <
  bool relative = false;  // VALUE is current + offset
  double value = 0;       // the number, or the offset when relative
};

struct GateVerdict {
  bool pass = false;
  // One clause per term, "; "-separated: "auc 0.99812 >= 0.99674 (current-0.001): pass".
  std::string reason;
};

// InvalidArgument naming the term for an unknown metric or operator, a bad number, an empty
// term or an empty gate.
StatusOr<std::vector<GateTerm>> ParseGate(const std::string& spec);
// Every term must hold; a metric that is undefined (NaN) on either side fails its term.
GateVerdict EvaluateGate(const std::vector<GateTerm>& gate, const BinaryMetrics& current,
                         const BinaryMetrics& candidate);
// The named metric of `m` (NaN for an unknown name).
double MetricValue(const BinaryMetrics& m, const std::string& metric);

}  // namespace mlfaas::model
