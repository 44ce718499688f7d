// NumberedRecord: a forward queue record for the forwarding tests, series
// m{i="0"} .. m{i="<series - 1>"} with one sample each, which the test picks
// per series: the tests then tell by `i` and the sample which series and
// record a destination received.
#ifndef KEEL_TESTS_TOOLS_SERVER_FORWARD_NUMBERED_RECORD_H_
#define KEEL_TESTS_TOOLS_SERVER_FORWARD_NUMBERED_RECORD_H_

#include <cstdint>
#include <string>
#include <utility>

#include "tools/server/forward/forward_record.h"

namespace keel::tools {

// `sample_of(i)` returns series i's (timestamp ms, value).
template <typename SampleOf>
ForwardRecord NumberedRecord(int series, SampleOf sample_of) {
  ForwardRecord record;
  for (int i = 0; i < series; ++i) {
    const std::pair<int64_t, double> sample = sample_of(i);
    record.BeginSeries();
    record.AddLabel("__name__", "m");
    record.AddLabel("i", std::to_string(i));
    record.AddSample(sample.first, sample.second);
    record.EndSeries();
  }
  return record;
}

}  // namespace keel::tools

#endif  // KEEL_TESTS_TOOLS_SERVER_FORWARD_NUMBERED_RECORD_H_
