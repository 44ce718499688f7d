#include "tools/server/forward/forwarder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "remote_write.pb.h"
#include "tools/server/event_log.h"

namespace keel::tools {

Forwarder::Forwarder(const ServeConfig& config)
    : destinations_(config.remote_write),
      arena_(std::make_unique<alloc::Arena>("remote_write")) {}

Forwarder::~Forwarder() { Stop(); }

absl::StatusOr<std::unique_ptr<Forwarder>> Forwarder::Open(
    const ServeConfig& config) {
  std::unique_ptr<Forwarder> forwarder(new Forwarder(config));
  auto queue =
      ForwardQueue::Open({.dir = config.data_dir + "/remote-write",
                          .max_bytes = config.remote_write_queue_max_bytes},
                         forwarder->arena_.get());
  if (!queue.ok()) return queue.status();
  forwarder->queue_ = *std::move(queue);
  return forwarder;
}

absl::Status Forwarder::Replay(core::SeriesStore& store) {
  const absl::Time start = absl::Now();
  const uint64_t from = queue_->replay_from();
  const uint64_t end = queue_->end();
  ForwardBuffer record{alloc::ArenaAllocator<char>(*arena_)};
  prompb::TimeSeries series;
  core::Labels labels;
  uint64_t records = 0, samples = 0, appended = 0, refused = 0;
  for (uint64_t position = from; position < end; ++records) {
    uint64_t next = 0;
    if (absl::Status s = queue_->Read(position, &record, &next); !s.ok()) {
      return s;
    }
    absl::Status entries = ForEachForwardEntry(
        std::string_view(record.data(), record.size()),
        [&](size_t, const ForwardEntry& e) {
          samples += e.samples;
          if (!series.ParseFromArray(e.series.data(),
                                     static_cast<int>(e.series.size()))) {
            refused += e.samples;
            return true;
          }
          labels.clear();
          for (const prompb::Label& l : series.labels()) {
            labels.push_back({l.name(), l.value()});
          }
          auto ref = store.GetOrCreate(labels);
          if (!ref.ok()) {
            refused += e.samples;
            return true;
          }
          for (const prompb::Sample& s : series.samples()) {
            appended += store.Append(*ref, s.timestamp(), s.value()) ==
                        core::AppendResult::kAppended;
          }
          return true;
        });
    if (!entries.ok()) {
      return absl::DataLossError(
          absl::StrCat(queue_->dir(), ": record at log position ", position,
                       ": ", entries.message()));
    }
    position = next;
  }
  if (records > 0) {
    LogEvent(absl::StrFormat(
        "remote-write queue: replayed %d records (%d samples) after the "
        "snapshot into the store in %.3f s: %d were missing from it, %d "
        "refused (series limit or labels)",
        records, samples, absl::ToDoubleSeconds(absl::Now() - start), appended,
        refused));
  }
  return absl::OkStatus();
}

absl::Status Forwarder::StartSending() {
  for (const RemoteWriteDestination& d : destinations_) {
    auto sender = RemoteWriteSender::Start(d, queue_.get());
    if (!sender.ok()) return sender.status();
    senders_.push_back(*std::move(sender));
    LogEvent(absl::StrCat("remote-write ", d.name, ": forwarding to ", d.url,
                          " with ", d.shards, " shards"));
  }
  return absl::OkStatus();
}

void Forwarder::Stop() {
  for (auto& sender : senders_) sender->Stop();
}

bool Forwarder::AdmitWrite() {
  if (!queue_->Full()) return true;
  refused_writes_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace keel::tools
