#include "runtime/pipeline.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "common/worker_protocol.h"
#include "runtime/socket_transport.h"
#include "runtime/transport.h"

namespace mlfaas::runtime {
namespace {

// One recv() takes at most this much; the input buffer never holds more than one whole frame
// of the largest size plus one chunk.
constexpr size_t kPipelineReadChunk = 64 * 1024;
constexpr size_t kPipelineMaxBuffered = wire::kHeaderSize + wire::kMaxFrame + kPipelineReadChunk;

std::string ErrnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Writes all of `data` (blocking; EINTR- and EAGAIN-safe). MSG_NOSIGNAL: a closed gateway is an
// error here, not a SIGPIPE.
Status SendAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
        return Unavailable("worker socket: " + ErrnoText("poll"));
      }
      continue;
    }
    if (n <= 0) return Unavailable("worker socket: " + ErrnoText("write"));
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Response CallPipelinedHandler(const Handler& handler, const Invocation& invocation) {
  try {
    return handler(invocation);
  } catch (const std::exception& e) {
    return Response::Error("HandlerException", e.what());
  } catch (...) {
    return Response::Error("HandlerException", "unknown exception");
  }
}

// The R or E frame answering `invocation`.
void AppendAnswer(std::string& out, const Invocation& invocation, const Response& r) {
  if (r.is_error) {
    const std::string body = ErrorBody(r.error_type, r.error_message);
    wire::AppendError(out, {invocation.request_id, r.error_type, body});
  } else {
    wire::AppendResponse(out, {invocation.request_id, r.payload});
  }
}

class Pipeline {
  using Clock = std::chrono::steady_clock;

 public:
  Pipeline(int fd, int wake_fd, const Handler& handler, int max_in_flight)
      : fd_(fd), wake_fd_(wake_fd), handler_(handler), max_in_flight_(max_in_flight) {}

  // One thread's work, until the loop stops. Never throws.
  void Run() {
    try {
      Serve();
    } catch (const std::exception& e) {  // e.g. bad_alloc: the loop cannot go on
      std::lock_guard<std::mutex> lock(mu_);
      Stop(Internal(std::string("pipelined loop: ") + e.what()));
    }
  }

  // After every thread returned from Run(): writes what is still pending (unless a write
  // failed) and returns the status that ended the loop.
  Status Finish(PipelineStats* stats) {
    if (!out_.empty() && !write_failed_) {
      ++stats_.writes;
      stats_.frames_written += out_frames_;
      stats_.largest_batch = std::max<uint64_t>(stats_.largest_batch, out_frames_);
      (void)SendAll(fd_, out_);
      out_.clear();
    }
    if (stats) *stats = stats_;
    return end_;
  }

