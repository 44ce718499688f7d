// SeriesStoreImpl::SealWindows: re-encodes the windows that take no more
// appends in the sealed encoding (sealed_codec.h), one window at a time.
//
// A window is sealed in three steps, none of which holds a lock while it
// encodes:
// 1. gather, stripe by stripe: seal the heads still open in the window,
//    copy each series' chunk refs in it, then (lock released) decode them
//    and pack their sealed blocks into a new window no reader sees yet;
// 2. publish: under the window lock, the new window replaces the old one in
//    the map, holding it as its predecessor, so a reader that finds the new
//    window still holds the XOR bytes of refs not yet swapped (and the old
//    one holds the new one, for readers that took it before);
// 3. swap, stripe by stripe: each series whose chunks are unchanged gets the
//    sealed refs in their place; chunks packed into the old window after
//    the gather (late samples) are copied into the new one. Then the new
//    window drops its predecessor, and the old blocks are freed whole once
//    no SeriesSet holds them.
// A Truncate meanwhile drops whichever window is in the map; step 2 gives up
// if the old one is gone, step 3 skips chunks no longer there.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "alloc/stats.h"
#include "core/series/internal/sealed_codec.h"
#include "core/series/internal/series_store_impl.h"

namespace keel::core::core_internal {
namespace {

// One series' chunks in the window as gathered, and their sealed blocks.
struct Job {
  SeriesRef ref;
  const uint8_t* first;  // data() of its first and last chunk in the window
  const uint8_t* last;
  uint32_t count;
  uint32_t blocks_from;  // into the sealed refs
  uint32_t blocks;
  uint64_t old_bytes;
};

// Decodes XOR chunks into t and bits; false on a malformed one.
bool DecodeChunks(std::span<const SealedChunk> chunks, std::vector<int64_t>& t,
                  std::vector<uint64_t>& bits) {
  t.clear();
  bits.clear();
  for (const SealedChunk& c : chunks) {
    XorIterator it(c.view());
    std::size_t at = t.size();
    t.resize(at + it.count());
    bits.resize(at + it.count());
    if (it.Decode(t.data() + at, bits.data() + at, it.count()) != it.count()) {
      return false;
    }
  }
  return true;
}

// Whether every entry of `frame` decodes to exactly its samples, which lie
// one after another in t and bits: the store never trades a sample for
// space, so a frame that would not round-trip is not used.
bool RoundTrips(const std::vector<uint8_t>& frame,
                std::span<const SealedEntry> entries,
                std::span<const int64_t> t, std::span<const uint64_t> bits,
                SealedDecoder& decoder) {
  int64_t got_t[256];
  uint64_t got_bits[256];
  std::size_t at = 0;
  for (const SealedEntry& e : entries) {
    if (!decoder.Open(frame.data() + e.offset).ok() ||
        decoder.count() != e.count) {
      return false;
    }
    while (std::size_t n = decoder.Decode(got_t, got_bits, 256)) {
      if (at + n > t.size() || !std::equal(got_t, got_t + n, t.begin() + at) ||
          !std::equal(got_bits, got_bits + n, bits.begin() + at)) {
        return false;
      }
      at += n;
    }
    if (!decoder.status().ok()) return false;
  }
  return at == t.size();
}

// A finished frame, and the job each of its entries belongs to.
struct Frame {
  std::vector<uint8_t> bytes;
  std::vector<SealedEntry> entries;
  std::vector<uint32_t> jobs;
  std::vector<uint64_t> spans;
  const uint8_t* at = nullptr;  // where it was packed
};

// Packs the frames into buffers of the window as PackSealedFrames groups
// them (a snapshot groups them the same way).
void PackFrames(std::vector<Frame>& frames, ChunkWindow& window) {
  std::vector<std::size_t> sizes(frames.size());
  for (std::size_t k = 0; k < frames.size(); ++k) {
    sizes[k] = frames[k].bytes.size();
  }
  std::vector<uint32_t> in = PackSealedFrames(sizes);
  std::vector<std::size_t> used;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    if (in[k] >= used.size()) used.resize(in[k] + 1, 0);
    used[in[k]] += sizes[k];
  }
  std::vector<uint8_t*> at(used.size());
  for (std::size_t b = 0; b < used.size(); ++b) {
    at[b] = window.TakeBuffer(used[b]);
  }
  for (std::size_t k = 0; k < frames.size(); ++k) {
    std::memcpy(at[in[k]], frames[k].bytes.data(), sizes[k]);
    frames[k].at = at[in[k]];
    at[in[k]] += sizes[k];
  }
}

}  // namespace

void SeriesStoreImpl::HoldWindow(
    int64_t index,
    std::vector<std::shared_ptr<const ChunkWindow>>& held) const {
  std::shared_lock lock(windows_mu_);
  auto it = windows_.find(index);
  if (it == windows_.end()) return;
  held.push_back(it->second);
  if (it->second->predecessor() != nullptr) {
    held.push_back(it->second->predecessor());
  }
}

