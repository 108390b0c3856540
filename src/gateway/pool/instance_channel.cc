// InstanceManager, worker-protocol side: the built-in runtime's Runtime API calls arrive as frames
// on a Unix socket (common/worker_protocol.h) instead of HTTP requests, and invocations leave as
// frames. Same events, same state machine as runtime_api.cc.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <cerrno>

#include "gateway/pool/instance_manager.h"

namespace mlfaas::gateway {

namespace {
constexpr size_t kReadChunk = 16 * 1024;
}  // namespace

void InstanceManager::AttachChannel(Instance& inst, int fd) {
  inst.channel = std::make_unique<boost::asio::local::stream_protocol::socket>(
      ioc_, boost::asio::local::stream_protocol(), fd);
  inst.channel_buf = std::make_shared<std::vector<char>>(kReadChunk);
}

// Called with mu_ held: every operation on the socket is started under the lock.
void InstanceManager::ReadChannel(const std::shared_ptr<Instance>& inst) {
  std::weak_ptr<Instance> weak = inst;
  auto buf = inst->channel_buf;
  inst->channel->async_read_some(
      boost::asio::buffer(*buf), [this, weak, buf](boost::system::error_code ec, size_t n) {
        auto inst = weak.lock();
        if (!inst) return;
        Deferred later;
        std::lock_guard<std::mutex> lock(mu_);
        if (!inst->channel) return;
        if (ec) {
          // EOF or error: the worker is exiting (its exit is handled by WatchExit) or a stem
          // exec'd a custom runtime that speaks HTTP.
          boost::system::error_code ignored;
          inst->channel->close(ignored);
          inst->channel.reset();
          inst->channel_next = false;
          return FinishExitWhenDrained(inst, later);
        }
        ++inst->channel_reads;
        inst->channel_in.append(buf->data(), n);
        std::string_view rest = inst->channel_in;
        size_t used_total = 0;
        for (;;) {
          wire::Frame frame;
          auto used = wire::ParseFrame(rest, &frame);
          bool ok = used.ok();
          if (ok && *used == 0) break;
          if (ok) ok = OnChannelFrame(*inst, frame, later);
          if (!ok) {
            OnProtocolViolation(
                *inst, used.ok() ? "malformed worker frame" : used.status().message(), later);
            return;
          }
          rest.remove_prefix(*used);
          used_total += *used;
          if (!inst->channel) return;
        }
        inst->channel_in.erase(0, used_total);
        ReadChannel(inst);
      });
}

bool InstanceManager::OnChannelFrame(Instance& inst, const wire::Frame& frame, Deferred& later) {
  switch (frame.type) {
    case wire::FrameType::kNext:
      // One at a time: asking again before answering, or after P, breaks the protocol.
      if (inst.channel_next || inst.pipelined > 0 || inst.channel_outstanding > 0) return false;
      inst.channel_next = true;
      OnNext(inst);
      return true;
    case wire::FrameType::kPipelinedNext: {
      // Once, as the worker's first request for work, and never above the configured N.
      auto n = wire::DecodePipelinedNext(frame.data);
      if (!n || *n > inst.max_concurrency || inst.pipelined > 0 || inst.channel_next ||
          inst.channel_outstanding > 0) {
        return false;
      }
      inst.pipelined = *n;
      OnNext(inst);
      return true;
    }
    case wire::FrameType::kResponse: {
      auto m = wire::DecodeResponse(frame.data);
      if (!m || (inst.pipelined > 0 && inst.channel_outstanding == 0)) return false;
      OnChannelResult(inst, std::string(m->request_id), std::string(m->payload), false, later);
      return true;
    }
    case wire::FrameType::kError: {
      auto m = wire::DecodeError(frame.data);
      if (!m || (inst.pipelined > 0 && inst.channel_outstanding == 0)) return false;
      OnChannelResult(inst, std::string(m->request_id),
                      WorkerErrorBody(std::string(m->body), m->error_type), true, later);
      return true;
    }
    case wire::FrameType::kInitError: {
      auto m = wire::DecodeInitError(frame.data);
      if (!m) return false;
      OnInitError(inst, WorkerErrorBody(std::string(m->body), m->error_type), later);
      return true;
    }
    default:
      return false;  // gateway-to-worker frames never come back
  }
}

// Pipelined, every answer frees a worker slot, even one the gateway drops (a late answer to an
// invocation that timed out: the worker was still running it). One at a time (N frames), only
// the answer to the delivered invocation does.
void InstanceManager::OnChannelResult(Instance& inst, const std::string& id, std::string body,
                                      bool is_error, Deferred& later) {
  const bool accepted = OnResult(inst, id, std::move(body), is_error, later);
  if (!accepted) {
    spdlog::warn("{}: instance {} answered unknown request id {}", inst.pool()->key, inst.id(), id);
  }
  if (inst.pipelined > 0) {
    --inst.channel_outstanding;
    DeliverPending(inst);
  } else if (accepted) {
    inst.channel_outstanding = 0;
  }
}

// Called with mu_ held. Frames are small: one non-blocking send nearly always takes all of it;
// what remains (a multi-megabyte event) is written asynchronously, and frames that come while it
// is being written queue behind it (pipelined workers take several invocations at once).
void InstanceManager::WriteChannel(Instance& inst, std::string frame) {
  if (!inst.channel) return;
  if (!inst.channel_out.empty()) {
    inst.channel_pending.append(frame);
    return;
  }
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = ::send(inst.channel->native_handle(), frame.data() + off, frame.size() - off,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return;  // the worker is gone: its exit completes the invocation
    }
  }
  if (off == frame.size()) return;
  inst.channel_out = frame.substr(off);
  std::weak_ptr<Instance> weak = inst.weak_from_this();
  boost::asio::async_write(*inst.channel, boost::asio::buffer(inst.channel_out),
                           [this, weak](boost::system::error_code ec, size_t) {
                             auto inst = weak.lock();
                             if (!inst) return;
                             std::lock_guard<std::mutex> lock(mu_);
                             inst->channel_out.clear();
                             std::string next = std::move(inst->channel_pending);
                             inst->channel_pending.clear();
                             if (!ec && !next.empty()) WriteChannel(*inst, std::move(next));
                           });
}

}  // namespace mlfaas::gateway