 private:
  void Serve() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopped_) {
      if (!queue_.empty()) {
        Invocation invocation = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        const auto started = Clock::now();
        const Response r = CallPipelinedHandler(handler_, invocation);
        const auto ended = Clock::now();
        std::string frame;
        AppendAnswer(frame, invocation, r);
        lock.lock();
        NoteHandlerTime(started, ended);
        ++stats_.invocations;
        if (r.is_error) ++stats_.errors;
        out_.append(frame);
        ++out_frames_;
        if (r.fatal) {  // written by Finish(), after every thread is done
          Stop(FailedPrecondition(r.error_type + ": " + r.error_message));
          break;
        }
        // Nothing more to do right now: answer everything handled so far in one write.
        if (queue_.empty() && !writing_) Flush(lock);
        continue;
      }
      if (!reading_) {
        reading_ = true;
        lock.unlock();
        std::vector<Invocation> got;
        uint64_t reads = 0;
        Status st = Read(&got, &reads);
        lock.lock();
        reading_ = false;
        stats_.reads += reads;
        if (!st.ok()) {
          Stop(st);
          break;
        }
        unanswered_ += got.size();
        if (unanswered_ > static_cast<size_t>(max_in_flight_)) {
          Stop(Unavailable("worker socket: " + std::to_string(unanswered_) +
                           " invocations in flight, more than the " +
                           std::to_string(max_in_flight_) + " announced"));
          break;
        }
        for (Invocation& inv : got) queue_.push_back(std::move(inv));
        // This thread takes one of them. Idle threads are woken to take the others, and one
        // becomes the next reader, only when the work queued is worth a wake-up.
        Wake(HelpersWorthWaking());
        continue;
      }
      ++idle_;
      if (QuickAndBusy(Clock::now())) {
        // The thread that reads next may not wake anyone (HelpersWorthWaking): look again
        // after kTakeOverAfter, to take queued work or the reading over from a thread held up
        // by an invocation that runs long.
        cv_.wait_for(lock, kTakeOverAfter);
      } else {
        cv_.wait(lock);
      }
      --idle_;
    }
  }

  // Waking a thread costs a futex call and a context switch: tens of microseconds of CPU on a
  // virtual machine, more than a quick handler takes. While the handler is quick (its recent
  // average under kQuickNs) and busy (an invocation ended within kBusyWindow), the thread that
  // read a batch wakes nobody when it can handle the whole batch within kQuickNs; it answers
  // the batch in one write and reads again. Meanwhile idle threads look every kTakeOverAfter for
  // work nobody took (QuickAndBusy). Otherwise (slow handlers, or the first batch after a
  // quiet spell) every queued invocation gets a thread, and one thread becomes the next reader
  // so the socket is read meanwhile. Requires mu_.
  bool QuickAndBusy(Clock::time_point now) const {
    return handler_ns_ >= 0 && handler_ns_ < kQuickNs && now - last_end_ < kBusyWindow;
  }

  // After a read: how many idle threads to wake for the queued invocations. Requires mu_.
  size_t HelpersWorthWaking() const {
    if (QuickAndBusy(Clock::now()) &&
        handler_ns_ * static_cast<double>(queue_.size()) < static_cast<double>(kQuickNs)) {
      return 0;
    }
    return queue_.size();
  }

  // The handler's recent time: a moving average (1/8 weight to the newest), the first time
  // taken as it is. When that makes the loop quick and busy, threads asleep without a timeout
  // are woken to sleep with one (QuickAndBusy's promise). Requires mu_.
  void NoteHandlerTime(Clock::time_point started, Clock::time_point ended) {
    const bool before = QuickAndBusy(ended);
    const double ns = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(ended - started).count());
    handler_ns_ = handler_ns_ < 0 ? ns : handler_ns_ + (ns - handler_ns_) / 8;
    last_end_ = ended;
    if (!before && QuickAndBusy(ended) && idle_ > 0) cv_.notify_all();
  }

  // Wakes up to `n` idle threads.
  void Wake(size_t n) {
    if (idle_ == 0 || n == 0) return;
    if (n >= idle_) {
      cv_.notify_all();
      return;
    }
    for (size_t i = 0; i < n; ++i) cv_.notify_one();
  }

  // Ends the loop with `st` (the first reason wins): wakes every waiting thread and the reader.
  // Requires mu_.
  void Stop(Status st) {
    if (stopped_) return;
    stopped_ = true;
    end_ = std::move(st);
    const uint64_t one = 1;
    ssize_t n = ::write(wake_fd_, &one, sizeof one);  // an eventfd: cannot block or fail here
    (void)n;
    cv_.notify_all();
  }

  // Writes out_ until it is empty; one writer at a time. Requires mu_ (released while writing).
  void Flush(std::unique_lock<std::mutex>& lock) {
    writing_ = true;
    while (!out_.empty() && !write_failed_) {
      std::string batch;
      batch.swap(out_);
      const size_t frames = out_frames_;
      out_frames_ = 0;
      // The slots are free from now on: the gateway may answer these bytes with new V frames
      // before this thread has the lock again.
      unanswered_ -= std::min(unanswered_, frames);
      ++stats_.writes;
      stats_.frames_written += frames;
      stats_.largest_batch = std::max<uint64_t>(stats_.largest_batch, frames);
      lock.unlock();
      Status st = SendAll(fd_, batch);
      lock.lock();
      if (!st.ok()) {
        write_failed_ = true;
        Stop(st);
      }
    }
    writing_ = false;
  }

  // The reader (one thread at a time, without mu_; in_ is its own): returns at least one
  // invocation, or the error that ends the loop.
  Status Read(std::vector<Invocation>* out, uint64_t* reads) {
    for (;;) {
      size_t off = 0;
      for (;;) {
        wire::Frame frame;
        StatusOr<size_t> used = wire::ParseFrame(std::string_view(in_).substr(off), &frame);
        if (!used.ok()) return Unavailable("worker socket: " + used.status().message());
        if (*used == 0) break;
        if (frame.type != wire::FrameType::kInvocation) {
          return Unavailable(std::string("worker socket: unexpected frame '") +
                             static_cast<char>(frame.type) + "'");
        }
        MLFAAS_ASSIGN_OR_RETURN(Invocation inv, ParseInvocationFrame(frame.data));
        out->push_back(std::move(inv));
        off += *used;
        if (out->size() > static_cast<size_t>(max_in_flight_)) {
          return Unavailable("worker socket: more than " + std::to_string(max_in_flight_) +
                             " invocations in one read");
        }
      }
      in_.erase(0, off);
      if (!out->empty()) return Status::Ok();

      pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return Unavailable("worker socket: " + ErrnoText("poll"));
      }
      if (p[1].revents != 0) return Unavailable("pipelined loop stopped");
      // Everything available, up to the bound (a whole frame of the largest size always fits).
      char chunk[kPipelineReadChunk];
      while (in_.size() < kPipelineMaxBuffered) {
        const size_t want = std::min(sizeof chunk, kPipelineMaxBuffered - in_.size());
        ssize_t n = ::recv(fd_, chunk, want, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n == 0) return Unavailable("worker socket closed by the gateway");
        if (n < 0) return Unavailable("worker socket: " + ErrnoText("read"));
        in_.append(chunk, static_cast<size_t>(n));
        ++*reads;
        if (static_cast<size_t>(n) < want) break;  // drained: spare the EAGAIN round trip
      }
    }
  }

  const int fd_;
  const int wake_fd_;
  const Handler& handler_;
  const int max_in_flight_;

  static constexpr int64_t kQuickNs = 50'000;                   // see QuickAndBusy
  static constexpr std::chrono::milliseconds kBusyWindow{100};  // see QuickAndBusy
  static constexpr std::chrono::milliseconds kTakeOverAfter{10};

  std::mutex mu_;
  std::condition_variable cv_;
  double handler_ns_ = -1;        // NoteHandlerTime's average; -1 until an invocation has ended
  Clock::time_point last_end_;    // when the last invocation ended
  std::deque<Invocation> queue_;  // read, not yet handled
  size_t unanswered_ = 0;         // read, answer not yet being written
  size_t idle_ = 0;               // threads waiting on cv_
  bool reading_ = false;          // a thread is in Read()
  bool writing_ = false;          // a thread is in Flush()
  bool stopped_ = false;
  bool write_failed_ = false;
  Status end_;
  std::string out_;  // answers not yet written
  size_t out_frames_ = 0;
  PipelineStats stats_;

  std::string in_;  // the reader's: bytes received, not yet parsed
};

}  // namespace

