#include "bench/serve/scrape_load.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/serve/remote_write_client.h"

namespace keel::bench {

LoadResult WriteScrapes(const NodeSeries& data, const ScrapeLoadOptions& o,
                        uint64_t first_scrape, uint64_t scrapes,
                        double max_seconds) {
  const uint64_t per_request = o.series_per_request;
  const uint64_t batches = (data.size() + per_request - 1) / per_request;
  const uint64_t items = batches * scrapes;
  const Clock::time_point start = Clock::now();
  std::atomic<uint64_t> next{0};
  std::mutex mu;
  std::condition_variable item_done;
  uint64_t done = 0;  // items answered, guarded by mu
  LoadResult result;  // guarded by mu

  auto writer = [&] {
    tools::HttpClient client = LoopbackClient(o.port);
    while (max_seconds <= 0 || SecondsSince(start) < max_seconds) {
      const uint64_t item = next.fetch_add(1);
      if (item >= items) break;
      const uint64_t scrape = item / batches, batch = item % batches;
      {
        // Items are taken in order, so the ones before this scrape are all
        // being sent: waiting for them always ends.
        std::unique_lock lock(mu);
        item_done.wait(lock, [&] { return done >= scrape * batches; });
      }
      const uint64_t s = first_scrape + scrape;
      std::string body = SnappyCompress(data.WriteRequest(
          batch * per_request, per_request, s,
          o.first_timestamp_ms + static_cast<int64_t>(s) * o.interval_ms));
      WriteOutcome w = PostRemoteWrite(client, body);
      const uint64_t series =
          std::min(per_request, data.size() - batch * per_request);
      std::lock_guard lock(mu);
      ++done;
      ++result.requests;
      result.retries += w.retries;
      ++result.statuses[w.answer.status];
      if (w.answer.status / 100 == 2) {
        result.samples += series;
      } else if (result.first_error.empty()) {
        result.first_error = w.answer.status == 0 ? "no answer" : w.answer.body;
      }
      item_done.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < o.writers; ++w) threads.emplace_back(writer);
  for (std::thread& t : threads) t.join();
  result.seconds = SecondsSince(start);
  result.scrapes = batches == 0 ? 0 : static_cast<double>(done) / batches;
  return result;
}

}  // namespace keel::bench
