#include "tools/server/forward/remote_write_sender.h"

#include <snappy.h>

#include <algorithm>
#include <chrono>
#include <span>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "keel_build_info.h"
#include "tools/http_client.h"
#include "tools/server/event_log.h"

namespace keel::tools {
namespace {

constexpr int64_t kDropLogIntervalMs = 10'000;
// How long an idle shard sleeps between looks at the queue's end.
constexpr absl::Duration kIdleWait = absl::Seconds(1);
// The split records kept for the shards behind the first: the shards of a
// destination read the same records within a few batches of each other.
constexpr uint64_t kSplitCacheBytes = uint64_t{16} << 20;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

// One shard's batch under construction and its connection.
struct RemoteWriteSender::Shard {
  Shard(alloc::Arena& arena, const std::string& host, const std::string& port,
        HttpClientOptions options)
      : body(alloc::ArenaAllocator<char>(arena)),
        compressed(alloc::ArenaAllocator<char>(arena)),
        client(host, port, options) {}

  uint32_t index = 0;
  int consumer = 0;                          // in the queue
  ForwardPosition acked;                     // delivered up to here
  ForwardPosition read;                      // the batch holds [acked, read)
  std::shared_ptr<const SplitRecord> split;  // the record being read
  ForwardBuffer body;                        // the WriteRequest so far
  ForwardBuffer compressed;
  uint64_t samples = 0;
  int64_t max_timestamp_ms = 0;
  absl::Time started;  // when the batch's first sample came
  HttpClient client;
};

RemoteWriteSender::RemoteWriteSender(const RemoteWriteDestination& destination,
                                     ForwardQueue* queue)
    : destination_(destination), queue_(queue), at_start_(queue->TakeMark()) {}

absl::StatusOr<std::unique_ptr<RemoteWriteSender>> RemoteWriteSender::Start(
    const RemoteWriteDestination& destination, ForwardQueue* queue) {
  std::unique_ptr<RemoteWriteSender> sender(
      new RemoteWriteSender(destination, queue));
  const std::string& url = destination.url;
  auto address = ParseHttpUrl(url);
  if (!address.ok()) return address.status();
  sender->host_ = address->host;
  sender->port_ = address->port;
  const size_t path = url.find('/', std::string_view("http://").size());
  sender->target_ = path == std::string::npos ? "/" : url.substr(path);
  std::string& h = sender->headers_;
  absl::StrAppend(&h,
                  "Content-Encoding: snappy\r\n"
                  "Content-Type: application/x-protobuf\r\n"
                  "User-Agent: keel/",
                  kVersion,
                  "\r\n"
                  "X-Prometheus-Remote-Write-Version: 0.1.0\r\n");
  if (!destination.bearer_token_file.empty()) {
    auto token = ReadAuthToken(destination.bearer_token_file);
    if (!token.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("remote-write ", destination.name,
                       ": bearer-token-file: ", token.status().message()));
    }
    absl::StrAppend(&h, "Authorization: Bearer ", *token, "\r\n");
  }
  if (!destination.basic_auth_username.empty()) {
    auto password = ReadAuthToken(destination.basic_auth_password_file);
    if (!password.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "remote-write ", destination.name,
          ": basic-auth-password-file: ", password.status().message()));
    }
    absl::StrAppend(&h, "Authorization: Basic ",
                    absl::Base64Escape(absl::StrCat(
                        destination.basic_auth_username, ":", *password)),
                    "\r\n");
  }
  for (const std::string& header : destination.headers) {
    absl::StrAppend(&h, header, "\r\n");
  }
  auto cursors = ForwardCursors::Open(
      absl::StrCat(queue->dir(), "/", destination.name, ".cursors"),
      destination.shards, {sender->at_start_.end, 0});
  if (!cursors.ok()) return cursors.status();
  sender->cursors_ = *std::move(cursors);
  sender->cache_ = std::make_unique<ForwardSplitCache>(
      queue, destination.shards, kSplitCacheBytes);
  std::vector<ForwardPosition> starts;
  for (uint32_t i = 0; i < destination.shards; ++i) {
    ForwardPosition start = sender->cursors_->Get(i);
    if (start.record < queue->start() || start.record > queue->end()) {
      start = {std::clamp(start.record, queue->start(), queue->end()), 0};
    }
    starts.push_back(start);
    const int consumer = queue->AddConsumer(start.record);
    sender->threads_.emplace_back([s = sender.get(), i, consumer, start] {
      s->RunShard(i, consumer, start);
    });
  }
  sender->threads_.emplace_back(
      [s = sender.get(), starts] { s->CountBacklog(starts); });
  return sender;
}

