// PrefixTrie<Key, V>: the longest-prefix-match trie behind PrefixTable, on
// raw keys (uint32_t for IPv4, unsigned __int128 for IPv6: the address as a
// number, first bit most significant). A prefix is (key, length) with every
// bit past the length zero.
//
// Structure: stride-8 popcount-compressed nodes (prefix_node.h) under a
// directory of the first 16 bits (prefix_directory.h). Prefixes of 16 bits
// or fewer sit in two levels of nodes (the "upper" ones: a root and its
// children, which have none of their own). Each longer prefix sits in the
// nodes under its /16's directory entry, from depth 2 down (IPv4: at most 2
// levels, IPv6: 14). Each node carries its cover, the longest prefix above
// it holding all of it, so that a longest match reads its directory entry
// and walks down the nodes under it but looks for prefixes only in the
// deepest one; a /16 with no node under it has its answer in the entry
// itself (leaf pushing). Writes keep covers and leaves up to date: a prefix
// of 16 bits or fewer rewrites the entries it holds and copies the nodes
// whose cover changes (one entry for a /16, 256 for an IPv4 /8, more for
// the rare shorter ones). The default route is no node's cover and no
// leaf's: it would be all of them; lookups fall back to it.
//
// Concurrency: one writer, any number of readers, readers never block.
// Published nodes, chunks and versions are immutable. The writer edits a
// working version: a node it has to change is copied once per batch (the
// copy is private, marked with the batch's generation, and edited in place
// from then on), and so is every node on the path above it, the directory
// chunk that points to the path, and the version. Publishing stores the
// working version with one seq_cst store: a reader that loads it sees a
// complete table, before or after each batch, and everything it reaches
// stays valid while it holds an EpochGuard. What a batch replaced is retired
// and freed once every reader pinned before the publish is gone. Private
// blocks the writer drops before publishing are freed at once.
//
// Files: the node and its splicing in prefix_node.h, the directory in
// prefix_directory.h, the key layout both sides share in
// prefix_trie_shape.h, the queries in prefix_trie_reader.h, the writes in
// prefix_trie_writer.h over the copy-on-write versions of
// prefix_trie_versions.h, retirement in epoch_retire_list.h.
//
// Thread safety: the writer methods (Insert, Remove, BeginBatch, EndBatch,
// Reclaim, FlushPool, working_size) from one thread at a time; the reader
// methods from any thread, each under an EpochGuard (epoch_domain.h).
#ifndef KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_H_
#define KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_H_

#include <cstddef>
#include <optional>

#include "alloc/arena.h"
#include "core/prefixes/internal/prefix_trie_reader.h"
#include "core/prefixes/internal/prefix_trie_shape.h"
#include "core/prefixes/internal/prefix_trie_writer.h"

namespace keel::core::core_internal {

template <class Key, class V>
class PrefixTrie : public PrefixTrieWriter<Key, V> {
  using Reader = PrefixTrieReader<Key, V>;

 public:
  using Hit = typename Reader::Hit;

  // REQUIRES: `arena` outlives the trie.
  explicit PrefixTrie(alloc::Arena& arena) : PrefixTrieWriter<Key, V>(arena) {}
  // REQUIRES: no reader is inside the trie.
  ~PrefixTrie() = default;

  static Key Mask(int length) { return PrefixTrieShape<Key, V>::Mask(length); }

  // ---- Readers (under an EpochGuard), on the published version -----------

  // Prefixes in the published version.
  size_t size() const { return this->published_size(); }

  std::optional<V> Exact(Key key, int length) const {
    return Reader::Exact(this->published(), key, length);
  }
  // The longest prefix holding the address `key`, length -1 for none (the
  // value is then meaningless).
  [[gnu::always_inline]] Hit Find(Key key) const {
    return Reader::Find(this->published(), key);
  }
  // Find for keys[0..n), into out[0..n).
  void LongestBatch(const Key* keys, size_t n, std::optional<V>* out) const {
    Reader::LongestBatch(this->published(), keys, n, out);
  }
  // Calls visit(key, length, value) for every prefix covering (key, length),
  // itself included, shortest first.
  template <class Visit>
  void LessSpecifics(Key key, int length, Visit&& visit) const {
    Reader::LessSpecifics(this->published(), key, length, visit);
  }
  // Calls visit(key, length, value) for every prefix inside (key, length),
  // itself included, in address order (then shorter first).
  template <class Visit>
  void MoreSpecifics(Key key, int length, Visit&& visit) const {
    Reader::MoreSpecifics(this->published(), key, length, visit);
  }
  template <class Visit>
  void ForEach(Visit&& visit) const {
    Reader::ForEach(this->published(), visit);
  }
};

}  // namespace keel::core::core_internal

#endif  // KEEL_CORE_PREFIXES_INTERNAL_PREFIX_TRIE_H_
