// The worker protocol's pipelined mode (AWS_LAMBDA_MAX_CONCURRENCY = N > 1; runtime/worker.h):
// one execution environment runs up to N invocations at once on `threads` handler threads,
// over the worker socket ($MLFAAS_RUNTIME_FD).
//
// Protocol (common/worker_protocol.h, docs/runtime.md "Pipelined mode"): the worker sends one
// P frame carrying N (its "init done", instead of the first N frame); the gateway then sends V
// frames whenever the worker has fewer than N unanswered invocations, without waiting for
// anything else, and each R or E frame frees one slot. The worker never sends N frames.
//
// Threads (leader/follower, one mutex): whichever thread finds no queued invocation and nobody
// reading becomes the reader. It waits in poll(POLLIN) (see SocketTransport::ReadFrame for why
// not in read()), takes everything available with recv(MSG_DONTWAIT) into a bounded buffer,
// parses every whole frame, queues the invocations and handles one itself; idle threads are
// woken only to take the others and to become the next reader. A thread that finishes an
// invocation appends its R/E frame to the shared output and, when nothing is queued, writes all
// of it in one write (one writer at a time). So with one thread: read everything pending, handle
// each in turn, answer them in one write. At low load that is one read and one write per
// invocation, no thread hand-off; under load the batches grow.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "runtime/invocation.h"

namespace mlfaas::runtime {

struct PipelineOptions {
  int max_in_flight = 2;  // N: sent in the P frame; 1..wire::kMaxConcurrencyPerInstance
  int threads = 1;        // handler threads (the caller's included); clamped to 1..max_in_flight
};

struct PipelineStats {
  uint64_t invocations = 0;     // invocations handed to the handler
  uint64_t errors = 0;          // of which answered with a function error
  uint64_t reads = 0;           // recv() calls that returned bytes
  uint64_t writes = 0;          // batches of answers written (the P frame not counted)
  uint64_t frames_written = 0;  // answers (R/E frames) in those batches
  uint64_t largest_batch = 0;   // the most answers written in one batch
};

// Sends the P frame on `fd` (a connected Unix stream socket, blocking; not owned, not closed),
// then serves invocations until the gateway closes the socket, sends anything but a well-formed
// V frame, sends more than max_in_flight unanswered invocations, or an I/O error (each
// kUnavailable), or until the handler returns a fatal error (that error is written, then
// kFailedPrecondition, as RunLoop). Exceptions escaping the handler become HandlerException
// errors. Every thread it started is joined before it returns; answers still pending then are
// written. Never OK. `stats` (optional) is filled in when it returns.
Status RunPipelinedLoop(int fd, const Handler& handler, const PipelineOptions& options,
                        PipelineStats* stats = nullptr);

}  // namespace mlfaas::runtime