RemoteWriteSender::~RemoteWriteSender() { Stop(); }

void RemoteWriteSender::Stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_.notify_all();
  queue_->Wake();
  for (std::thread& t : threads_) t.join();
}

uint64_t RemoteWriteSender::PendingSamples() const {
  const uint64_t in = backlog_samples_.load() + queue_->appended_samples() -
                      at_start_.appended_samples;
  const uint64_t out = sent_samples_.load() + failed_samples_.load();
  return in > out ? in - out : 0;
}

bool RemoteWriteSender::Sleep(int64_t ms) {
  std::unique_lock lock(mu_);
  return !stop_.wait_for(lock, std::chrono::milliseconds(ms),
                         [&] { return stopping_; });
}

void RemoteWriteSender::CountBacklog(std::vector<ForwardPosition> starts) {
  const uint32_t shards = destination_.shards;
  uint64_t p = at_start_.end;
  for (const ForwardPosition& start : starts) p = std::min(p, start.record);
  ForwardBuffer record{alloc::ArenaAllocator<char>(queue_->arena())};
  while (p < at_start_.end) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    uint64_t next = 0;
    // A record the shards passed and the queue dropped meanwhile is
    // theirs no more.
    if (!queue_->Read(p, &record, &next).ok()) return;
    uint64_t owed = 0;
    ForEachForwardEntry(
        std::string_view(record.data(), record.size()),
        [&](size_t i, const ForwardEntry& e) {
          const ForwardPosition& start = starts[e.hash % shards];
          if (p > start.record || (p == start.record && i >= start.entry)) {
            owed += e.samples;
          }
          return true;
        })
        .IgnoreError();  // the checksum held
    backlog_samples_.fetch_add(owed);
    p = next;
  }
}

