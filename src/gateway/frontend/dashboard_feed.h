// The dashboard's live data (docs/dashboard.md): the time series (base/series.h) and the
// server-sent event streams that carry each new second to the open pages. The gateway's sampler
// calls Sample once a second; GET /v1/dashboard/stream subscribes. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/scope.h"
#include "gateway/base/http_server.h"
#include "gateway/base/metrics.h"
#include "gateway/base/series.h"

namespace mlfaas::gateway {

class DashboardFeed {
 public:
  static constexpr size_t kMaxStreams = 64;
  // A stream ends after this long and its page reconnects, authenticating again: a key revoked
  // meanwhile stops seeing data within this time, as every other route refuses it at once.
  static constexpr int64_t kMaxStreamSeconds = 60;

  // Reads the counters (the same as /metrics) at `epoch_s`, folds them into the series and sends
  // every open stream its `sample` event; drops the streams that ended, and ends those older
  // than kMaxStreamSeconds.
  void Sample(int64_t epoch_s, Metrics& metrics, const Metrics::Live& live);

  // Sends `stream` the newest sample now, then a sample a second, of the functions `scopes` may
  // read (or only `function`, when not empty), until kMaxStreamSeconds after `now_s`. False when
  // kMaxStreams are open already (the stream is left alone).
  bool Subscribe(std::shared_ptr<BodyStream> stream, auth::ScopeSet scopes, std::string function,
                 int64_t now_s);
  size_t streams() const;

  // Ends every stream (the gateway stops).
  void CloseAll();

  const Series& series() const { return series_; }

 private:
  struct Subscriber {
    std::shared_ptr<BodyStream> stream;
    auth::ScopeSet scopes;
    std::string function;
    int64_t ends_at = 0;  // epoch second
  };

  Series series_;
  mutable std::mutex mu_;
  std::vector<Subscriber> subscribers_;
};

// One `sample` event: "event: sample\ndata: {"t":..,"functions":{name: PointJson}}\n\n" with
// the functions of `latest` that `scopes` may read (only `function` when not empty, an empty
// point when it has none yet).
std::string SampleEvent(int64_t t, const std::map<std::string, SeriesPoint>& latest,
                        const auth::ScopeSet& scopes, const std::string& function);

}  // namespace mlfaas::gateway
