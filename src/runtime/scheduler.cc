// Placer (resource map) and Scheduler (queue policy).
//
// Placer design. Per node: the free core count and a bitmap of free core ids, the same for
// GPUs, the free memory, and an "exclusively held" flag. Over the nodes sits a segment tree
// whose inner entries hold the maxima of their leaves' free cores, free GPUs, free memory and
// "wholly idle" flag; a held node's leaf is all -1, so nothing else finds it. "The first node
// with >= c cores, >= g GPUs and >= m MiB free" descends the tree in O(log N) (a descent can
// backtrack when the three maxima come from different nodes; that stays rare in practice).
// A request of R ranks is packed greedily: ask the tree for the first node that fits k ranks,
// starting with k = min(R, what the best node could hold) and halving on a miss, then take as
// many ranks as that node fits; repeat until all ranks are placed, or roll back. The greedy
// succeeds exactly when the free nodes together fit R ranks, so success is monotone in the
// request's size (the Scheduler relies on that to skip hopeless candidates).
// Feasibility on the empty pilot is answered from the distinct node shapes (usually one), so
// CheckFeasible costs O(shapes), not O(nodes).
//
// Scheduler design. Queued tasks live in a slab (a deque, indices stay valid) threaded into one
// FIFO doubly-linked list per priority; the levels sit in a std::map ordered high to low, and a
// hash map takes a key to its slab slot, so enqueue and remove are O(log P) and placement
// never scans the queue more than `backfill_depth` entries past a blocked head.
#include "drc/runtime/scheduler.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

namespace drc::runtime {

namespace {

// Free memory of a node whose memory is not tracked (NodeSpec::mem_mb == 0): large enough for
// any request, small enough that k * mem_per_rank comparisons cannot overflow.
constexpr int64_t kUntrackedMem = std::numeric_limits<int64_t>::max() / 4;

struct Agg {
  int32_t cores;
  int32_t gpus;
  int64_t mem;
  int32_t idle;  // 1 if some leaf below is a wholly idle, unheld node

