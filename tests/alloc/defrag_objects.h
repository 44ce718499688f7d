// Test helper for the defragmentation tests: checksummed objects in an
// arena, kept in shards that each guard their pointers with a shared mutex
// (readers shared, the defragmenter's swap exclusive), walked as a
// DefragClient.
#ifndef KEEL_TESTS_ALLOC_DEFRAG_OBJECTS_H_
#define KEEL_TESTS_ALLOC_DEFRAG_OBJECTS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <vector>

#include "alloc/arena.h"
#include "alloc/defrag.h"

namespace keel::alloc {

struct TestObject {
  void* data = nullptr;  // null once freed
  std::size_t size = 0;
  uint64_t checksum = 0;  // FNV-1a of the contents
};

inline uint64_t Checksum(const void* data, std::size_t size) {
  uint64_t h = 14695981039346656037u;
  for (std::size_t i = 0; i < size; ++i) {
    h = (h ^ static_cast<const unsigned char*>(data)[i]) * 1099511628211u;
  }
  return h;
}

// Contents that differ from object to object, so a copy from the wrong
// place or a torn copy fails the checksum.
inline TestObject MakeObject(Arena& arena, std::size_t size, uint64_t seed) {
  TestObject o{arena.Allocate(size), size, 0};
  std::mt19937_64 bits(seed);
  auto* bytes = static_cast<unsigned char*>(o.data);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = bits() & 0xff;
  o.checksum = Checksum(o.data, size);
  return o;
}

class ObjectShards : public DefragClient {
 public:
  struct Shard {
    mutable std::shared_mutex mu;
    std::vector<TestObject> objects;
  };

  ObjectShards(Arena& arena, std::size_t shards)
      : arena_(arena), shards_(shards) {}
  ~ObjectShards() override {
    for (Shard& s : shards_) {
      for (TestObject& o : s.objects) Free(o);
    }
  }

  std::vector<Shard>& shards() { return shards_; }

  void Free(TestObject& o) {
    if (o.data == nullptr) return;
    arena_.Deallocate(o.data, o.size);
    o.data = nullptr;
  }

  // Objects whose contents do not match their checksum (under each
  // shard's shared lock).
  std::size_t CountCorrupt() const {
    std::size_t corrupt = 0;
    for (const Shard& s : shards_) {
      std::shared_lock lock(s.mu);
      for (const TestObject& o : s.objects) {
        if (o.data != nullptr && Checksum(o.data, o.size) != o.checksum) {
          ++corrupt;
        }
      }
    }
    return corrupt;
  }

  // The cursor is shard * 2^32 + index within the shard.
  std::optional<uint64_t> DefragWalk(uint64_t cursor,
                                     Defragmenter& defrag) override {
    for (std::size_t s = cursor >> 32; s < shards_.size(); ++s) {
      Shard& shard = shards_[s];
      std::size_t i = s == (cursor >> 32) ? cursor & 0xffffffffu : 0;
      while (true) {
        if (defrag.Yield()) return (uint64_t{s} << 32) | i;
        // A few objects per lock hold: readers wait at most that long.
        std::unique_lock lock(shard.mu);
        std::size_t end = std::min(shard.objects.size(), i + kBatch);
        for (; i < end; ++i) {
          TestObject& o = shard.objects[i];
          if (o.data == nullptr) continue;
          if (void* moved = defrag.MaybeMove(o.data, o.size)) o.data = moved;
        }
        if (i >= shard.objects.size()) break;
      }
    }
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kBatch = 16;
  Arena& arena_;
  std::vector<Shard> shards_;
};

}  // namespace keel::alloc

#endif  // KEEL_TESTS_ALLOC_DEFRAG_OBJECTS_H_