Status RunPipelinedLoop(int fd, const Handler& handler, const PipelineOptions& options,
                        PipelineStats* stats) {
  if (options.max_in_flight < 1 || options.max_in_flight > wire::kMaxConcurrencyPerInstance) {
    return InvalidArgument("max_in_flight must be in 1.." +
                           std::to_string(wire::kMaxConcurrencyPerInstance));
  }
  const int threads = std::clamp(options.threads, 1, options.max_in_flight);
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return Internal("pipelined loop: " + ErrnoText("eventfd"));
  std::string hello;
  wire::AppendPipelinedNext(hello, options.max_in_flight);
  Status st = SendAll(fd, hello);
  if (!st.ok()) {
    ::close(wake_fd);
    if (stats) *stats = {};
    return st;
  }
  Pipeline pipeline(fd, wake_fd, handler, options.max_in_flight);
  std::vector<std::thread> helpers;
  try {
    helpers.reserve(static_cast<size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) helpers.emplace_back([&pipeline] { pipeline.Run(); });
  } catch (const std::exception& e) {  // std::system_error: serve with the threads we have
    std::fprintf(stderr, "mlfaas-runtime: started %zu of %d handler threads: %s\n",
                 helpers.size() + 1, threads, e.what());
  }
  pipeline.Run();
  for (std::thread& t : helpers) t.join();
  st = pipeline.Finish(stats);
  ::close(wake_fd);
  return st;
}

}  // namespace mlfaas::runtime