uint32_t SeriesStoreImpl::FirstChunkIn(const Series& s, int64_t w) const {
  uint32_t begin = 0;
  for (uint32_t end = s.sealed_count; begin < end;) {
    uint32_t mid = begin + (end - begin) / 2;
    if (WindowOf(s.sealed[mid].min_time()) < w) {
      begin = mid + 1;
    } else {
      end = mid;
    }
  }
  return begin;
}

std::size_t SeriesStoreImpl::SealWindows(int64_t now_ms,
                                         absl::FunctionRef<bool()> stop) {
  std::lock_guard sealing(seal_mu_);
  int64_t newest = INT64_MIN;
  for (const Stripe& stripe : stripes_) {
    StripeGuard lock(stripe.mu);
    newest = std::max(newest, stripe.max_time);
  }
  if (newest == INT64_MIN) return 0;
  // The window of the newest sample still takes appends; so does any a
  // clock-ahead sample would claim.
  int64_t open = WindowOf(std::min(newest, now_ms));
  std::vector<std::shared_ptr<ChunkWindow>> todo;
  {
    std::shared_lock lock(windows_mu_);
    for (const auto& [index, window] : windows_) {
      if (index >= open) break;
      if (!window->sealed()) todo.push_back(window);
    }
  }
  std::size_t sealed = 0;
  for (std::shared_ptr<ChunkWindow>& window : todo) {
    if (stop()) break;
    sealed += SealWindow(std::move(window), stop) ? 1 : 0;
  }
  // The checks' decompressed frames: a pass runs once a window closes, so
  // keeping them for the next would only hold them resident.
  ReleaseSealedDecodeCache();
  return sealed;
}

bool SeriesStoreImpl::SealWindow(std::shared_ptr<ChunkWindow> old,
                                 absl::FunctionRef<bool()> stop) {
  const int64_t w = old->index();
  auto fresh = std::make_shared<ChunkWindow>(w, memory_);
  SealedFrameBuilder builder;
  std::vector<Job> jobs;
  std::vector<Frame> frames;
  std::vector<SealedChunk> chunks;
  std::vector<uint32_t> chunk_from;
  std::vector<int64_t> t;
  std::vector<uint64_t> bits;
  // The samples of the open frame's entries, to check it when it closes.
  std::vector<int64_t> open_t;
  std::vector<uint64_t> open_bits;
  Frame open;
  SealedDecoder decoder;
  auto close = [&] {
    builder.Finish(open.bytes, open.entries);
    if (RoundTrips(open.bytes, open.entries, open_t, open_bits, decoder)) {
      frames.push_back(std::move(open));
    } else {
      for (uint32_t j : open.jobs) jobs[j].count = 0;  // left as XOR
    }
    open = Frame();
    open_t.clear();
    open_bits.clear();
  };
  const uint32_t size = table_.size();
  for (unsigned i = 0; i < kStripes; ++i) {
    // Nothing is published yet: dropping `fresh` leaves the store as it was
    // (heads sealed above are ordinary XOR chunks).
    if (stop()) return false;
    Stripe& stripe = stripes_[i];
    std::size_t first_job = jobs.size();
    chunks.clear();
    chunk_from.clear();
    {
      StripeGuard lock(stripe.mu);
      ForEachRefInStripe(i, size, [&](SeriesRef ref) {
        Series& s = *table_.Find(ref);
        if (s.dead) return;
        if (s.head != nullptr && WindowOf(s.head_last) == w) SealHead(s);
        uint32_t b = FirstChunkIn(s, w);
        uint32_t e = b;
        while (e < s.sealed_count && !s.sealed[e].compact() &&
               WindowOf(s.sealed[e].min_time()) == w) {
          ++e;
        }
        if (e == b) return;
        jobs.push_back(
            {ref, s.sealed[b].data(), s.sealed[e - 1].data(), e - b, 0, 0, 0});
        chunk_from.push_back(static_cast<uint32_t>(chunks.size()));
        chunks.insert(chunks.end(), s.sealed + b, s.sealed + e);
      });
    }
    // The old window (held here) keeps the gathered bytes alive.
    for (std::size_t j = first_job; j < jobs.size(); ++j) {
      Job& job = jobs[j];
      std::span<const SealedChunk> mine(
          chunks.data() + chunk_from[j - first_job], job.count);
      for (const SealedChunk& c : mine) job.old_bytes += c.bytes;
      if (!DecodeChunks(mine, t, bits)) {
        job.count = 0;  // left as it is
        continue;
      }
      for (std::size_t at = 0; at < t.size();) {
        std::size_t n =
            builder.Add(std::span(t).subspan(at), std::span(bits).subspan(at));
        if (n == 0) {
          close();
          continue;
        }
        open.jobs.push_back(static_cast<uint32_t>(j));
        open.spans.push_back(static_cast<uint64_t>(t[at + n - 1]) -
                             static_cast<uint64_t>(t[at]));
        open_t.insert(open_t.end(), t.begin() + at, t.begin() + at + n);
        open_bits.insert(open_bits.end(), bits.begin() + at,
                         bits.begin() + at + n);
        at += n;
      }
    }
  }
  if (!builder.empty()) close();
  PackFrames(frames, *fresh);
  // Entries in job order: frames closed in order, entries in order.
  std::vector<SealedChunk> blocks;
  for (const Frame& frame : frames) {
    for (std::size_t k = 0; k < frame.entries.size(); ++k) {
      Job& job = jobs[frame.jobs[k]];
      if (job.count == 0) continue;  // a frame of it failed
      if (job.blocks == 0)
        job.blocks_from = static_cast<uint32_t>(blocks.size());
      ++job.blocks;
      blocks.push_back(SealedChunk::Make(frame.at + frame.entries[k].offset,
                                         frame.entries[k].share, frame.spans[k],
                                         /*compact=*/true));
    }
  }
  // A job whose later frame failed has some entries: it stays XOR.
  for (Job& job : jobs) {
    if (job.count == 0) job.blocks = 0;
  }

  {
    std::lock_guard lock(windows_mu_);
    auto it = windows_.find(w);
    if (it == windows_.end() || it->second != old) return false;  // truncated
    fresh->set_predecessor(old);
    old->set_successor(fresh);
    it->second = fresh;
  }
  // Series created since the gather may have packed late chunks too.
  const uint32_t size_now = table_.size();
  std::size_t next_job = 0;
  for (unsigned i = 0; i < kStripes; ++i) {
    Stripe& stripe = stripes_[i];
    StripeGuard lock(stripe.mu);
    ForEachRefInStripe(i, size_now, [&](SeriesRef ref) {
      Series& s = *table_.Find(ref);
      const Job* job = nullptr;
      if (next_job < jobs.size() && jobs[next_job].ref == ref) {
        job = &jobs[next_job++];
      }
      if (s.dead) return;
      uint32_t b = FirstChunkIn(s, w);
      if (job != nullptr && job->count > 0 &&
          b + job->count <= s.sealed_count &&
          s.sealed[b].data() == job->first &&
          s.sealed[b + job->count - 1].data() == job->last) {
        uint64_t new_bytes = 0;
        for (uint32_t k = 0; k < job->blocks; ++k) {
          new_bytes += blocks[job->blocks_from + k].bytes;
        }
        ReplaceSealed(s, b, job->count,
                      std::span(blocks).subspan(job->blocks_from, job->blocks));
        stripe.live_bytes += new_bytes;
        stripe.live_bytes -= job->old_bytes;
        stripe.chunks += job->blocks;
        stripe.chunks -= job->count;
        b += job->blocks;
      }
      // Chunks packed into the old window since the gather move over.
      for (; b < s.sealed_count && WindowOf(s.sealed[b].min_time()) == w; ++b) {
        SealedChunk& c = s.sealed[b];
        if (!c.compact() && old->Holds(c.data())) {
          c = SealedChunk::Make(fresh->Pack(c.view()), c.bytes, c.span,
                                /*compact=*/false);
        }
      }
    });
  }
  uint64_t held_before = alloc::CaptureArenaStats(arena_).memory.allocated;
  {
    std::lock_guard lock(windows_mu_);
    fresh->set_predecessor(nullptr);
    fresh->set_sealed();
  }
  old.reset();  // frees the XOR blocks unless a SeriesSet still holds them
  uint64_t held_after = alloc::CaptureArenaStats(arena_).memory.allocated;
  if (held_after < held_before) purge_.Freed(held_before - held_after);
  return true;
}

