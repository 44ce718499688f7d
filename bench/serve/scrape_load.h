// ScrapeLoad: remote-writes NodeSeries the way a Prometheus forwards its
// scrapes: every series once a scrape, in requests of a fixed number of
// series, from several writer connections at once; a scrape starts only
// when the one before it is acknowledged, so each series' samples arrive in
// time order.
//
//   NodeSeries data(200'000);
//   ScrapeLoadOptions o{.port = port, .writers = 4};
//   LoadResult first = WriteScrapes(data, o, /*first_scrape=*/0,
//                                   /*scrapes=*/20, /*max_seconds=*/0);
//   first.samples / first.seconds;  // samples/s the server acknowledged
//
// Thread safety: WriteScrapes runs its own threads; call it from one.
#ifndef KEEL_BENCH_SERVE_SCRAPE_LOAD_H_
#define KEEL_BENCH_SERVE_SCRAPE_LOAD_H_

#include <cstdint>
#include <map>
#include <string>

#include "bench/serve/node_series.h"

namespace keel::bench {

struct ScrapeLoadOptions {
  int port = 0;
  uint64_t series_per_request = 2000;
  int writers = 4;
  // Scrape s carries timestamp first_timestamp_ms + s * interval_ms.
  int64_t first_timestamp_ms = 0;
  int64_t interval_ms = 15'000;
};

struct LoadResult {
  uint64_t samples = 0;              // acknowledged (2xx)
  uint64_t requests = 0;             // sent, resends not counted
  uint64_t retries = 0;              // resends after 429, 503 or no answer
  std::map<int, uint64_t> statuses;  // the last answer of each request
  double seconds = 0;
  double scrapes = 0;       // written, a partly written last one as a fraction
  std::string first_error;  // the first non-2xx answer's body

  double samples_per_second() const {
    return seconds > 0 ? static_cast<double>(samples) / seconds : 0;
  }
};

// Writes scrapes [first_scrape, first_scrape + scrapes) of `data`, or as many
// as fit in max_seconds (0: no limit) when that comes first; a writer
// finishes the request it is sending.
LoadResult WriteScrapes(const NodeSeries& data, const ScrapeLoadOptions& o,
                        uint64_t first_scrape, uint64_t scrapes,
                        double max_seconds);

}  // namespace keel::bench

#endif  // KEEL_BENCH_SERVE_SCRAPE_LOAD_H_