void RemoteWriteSender::RunShard(uint32_t index, int consumer,
                                 ForwardPosition start) {
  Shard shard(queue_->arena(), host_, port_,
              {.timeout_s = static_cast<int>(std::max<int64_t>(
                   1, (destination_.timeout_ms + 999) / 1000)),
               .max_answer_bytes = 1 << 20});
  shard.index = index;
  shard.consumer = consumer;
  shard.acked = shard.read = start;

  auto idle = [&](absl::Time deadline) {
    queue_->WaitPast(shard.read.record, deadline);
    std::lock_guard lock(mu_);
    return !stopping_;
  };
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (shard.read.record >= queue_->end()) {
      if (shard.samples == 0) {
        if (!(shard.acked == shard.read)) {  // none of ours in between
          shard.acked = shard.read;
          cursors_->Set(index, shard.acked).IgnoreError();  // next time
          queue_->Advance(consumer, shard.acked.record);
        }
        if (!idle(absl::Now() + kIdleWait)) return;
        continue;
      }
      const absl::Time deadline =
          shard.started +
          absl::Milliseconds(destination_.batch_send_deadline_ms);
      if (absl::Now() < deadline) {
        if (!idle(deadline)) return;
        continue;
      }
      if (!Send(shard)) return;
      continue;
    }
    if (shard.split == nullptr ||
        shard.split->position() != shard.read.record) {
      shard.split = nullptr;  // not held past the cache's budget
      auto split = cache_->Get(shard.read.record);
      if (!split.ok()) {
        LogEvent(absl::StrCat("remote-write ", destination_.name, ": ",
                              split.status().message(), "; retrying in 10 s"));
        if (!Sleep(10'000)) return;
        continue;
      }
      shard.split = *std::move(split);
    }
    const std::span<const SplitEntry> mine = shard.split->shard(index);
    auto e = std::lower_bound(
        mine.begin(), mine.end(), shard.read.entry,
        [](const SplitEntry& x, uint32_t entry) { return x.index < entry; });
    bool full = false;
    for (; e != mine.end() && !full; ++e) {
      if (shard.samples == 0) shard.started = absl::Now();
      AppendAsWriteRequestField(shard.split->series(*e), &shard.body);
      shard.samples += e->samples;
      shard.max_timestamp_ms =
          std::max(shard.max_timestamp_ms, e->max_timestamp_ms);
      full = shard.samples >= destination_.max_samples_per_send;
    }
    // A full batch may end mid-record: the rest of it is the next batch's.
    shard.read = full && e != mine.end()
                     ? ForwardPosition{shard.read.record, e->index}
                     : ForwardPosition{shard.split->next(), 0};
    if (full && !Send(shard)) return;
  }
}

bool RemoteWriteSender::Send(Shard& shard) {
  shard.compressed.resize(snappy::MaxCompressedLength(shard.body.size()));
  size_t compressed_size = 0;
  snappy::RawCompress(shard.body.data(), shard.body.size(),
                      shard.compressed.data(), &compressed_size);
  const std::string_view body(shard.compressed.data(), compressed_size);
  int64_t backoff = destination_.min_backoff_ms;
  int failures = 0;
  std::string first_failure;
  while (true) {
    absl::StatusOr<HttpAnswer> answer =
        shard.client.Send("POST", target_, headers_, body);
    const int status = answer.ok() ? answer->status : 0;
    if (status >= 200 && status < 300) {
      sent_samples_.fetch_add(shard.samples);
      sent_bytes_.fetch_add(compressed_size);
      int64_t seen = highest_sent_ms_.load();
      while (shard.max_timestamp_ms > seen &&
             !highest_sent_ms_.compare_exchange_weak(seen,
                                                     shard.max_timestamp_ms)) {
      }
      if (failures > 0) {
        LogEvent(absl::StrCat("remote-write ", destination_.name, " shard ",
                              shard.index, ": delivered after ", failures,
                              " failed tries (the first: ", first_failure,
                              ")"));
      }
      break;
    }
    if (status >= 400 && status < 500 && status != 429) {
      failed_samples_.fetch_add(shard.samples);
      LogDropped(status, answer->body, shard.samples);
      break;
    }
    // 5xx, 429, or no answer: the same batch again.
    if (failures++ == 0) {
      first_failure = answer.ok() ? absl::StrCat("HTTP ", status, ": ",
                                                 answer->body.substr(0, 200))
                                  : std::string(answer.status().message());
      LogEvent(absl::StrCat("remote-write ", destination_.name, " shard ",
                            shard.index, ": ", first_failure,
                            "; retrying with backoff"));
    }
    retried_samples_.fetch_add(shard.samples);
    const int64_t wait = answer.ok() && answer->retry_after_s > 0
                             ? int64_t{answer->retry_after_s} * 1000
                             : backoff;
    backoff = std::min(backoff * 2, destination_.max_backoff_ms);
    if (!Sleep(wait)) return false;
  }
  shard.acked = shard.read;
  if (absl::Status s = cursors_->Set(shard.index, shard.acked); !s.ok()) {
    LogEvent(absl::StrCat("remote-write ", destination_.name, ": ", s.message(),
                          " (after a restart, this batch is sent again)"));
  }
  queue_->Advance(shard.consumer, shard.acked.record);
  shard.body.clear();
  shard.samples = 0;
  shard.max_timestamp_ms = 0;
  return true;
}

void RemoteWriteSender::LogDropped(int status, std::string_view body,
                                   uint64_t samples) {
  std::lock_guard lock(log_mu_);
  ++unlogged_drops_;
  const int64_t now = NowMs();
  if (now - last_drop_log_ms_ < kDropLogIntervalMs) return;
  LogEvent(absl::StrCat(
      "remote-write ", destination_.name, ": HTTP ", status,
      " (not retried: the destination refuses the batch), dropped ", samples,
      " samples; ", unlogged_drops_,
      " batches dropped since the last such "
      "line; the answer: ",
      std::string(body.substr(0, 200))));
  last_drop_log_ms_ = now;
  unlogged_drops_ = 0;
}

}  // namespace keel::tools