SeriesStore::SealedStats SeriesStoreImpl::GetSealedStats() const {
  SeriesStore::SealedStats out;
  const uint32_t size = table_.size();
  for (unsigned i = 0; i < kStripes; ++i) {
    const Stripe& stripe = stripes_[i];
    StripeGuard lock(stripe.mu);
    ForEachRefInStripe(i, size, [&](SeriesRef ref) {
      const Series& s = *table_.Find(ref);
      if (s.dead) return;
      for (uint32_t c = 0; c < s.sealed_count; ++c) {
        if (s.sealed[c].compact()) out.samples += s.sealed[c].samples();
      }
    });
  }
  std::shared_lock lock(windows_mu_);
  for (const auto& [index, window] : windows_) {
    if (!window->sealed()) continue;
    ++out.windows;
    out.bytes += window->held_bytes();
  }
  return out;
}

void SeriesStoreImpl::ReplaceSealed(Series& s, uint32_t at, uint32_t count,
                                    std::span<const SealedChunk> chunks) {
  uint32_t after = s.sealed_count - at - count;
  uint32_t new_count =
      s.sealed_count - count + static_cast<uint32_t>(chunks.size());
  std::size_t have = SealedBytes(s.sealed_count);
  std::size_t want = SealedBytes(new_count);
  if (want > have) {
    s.sealed = static_cast<SealedChunk*>(arena_.Reallocate(s.sealed, want));
  }
  std::memmove(s.sealed + at + chunks.size(), s.sealed + at + count,
               after * sizeof(SealedChunk));
  std::copy(chunks.begin(), chunks.end(), s.sealed + at);
  s.sealed_count = new_count;
  if (want < have) {
    s.sealed = static_cast<SealedChunk*>(arena_.Reallocate(s.sealed, want));
  }
}

}  // namespace keel::core::core_internal