  bool operator==(const Agg&) const = default;
};

constexpr Agg kNoNode = {-1, -1, -1, 0};

Agg Combine(const Agg& a, const Agg& b) {
  return {std::max(a.cores, b.cores), std::max(a.gpus, b.gpus), std::max(a.mem, b.mem),
          std::max(a.idle, b.idle)};
}

// Ranks of (c, g, m) that fit in (fc, fg, fm); all free values >= 0.
int64_t Fit(int64_t fc, int64_t fg, int64_t fm, int c, int g, int64_t m) {
  int64_t k = fc / c;
  if (g > 0) k = std::min<int64_t>(k, fg / g);
  if (m > 0) k = std::min<int64_t>(k, fm / m);
  return k;
}

// Moves the `count` lowest set bits of words[0..n) to `out` (as bit indices) and clears them.
void TakeBits(uint64_t* words, size_t n, int count, std::vector<int32_t>* out) {
  for (size_t w = 0; w < n && count > 0; ++w) {
    uint64_t word = words[w];
    while (word != 0 && count > 0) {
      int bit = __builtin_ctzll(word);
      word &= word - 1;
      out->push_back(static_cast<int32_t>(w * 64 + static_cast<size_t>(bit)));
      --count;
    }
    words[w] = word;
  }
  assert(count == 0);
}

void ReturnBit(uint64_t* words, int32_t id) {
  uint64_t mask = uint64_t{1} << (id % 64);
  assert((words[id / 64] & mask) == 0 && "core or GPU released twice");
  words[id / 64] |= mask;
}

void FillBits(std::vector<uint64_t>* bits, size_t offset, int count) {
  for (int i = 0; i < count; ++i) {
    (*bits)[offset + static_cast<size_t>(i) / 64] |= uint64_t{1} << (i % 64);
  }
}

const char* Plural(int64_t n, const char* one, const char* many) { return n == 1 ? one : many; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Placer

struct Placer::Impl {
  struct Shape {
    int cores;
    int gpus;
    int64_t mem;  // kUntrackedMem when not tracked
    int64_t count;
  };
  struct Tag {
    std::vector<int32_t> nodes;  // sorted, unique
    int64_t running = 0;
  };

  ResourceSpec spec;
  size_t n = 0;
  std::vector<int32_t> free_c, free_g;
  std::vector<int64_t> free_m;
  std::vector<uint8_t> held;
  std::vector<uint32_t> core_off, gpu_off;  // word offsets, size n + 1
  std::vector<uint64_t> core_bits, gpu_bits;
  size_t leaves = 1;
  std::vector<Agg> tree;
  int64_t free_cores_total = 0;  // usable by new placements (held nodes excluded)
  int64_t free_gpus_total = 0;
  std::vector<Shape> shapes;
  int64_t total_cores = 0, total_gpus = 0, total_mem = 0;
  bool all_mem_tracked = true;
  std::unordered_map<std::string, Tag> tags;

  explicit Impl(ResourceSpec resources) : spec(std::move(resources)) {
    n = spec.nodes.size();
    free_c.resize(n);
    free_g.resize(n);
    free_m.resize(n);
    held.assign(n, 0);
    core_off.resize(n + 1);
    gpu_off.resize(n + 1);
    for (size_t i = 0; i < n; ++i) {
      NodeSpec& node = spec.nodes[i];
      node.cores = std::max(node.cores, 0);
      node.gpus = std::max(node.gpus, 0);
      node.mem_mb = std::max<int64_t>(node.mem_mb, 0);
      core_off[i + 1] = core_off[i] + static_cast<uint32_t>((node.cores + 63) / 64);
      gpu_off[i + 1] = gpu_off[i] + static_cast<uint32_t>((node.gpus + 63) / 64);
    }
    core_bits.assign(core_off[n], 0);
    gpu_bits.assign(gpu_off[n], 0);
    while (leaves < n) leaves *= 2;
    tree.assign(2 * leaves, kNoNode);
    for (size_t i = 0; i < n; ++i) {
      const NodeSpec& node = spec.nodes[i];
      free_c[i] = node.cores;
      free_g[i] = node.gpus;
      free_m[i] = node.mem_mb > 0 ? node.mem_mb : kUntrackedMem;
      FillBits(&core_bits, core_off[i], node.cores);
      FillBits(&gpu_bits, gpu_off[i], node.gpus);
      free_cores_total += node.cores;
      free_gpus_total += node.gpus;
      total_cores += node.cores;
      total_gpus += node.gpus;
      total_mem += node.mem_mb;
      if (node.mem_mb == 0) all_mem_tracked = false;
      tree[leaves + i] = Leaf(i);
      AddShape(node.cores, node.gpus, free_m[i]);
    }
    for (size_t v = leaves - 1; v >= 1; --v) tree[v] = Combine(tree[2 * v], tree[2 * v + 1]);
  }

  void AddShape(int cores, int gpus, int64_t mem) {
    for (auto& s : shapes) {
      if (s.cores == cores && s.gpus == gpus && s.mem == mem) {
        ++s.count;
        return;
      }
    }
    shapes.push_back({cores, gpus, mem, 1});
  }

  bool Tracked(size_t i) const { return spec.nodes[i].mem_mb > 0; }
  bool Idle(size_t i) const { return !held[i] && free_c[i] == spec.nodes[i].cores; }

  Agg Leaf(size_t i) const {
    if (held[i]) return kNoNode;
    return {free_c[i], free_g[i], free_m[i], Idle(i) ? 1 : 0};
  }

  void Update(size_t i) {
    size_t v = leaves + i;
    tree[v] = Leaf(i);
    for (v >>= 1; v >= 1; v >>= 1) {
      Agg a = Combine(tree[2 * v], tree[2 * v + 1]);
      if (a == tree[v]) break;
      tree[v] = a;
    }
  }

  // The first node (lowest index) with the given free amounts, or -1.
  int64_t FindFirst(int64_t c, int64_t g, int64_t m, bool idle) const {
    auto ok = [&](const Agg& a) {
      return a.cores >= c && a.gpus >= g && a.mem >= m && (!idle || a.idle != 0);
    };
    if (!ok(tree[1])) return -1;
    // Iterative depth-first descent, left first; backtracks only when a subtree's maxima
    // came from different nodes.
    size_t stack[64];
    int top = 0;
    stack[top++] = 1;
    while (top > 0) {
      size_t v = stack[--top];
      while (v < leaves) {
        size_t l = 2 * v;
        bool ok_l = ok(tree[l]);
        bool ok_r = ok(tree[l + 1]);
        if (ok_l) {
          if (ok_r) stack[top++] = l + 1;
          v = l;
        } else if (ok_r) {
          v = l + 1;
        } else {
          v = 0;
          break;
        }
      }
      if (v >= leaves) return static_cast<int64_t>(v - leaves);
    }
    return -1;
  }

  int64_t NodeFit(size_t i, const ResourceRequest& r, bool need_idle) const {
    if (held[i] || (need_idle && !Idle(i))) return 0;
    return Fit(free_c[i], free_g[i], free_m[i], r.cores_per_rank, r.gpus_per_rank,
               r.mem_per_rank_mb);
  }

  void Take(size_t i, int64_t k, const ResourceRequest& r, Placement* p) {
    const int c = r.cores_per_rank;
    const int g = r.gpus_per_rank;
    for (int64_t j = 0; j < k; ++j) {
      RankPlacement rank;
      rank.node = static_cast<int32_t>(i);
      rank.cores.reserve(static_cast<size_t>(c));
      TakeBits(&core_bits[core_off[i]], core_off[i + 1] - core_off[i], c, &rank.cores);
      if (g > 0) {
        rank.gpus.reserve(static_cast<size_t>(g));
        TakeBits(&gpu_bits[gpu_off[i]], gpu_off[i + 1] - gpu_off[i], g, &rank.gpus);
      }
      rank.mem_mb = r.mem_per_rank_mb;
      p->ranks.push_back(std::move(rank));
    }
    free_c[i] -= static_cast<int32_t>(k * c);
    free_g[i] -= static_cast<int32_t>(k * g);
    if (Tracked(i)) free_m[i] -= k * r.mem_per_rank_mb;
    free_cores_total -= k * c;
    free_gpus_total -= k * g;
    if (r.exclusive) {
      held[i] = 1;
      free_cores_total -= free_c[i];
      free_gpus_total -= free_g[i];
    }
    Update(i);
  }

  // Returns ranks [from, end) of `p`; a node's ranks are adjacent.
  void Return(const Placement& p, size_t from, const ResourceRequest& r) {
    const size_t end = p.ranks.size();
    if (r.exclusive) {
      for (size_t j = from; j < end; ++j) {
        auto i = static_cast<size_t>(p.ranks[j].node);
        if (held[i]) {
          held[i] = 0;
          free_cores_total += free_c[i];
          free_gpus_total += free_g[i];
        }
      }
    }
    for (size_t j = from; j < end; ++j) {
      const RankPlacement& rank = p.ranks[j];
      auto i = static_cast<size_t>(rank.node);
      assert(i < n);
      for (int32_t id : rank.cores) ReturnBit(&core_bits[core_off[i]], id);
      for (int32_t id : rank.gpus) ReturnBit(&gpu_bits[gpu_off[i]], id);
      auto c = static_cast<int32_t>(rank.cores.size());
      auto g = static_cast<int32_t>(rank.gpus.size());
      free_c[i] += c;
      free_g[i] += g;
      if (Tracked(i)) free_m[i] += rank.mem_mb;
      free_cores_total += c;
      free_gpus_total += g;
      if (j + 1 == end || p.ranks[j + 1].node != rank.node) Update(i);
    }
  }

  bool PlaceAnywhere(const ResourceRequest& r, Placement* p) {
    const int c = r.cores_per_rank;
    const int g = r.gpus_per_rank;
    const int64_t m = r.mem_per_rank_mb;
    int64_t remaining = r.ranks;
    while (remaining > 0) {
      const Agg& root = tree[1];
      if (root.cores < c || root.gpus < g || root.mem < m) return false;
      if (r.exclusive && root.idle == 0) return false;
      int64_t k = std::min<int64_t>(remaining, Fit(root.cores, root.gpus, root.mem, c, g, m));
      int64_t node = -1;
      while (true) {
        node = FindFirst(k * c, k * g, k * m, r.exclusive);
        if (node >= 0 || k == 1) break;
        k /= 2;
      }
      if (node < 0) return false;
      int64_t take = std::min(remaining, NodeFit(static_cast<size_t>(node), r, r.exclusive));
      assert(take >= 1);
      Take(static_cast<size_t>(node), take, r, p);
      remaining -= take;
    }
    return true;
  }

  bool PlaceOn(const std::vector<int32_t>& nodes, const ResourceRequest& r, Placement* p) {
    int64_t remaining = r.ranks;
    for (int32_t node : nodes) {
      auto i = static_cast<size_t>(node);
      int64_t take = std::min(remaining, NodeFit(i, r, r.exclusive));
      if (take > 0) {
        Take(i, take, r, p);
        remaining -= take;
        if (remaining == 0) return true;
      }
    }
    return false;
  }

  std::optional<Placement> TryPlace(const ResourceRequest& r) {
    if (r.ranks < 1 || r.cores_per_rank < 1 || r.gpus_per_rank < 0 || r.mem_per_rank_mb < 0 ||
        n == 0) {
      return std::nullopt;
    }
    // Cheap rejection before any work.
    if (int64_t{r.ranks} * r.cores_per_rank > free_cores_total ||
        int64_t{r.ranks} * r.gpus_per_rank > free_gpus_total) {
      return std::nullopt;
    }
    Placement p;
    p.ranks.reserve(static_cast<size_t>(r.ranks));
    Tag* tag = nullptr;
    bool placed = false;
    if (!r.colocate.empty()) {
      auto it = tags.find(r.colocate);
      if (it != tags.end()) {
        tag = &it->second;
        placed = PlaceOn(tag->nodes, r, &p);
      } else {
        placed = PlaceAnywhere(r, &p);
      }
    } else {
      placed = PlaceAnywhere(r, &p);
    }
    if (!placed) {
      Return(p, 0, r);
      return std::nullopt;
    }
    if (!r.colocate.empty()) {
      if (tag == nullptr) {
        tag = &tags[r.colocate];
        for (const auto& rank : p.ranks) {
          if (tag->nodes.empty() || tag->nodes.back() != rank.node) {
            tag->nodes.push_back(rank.node);
          }
        }
        std::sort(tag->nodes.begin(), tag->nodes.end());
        tag->nodes.erase(std::unique(tag->nodes.begin(), tag->nodes.end()), tag->nodes.end());
      }
      ++tag->running;
    }
    return p;
  }

  void Release(const Placement& p, const ResourceRequest& r) {
    Return(p, 0, r);
    if (!r.colocate.empty()) {
      auto it = tags.find(r.colocate);
      if (it != tags.end() && --it->second.running <= 0) tags.erase(it);
    }
  }

  Status CheckFeasible(const ResourceRequest& r) const {
    if (r.ranks < 1) return Status::InvalidArgument("ranks must be >= 1, got ", r.ranks);
    if (r.cores_per_rank < 1) {
      return Status::InvalidArgument("cores_per_rank must be >= 1, got ", r.cores_per_rank);
    }
    if (r.gpus_per_rank < 0) {
      return Status::InvalidArgument("gpus_per_rank must be >= 0, got ", r.gpus_per_rank);
    }
    if (r.mem_per_rank_mb < 0) {
      return Status::InvalidArgument("mem_per_rank_mb must be >= 0, got ", r.mem_per_rank_mb);
    }
    if (n == 0) return Status::InvalidArgument("the pilot has no nodes");
    const int c = r.cores_per_rank;
    const int g = r.gpus_per_rank;
    const int64_t m = r.mem_per_rank_mb;
    if (g > 0 && total_gpus == 0) {
      return Status::InvalidArgument("asks for ", g, Plural(g, " GPU", " GPUs"),
                                     " per rank but the pilot has no GPUs");
    }
    int max_c = 0;
    int max_g = 0;
    int64_t max_m = 0;
    int64_t capacity = 0;   // ranks that fit on the empty pilot
    int64_t best_fit = 0;   // ranks that fit on the best node
    int64_t fit_nodes = 0;  // nodes that fit at least one rank
    for (const Shape& s : shapes) {
      max_c = std::max(max_c, s.cores);
      max_g = std::max(max_g, s.gpus);
      max_m = std::max(max_m, s.mem);
      int64_t f = Fit(s.cores, s.gpus, s.mem, c, g, m);
      capacity += f * s.count;
      best_fit = std::max(best_fit, f);
      if (f > 0) fit_nodes += s.count;
    }
    if (best_fit == 0) {
      if (c > max_c) {
        return Status::InvalidArgument("asks for ", c, Plural(c, " core", " cores"),
                                       " per rank but the largest node has ", max_c);
      }
      if (g > max_g) {
        return Status::InvalidArgument("asks for ", g, Plural(g, " GPU", " GPUs"),
                                       " per rank but the largest node has ", max_g);
      }
      if (m > max_m) {
        return Status::InvalidArgument("asks for ", m, " MiB per rank but the largest node has ",
                                       max_m, " MiB");
      }
      std::string what = Status::Concat(c, Plural(c, " core", " cores"));
      if (g > 0 && m > 0) {
        what += Status::Concat(", ", g, Plural(g, " GPU", " GPUs"), " and ", m, " MiB");
      } else if (g > 0) {
        what += Status::Concat(" and ", g, Plural(g, " GPU", " GPUs"));
      } else if (m > 0) {
        what += Status::Concat(" and ", m, " MiB");
      }
      return Status::InvalidArgument("asks for ", what,
                                     " per rank but no single node has all of them");
    }
    if (capacity >= r.ranks) return Status::OK();
    const int64_t ranks = r.ranks;
    if (r.exclusive) {
      int64_t needed = (ranks + best_fit - 1) / best_fit;
      return Status::InvalidArgument(
          "is exclusive and needs at least ", needed, Plural(needed, " node", " nodes"), " (",
          ranks, " ranks, at most ", best_fit, " per node) but the pilot has ", fit_nodes,
          fit_nodes == static_cast<int64_t>(n) ? "" : " that fit a rank");
    }
    if (ranks * c > total_cores) {
      return Status::InvalidArgument("asks for ", ranks * c, " cores in total (", ranks,
                                     " ranks x ", c, ") but the pilot has ", total_cores);
    }
    if (ranks * g > total_gpus) {
      return Status::InvalidArgument("asks for ", ranks * g, " GPUs in total (", ranks, " ranks x ",
                                     g, ") but the pilot has ", total_gpus);
    }
    if (all_mem_tracked && ranks * m > total_mem) {
      return Status::InvalidArgument("asks for ", ranks * m, " MiB in total (", ranks, " ranks x ",
                                     m, " MiB) but the pilot has ", total_mem, " MiB");
    }
    return Status::InvalidArgument("asks for ", ranks, " ranks but at most ", capacity,
                                   " ranks of that size fit on the pilot (a rank cannot span "
                                   "nodes)");
  }
};

Placer::Placer(ResourceSpec resources) : impl_(std::make_unique<Impl>(std::move(resources))) {}
Placer::~Placer() = default;
Placer::Placer(Placer&&) noexcept = default;
Placer& Placer::operator=(Placer&&) noexcept = default;

Status Placer::CheckFeasible(const ResourceRequest& request) const {
  return impl_->CheckFeasible(request);
}
std::optional<Placement> Placer::TryPlace(const ResourceRequest& request) {
  return impl_->TryPlace(request);
}
void Placer::Release(const Placement& placement, const ResourceRequest& request) {
  impl_->Release(placement, request);
}
const ResourceSpec& Placer::resources() const { return impl_->spec; }
int64_t Placer::free_cores() const { return impl_->free_cores_total; }
int64_t Placer::free_gpus() const { return impl_->free_gpus_total; }

// ---------------------------------------------------------------------------------------------
// Scheduler

namespace {

constexpr uint32_t kNil = std::numeric_limits<uint32_t>::max();

// A request without its tag string (interned in TagTable): keeps a million queued tasks small.
struct CompactRequest {
  int32_t ranks = 1;
  int32_t cores = 1;
  int32_t gpus = 0;
  int32_t tag = -1;
  int64_t mem = 0;
  bool exclusive = false;

  // True if this request cannot fit wherever `other` does not (both untagged).
  bool Dominates(const CompactRequest& other) const {
    return ranks >= other.ranks && cores >= other.cores && gpus >= other.gpus && mem >= other.mem &&
           (exclusive || !other.exclusive);
  }
};

// Interned colocate tags with reference counts (queued + running tasks holding each).
class TagTable {
 public:
  int32_t Ref(const std::string& tag) {
    if (tag.empty()) return -1;
    auto [it, inserted] = ids_.try_emplace(tag, 0);
    if (inserted) {
      if (!free_.empty()) {
        it->second = free_.back();
        free_.pop_back();
        names_[static_cast<size_t>(it->second)] = tag;
        refs_[static_cast<size_t>(it->second)] = 0;
      } else {
        it->second = static_cast<int32_t>(names_.size());
        names_.push_back(tag);
        refs_.push_back(0);
      }
    }
    ++refs_[static_cast<size_t>(it->second)];
    return it->second;
  }
  void Unref(int32_t id) {
    if (id < 0) return;
    auto i = static_cast<size_t>(id);
    if (--refs_[i] == 0) {
      ids_.erase(names_[i]);
      names_[i].clear();
      free_.push_back(id);
    }
  }
  const std::string& Name(int32_t id) const { return names_[static_cast<size_t>(id)]; }

 private:
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::string> names_;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;
};

}  // namespace

struct Scheduler::Impl {
  struct Entry {
    TaskKey key = 0;
    CompactRequest req;
    int32_t priority = 0;
    uint32_t prev = kNil;
    uint32_t next = kNil;
  };
  struct Level {
    uint32_t head = kNil;
    uint32_t tail = kNil;
  };

  Placer placer;
  SchedulerOptions options;
  std::deque<Entry> slab;
  std::vector<uint32_t> free_slots;
  std::map<int32_t, Level, std::greater<>> levels;
  std::unordered_map<TaskKey, uint32_t> queued;
  std::unordered_map<TaskKey, CompactRequest> running;
  TagTable tags;
  std::optional<TaskKey> head_key;  // the blocked head being counted
  int head_skips = 0;
  ResourceRequest scratch;  // reused to avoid re-allocating the tag string

  Impl(ResourceSpec resources, SchedulerOptions opts)
      : placer(std::move(resources)), options(opts) {}

  const ResourceRequest& Expand(const CompactRequest& c) {
    scratch.ranks = c.ranks;
    scratch.cores_per_rank = c.cores;
    scratch.gpus_per_rank = c.gpus;
    scratch.mem_per_rank_mb = c.mem;
    scratch.exclusive = c.exclusive;
    if (c.tag >= 0) {
      scratch.colocate = tags.Name(c.tag);
    } else {
      scratch.colocate.clear();
    }
    return scratch;
  }

  void Unlink(uint32_t idx, Level* level) {
    Entry& e = slab[idx];
    if (e.prev != kNil) {
      slab[e.prev].next = e.next;
    } else {
      level->head = e.next;
    }
    if (e.next != kNil) {
      slab[e.next].prev = e.prev;
    } else {
      level->tail = e.prev;
    }
    queued.erase(e.key);
    e.prev = e.next = kNil;
    free_slots.push_back(idx);
  }

  Status Enqueue(TaskKey key, const ResourceRequest& r, int priority) {
    if (queued.count(key) != 0) {
      return Status::AlreadyExists("task ", key, " is queued already");
    }
    if (running.count(key) != 0) {
      return Status::AlreadyExists("task ", key, " is running; release it before requeueing");
    }
    DRC_RETURN_NOT_OK(placer.CheckFeasible(r));
    uint32_t idx;
    if (!free_slots.empty()) {
      idx = free_slots.back();
      free_slots.pop_back();
    } else {
      idx = static_cast<uint32_t>(slab.size());
      slab.emplace_back();
    }
    Entry& e = slab[idx];
    e.key = key;
    e.req = {r.ranks,           r.cores_per_rank, r.gpus_per_rank, tags.Ref(r.colocate),
             r.mem_per_rank_mb, r.exclusive};
    e.priority = priority;
    Level& level = levels[priority];
    e.prev = level.tail;
    e.next = kNil;
    if (level.tail != kNil) {
      slab[level.tail].next = idx;
    } else {
      level.head = idx;
    }
    level.tail = idx;
    queued.emplace(key, idx);
    return Status::OK();
  }

  bool Remove(TaskKey key) {
    auto it = queued.find(key);
    if (it == queued.end()) return false;
    uint32_t idx = it->second;
    int32_t tag = slab[idx].req.tag;
    auto level = levels.find(slab[idx].priority);
    Unlink(idx, &level->second);
    if (level->second.head == kNil) levels.erase(level);
    tags.Unref(tag);
    return true;
  }

  std::vector<std::pair<TaskKey, Placement>> Schedule(size_t max) {
    std::vector<std::pair<TaskKey, Placement>> out;
    if (max == 0 || placer.free_cores() == 0) return out;
    // Untagged requests that failed in this call: nothing is released during a call, so any
    // request at least as large fails too and is skipped without asking the placer.
    constexpr size_t kMemo = 16;
    CompactRequest failed[kMemo];
    size_t n_failed = 0;
    bool blocked = false;
    size_t examined = 0;  // entries looked at past the blocked head
    bool stop = false;
    for (auto level = levels.begin(); level != levels.end() && !stop;) {
      uint32_t idx = level->second.head;
      while (idx != kNil) {
        Entry& e = slab[idx];
        const uint32_t next = e.next;
        if (blocked && examined++ >= options.backfill_depth) {
          stop = true;
          break;
        }
        bool hopeless = false;
        if (e.req.tag < 0) {
          for (size_t f = 0; f < n_failed && !hopeless; ++f) hopeless = e.req.Dominates(failed[f]);
        }
        std::optional<Placement> p;
        if (!hopeless) p = placer.TryPlace(Expand(e.req));
        if (p) {
          if (blocked) {
            ++head_skips;
          } else if (head_key && *head_key == e.key) {
            head_key.reset();
            head_skips = 0;
          }
          const TaskKey key = e.key;
          running.emplace(key, e.req);  // the tag reference moves to the running task
          Unlink(idx, &level->second);
          out.emplace_back(key, std::move(*p));
          if (out.size() >= max || placer.free_cores() == 0 ||
              (blocked && head_skips >= options.max_head_skips)) {
            stop = true;
            break;
          }
        } else {
          if (!hopeless && e.req.tag < 0 && n_failed < kMemo) failed[n_failed++] = e.req;
          if (!blocked) {
            blocked = true;
            if (!head_key || *head_key != e.key) {
              head_key = e.key;
              head_skips = 0;
            }
            if (head_skips >= options.max_head_skips || options.backfill_depth == 0) {
              stop = true;
              break;
            }
          }
        }
        idx = next;
      }
      if (level->second.head == kNil) {
        level = levels.erase(level);
      } else {
        ++level;
      }
    }
    return out;
  }

  void Release(TaskKey key, const Placement& placement) {
    auto it = running.find(key);
    if (it == running.end()) return;
    placer.Release(placement, Expand(it->second));
    tags.Unref(it->second.tag);
    running.erase(it);
  }
};

Scheduler::Scheduler(ResourceSpec resources, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(std::move(resources), options)) {}
Scheduler::~Scheduler() = default;

Status Scheduler::Enqueue(TaskKey key, const ResourceRequest& request, int priority) {
  return impl_->Enqueue(key, request, priority);
}
bool Scheduler::Remove(TaskKey key) { return impl_->Remove(key); }
std::vector<std::pair<Scheduler::TaskKey, Placement>> Scheduler::Schedule(size_t max) {
  return impl_->Schedule(max);
}
void Scheduler::Release(TaskKey key, const Placement& placement) { impl_->Release(key, placement); }
size_t Scheduler::queued() const { return impl_->queued.size(); }
size_t Scheduler::running() const { return impl_->running.size(); }
const Placer& Scheduler::placer() const { return impl_->placer; }

}  // namespace drc::runtime
