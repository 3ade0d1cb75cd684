#include "drc/runtime/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <utility>

namespace drc::runtime {
namespace {

ResourceRequest Req(int ranks, int cores, int gpus = 0, int64_t mem = 0) {
  ResourceRequest r;
  r.ranks = ranks;
  r.cores_per_rank = cores;
  r.gpus_per_rank = gpus;
  r.mem_per_rank_mb = mem;
  return r;
}

ResourceRequest Tagged(ResourceRequest r, std::string tag) {
  r.colocate = std::move(tag);
  return r;
}

ResourceRequest Exclusive(ResourceRequest r) {
  r.exclusive = true;
  return r;
}

std::vector<int> Nodes(const Placement& p) {
  std::vector<int> nodes;
  for (const auto& r : p.ranks) nodes.push_back(r.node);
  return nodes;
}

std::string FeasibleError(const Placer& placer, const ResourceRequest& r) {
  Status s = placer.CheckFeasible(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  return s.message();
}

// ---- Placer ---------------------------------------------------------------------------------

TEST(PlacerTest, MultiRankPacksOntoFewestNodes) {
  Placer placer(UniformResources(4, 8, 0, 0));
  auto small = placer.TryPlace(Req(1, 4));
  ASSERT_TRUE(small);
  EXPECT_EQ(Nodes(*small), std::vector<int>({0}));
  // Two ranks of 4 cores fit whole on node 1 rather than split over nodes 0 and 1.
  auto two = placer.TryPlace(Req(2, 4));
  ASSERT_TRUE(two);
  EXPECT_EQ(Nodes(*two), std::vector<int>({1, 1}));
  // Five ranks of 4: two per free node, the rest where they fit; ranks on a node adjacent.
  auto five = placer.TryPlace(Req(5, 4));
  ASSERT_TRUE(five);
  EXPECT_EQ(Nodes(*five), std::vector<int>({2, 2, 3, 3, 0}));
  EXPECT_EQ(placer.free_cores(), 0);
  EXPECT_FALSE(placer.TryPlace(Req(1, 1)));
  // Core ids per node are distinct.
  std::set<std::pair<int, int>> seen;
  for (const auto* p : {&*small, &*two, &*five}) {
    for (const auto& rank : p->ranks) {
      EXPECT_EQ(rank.cores.size(), 4u);
      for (int c : rank.cores) {
        EXPECT_GE(c, 0);
        EXPECT_LT(c, 8);
        EXPECT_TRUE(seen.insert({rank.node, c}).second) << "core handed out twice";
      }
    }
  }
  placer.Release(*five, Req(5, 4));
  placer.Release(*two, Req(2, 4));
  placer.Release(*small, Req(1, 4));
  EXPECT_EQ(placer.free_cores(), 32);
}

TEST(PlacerTest, RanksSpanNodesWhenNeeded) {
  Placer placer(UniformResources(3, 4, 0, 0));
  auto p = placer.TryPlace(Req(3, 4));
  ASSERT_TRUE(p);
  EXPECT_EQ(Nodes(*p), std::vector<int>({0, 1, 2}));
  EXPECT_FALSE(placer.TryPlace(Req(1, 1)));
}

TEST(PlacerTest, GpuIdsPerRankAreDistinctAndWithinTheNode) {
  Placer placer(UniformResources(2, 8, 4, 0));
  auto p = placer.TryPlace(Req(4, 1, 2));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->ranks.size(), 4u);
  EXPECT_EQ(Nodes(*p), std::vector<int>({0, 0, 1, 1}));
  std::set<std::pair<int, int>> seen;
  for (const auto& rank : p->ranks) {
    ASSERT_EQ(rank.gpus.size(), 2u);
    for (int g : rank.gpus) {
      EXPECT_GE(g, 0);
      EXPECT_LT(g, 4);
      EXPECT_TRUE(seen.insert({rank.node, g}).second);
    }
  }
  EXPECT_EQ(placer.free_gpus(), 0);
  EXPECT_EQ(placer.free_cores(), 12);
  EXPECT_FALSE(placer.TryPlace(Req(1, 1, 1)));
  auto cpu = placer.TryPlace(Req(1, 1));  // CPU-only work still fits
  ASSERT_TRUE(cpu);
  placer.Release(*p, Req(4, 1, 2));
  EXPECT_EQ(placer.free_gpus(), 8);
}

TEST(PlacerTest, MemoryIsTracked) {
  Placer placer(UniformResources(2, 8, 0, 1000));
  auto a = placer.TryPlace(Req(1, 1, 0, 700));
  ASSERT_TRUE(a);
  auto b = placer.TryPlace(Req(1, 1, 0, 700));
  ASSERT_TRUE(b);
  EXPECT_EQ(a->ranks[0].node, 0);
  EXPECT_EQ(b->ranks[0].node, 1);  // node 0 has only 300 MiB left
  EXPECT_EQ(b->ranks[0].mem_mb, 700);
  EXPECT_FALSE(placer.TryPlace(Req(1, 1, 0, 400)));
  placer.Release(*a, Req(1, 1, 0, 700));
  EXPECT_TRUE(placer.TryPlace(Req(1, 1, 0, 400)));
}

TEST(PlacerTest, ColocatedTasksShareTheFirstTasksNodes) {
  Placer placer(UniformResources(3, 4, 0, 0));
  auto x = placer.TryPlace(Req(1, 4));  // fills node 0
  ASSERT_TRUE(x);
  auto t1 = placer.TryPlace(Tagged(Req(1, 2), "A"));
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->ranks[0].node, 1);
  auto x2 = placer.TryPlace(Req(1, 2));  // fills node 1
  ASSERT_TRUE(x2);
  EXPECT_EQ(x2->ranks[0].node, 1);
  // Node 2 is free, but tag A is bound to node 1: the task waits.
  EXPECT_FALSE(placer.TryPlace(Tagged(Req(1, 2), "A")));
  EXPECT_TRUE(placer.CheckFeasible(Tagged(Req(1, 2), "A")).ok());
  placer.Release(*x2, Req(1, 2));
  auto t2 = placer.TryPlace(Tagged(Req(1, 2), "A"));
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->ranks[0].node, 1);
  // Another tag is free to go anywhere.
  auto other = placer.TryPlace(Tagged(Req(1, 1), "B"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->ranks[0].node, 2);
  // Once no A task runs, the binding is gone.
  placer.Release(*t1, Tagged(Req(1, 2), "A"));
  placer.Release(*t2, Tagged(Req(1, 2), "A"));
  auto fill = placer.TryPlace(Req(1, 4));
  ASSERT_TRUE(fill);
  EXPECT_EQ(fill->ranks[0].node, 1);
  auto t3 = placer.TryPlace(Tagged(Req(1, 3), "A"));
  ASSERT_TRUE(t3);
  EXPECT_EQ(t3->ranks[0].node, 2);
}

TEST(PlacerTest, ExclusiveNeedsIdleNodesAndHoldsThem) {
  Placer placer(UniformResources(3, 4, 0, 0));
  auto a = placer.TryPlace(Req(1, 1));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ranks[0].node, 0);
  auto ex = placer.TryPlace(Exclusive(Req(1, 1)));
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->ranks[0].node, 1);        // node 0 is not idle
  EXPECT_EQ(placer.free_cores(), 3 + 4);  // node 1's other cores are not available
  // Others never land on node 1 while it is held.
  std::vector<Placement> ones;
  for (int i = 0; i < 7; ++i) {
    auto p = placer.TryPlace(Req(1, 1));
    ASSERT_TRUE(p);
    EXPECT_NE(p->ranks[0].node, 1);
    ones.push_back(*p);
  }
  EXPECT_FALSE(placer.TryPlace(Req(1, 1)));
  EXPECT_EQ(placer.free_cores(), 0);
  // No idle node for another exclusive task.
  placer.Release(ones.back(), Req(1, 1));
  ones.pop_back();
  EXPECT_FALSE(placer.TryPlace(Exclusive(Req(1, 1))));
  placer.Release(*ex, Exclusive(Req(1, 1)));
  EXPECT_EQ(placer.free_cores(), 5);
  auto ex2 = placer.TryPlace(Exclusive(Req(2, 2)));
  ASSERT_TRUE(ex2);
  EXPECT_EQ(Nodes(*ex2), std::vector<int>({1, 1}));
}

TEST(PlacerTest, ExclusiveMultiNode) {
  Placer placer(UniformResources(4, 4, 0, 0));
  auto ex = placer.TryPlace(Exclusive(Req(3, 3)));  // one rank per node
  ASSERT_TRUE(ex);
  EXPECT_EQ(Nodes(*ex), std::vector<int>({0, 1, 2}));
  EXPECT_EQ(placer.free_cores(), 4);
  EXPECT_FALSE(placer.TryPlace(Exclusive(Req(2, 3))));  // one idle node: rolled back
  EXPECT_EQ(placer.free_cores(), 4);
  auto one = placer.TryPlace(Exclusive(Req(4, 1)));
  ASSERT_TRUE(one);
  EXPECT_EQ(Nodes(*one), std::vector<int>({3, 3, 3, 3}));
}

TEST(PlacerTest, InfeasibleRequestsSayWhy) {
  Placer cpu(UniformResources(2, 8, 0, 1000));
  EXPECT_EQ(FeasibleError(cpu, Req(0, 1)), "ranks must be >= 1, got 0");
  EXPECT_EQ(FeasibleError(cpu, Req(1, 0)), "cores_per_rank must be >= 1, got 0");
  EXPECT_EQ(FeasibleError(cpu, Req(1, 1, -1)), "gpus_per_rank must be >= 0, got -1");
  EXPECT_EQ(FeasibleError(cpu, Req(1, 1, 0, -5)), "mem_per_rank_mb must be >= 0, got -5");
  EXPECT_EQ(FeasibleError(cpu, Req(1, 1, 1)), "asks for 1 GPU per rank but the pilot has no GPUs");
  EXPECT_EQ(FeasibleError(cpu, Req(1, 16)),
            "asks for 16 cores per rank but the largest node has 8");
  EXPECT_EQ(FeasibleError(cpu, Req(1, 1, 0, 2000)),
            "asks for 2000 MiB per rank but the largest node has 1000 MiB");
  EXPECT_EQ(FeasibleError(cpu, Req(3, 8)),
            "asks for 24 cores in total (3 ranks x 8) but the pilot has 16");
  EXPECT_EQ(FeasibleError(cpu, Req(5, 1, 0, 500)),
            "asks for 2500 MiB in total (5 ranks x 500 MiB) but the pilot has 2000 MiB");
  EXPECT_EQ(FeasibleError(cpu, Req(3, 5)),
            "asks for 3 ranks but at most 2 ranks of that size fit on the pilot (a rank cannot "
            "span nodes)");
  EXPECT_EQ(FeasibleError(cpu, Exclusive(Req(3, 8))),
            "is exclusive and needs at least 3 nodes (3 ranks, at most 1 per node) but the "
            "pilot has 2");
  EXPECT_TRUE(cpu.CheckFeasible(Req(2, 8)).ok());
  EXPECT_TRUE(cpu.CheckFeasible(Exclusive(Req(16, 1))).ok());
  // Infeasible requests are never placed either.
  EXPECT_FALSE(cpu.TryPlace(Req(0, 1)));
  EXPECT_FALSE(cpu.TryPlace(Req(1, 16)));

  Placer gpu(UniformResources(2, 8, 2, 0));
  EXPECT_EQ(FeasibleError(gpu, Req(1, 1, 4)),
            "asks for 4 GPUs per rank but the largest node has 2");
  EXPECT_EQ(FeasibleError(gpu, Req(5, 1, 1)),
            "asks for 5 GPUs in total (5 ranks x 1) but the pilot has 4");
  EXPECT_TRUE(gpu.CheckFeasible(Req(2, 1, 0, 1 << 30)).ok());  // memory not tracked

  // Heterogeneous: no single node has both.
  ResourceSpec mixed;
  mixed.nodes.push_back({"big", 64, 0, 0, {}});
  mixed.nodes.push_back({"gpu", 4, 4, 0, {}});
  Placer het(mixed);
  EXPECT_EQ(FeasibleError(het, Req(1, 32, 1)),
            "asks for 32 cores and 1 GPU per rank but no single node has all of them");
  EXPECT_EQ(FeasibleError(Placer(ResourceSpec{}), Req(1, 1)), "the pilot has no nodes");
}

// Random place/release on a heterogeneous pilot: no core or GPU is ever held twice, memory
// never goes negative, colocated tasks stay on their tag's nodes, exclusive nodes carry
// nothing else, and releasing everything restores the initial free totals.
TEST(PlacerTest, RandomizedPlaceReleaseInvariants) {
  ResourceSpec spec;
  for (int i = 0; i < 24; ++i) {
    NodeSpec n;
    n.name = "n" + std::to_string(i);
    n.cores = 4 + 4 * (i % 4);  // 4..16, some > 64 bits? keep one large below
    n.gpus = i % 3;             // 0..2
    n.mem_mb = (i % 5 == 0) ? 0 : 1000 * (1 + i % 4);
    spec.nodes.push_back(n);
  }
  spec.nodes.push_back({"wide", 130, 9, 4000, {}});  // multi-word bitmaps
  Placer placer(spec);
  const int64_t cores0 = placer.free_cores();
  const int64_t gpus0 = placer.free_gpus();

  std::mt19937_64 rng(12345);
  struct Live {
    ResourceRequest req;
    Placement p;
  };
  std::vector<Live> live;
  std::set<std::pair<int, int>> held_cores, held_gpus;
  std::map<int, int64_t> used_mem;
  std::map<int, int> exclusive_owner;  // node -> tasks holding it exclusively
  std::map<int, int> tasks_on_node;
  std::map<std::string, std::set<int>> tag_nodes;
  std::map<std::string, int> tag_running;
  const char* tags[] = {"", "", "", "", "t1", "t2"};
  int placed = 0;

  for (int step = 0; step < 20000; ++step) {
    bool place = live.empty() || (rng() % 100) < 55;
    if (place) {
      ResourceRequest r = Req(1 + static_cast<int>(rng() % 4), 1 + static_cast<int>(rng() % 6),
                              (rng() % 4 == 0) ? 1 : 0, (rng() % 3 == 0) ? 300 : 0);
      r.exclusive = rng() % 10 == 0;
      r.colocate = tags[rng() % 6];
      auto p = placer.TryPlace(r);
      if (!p) continue;
      ++placed;
      ASSERT_EQ(p->ranks.size(), static_cast<size_t>(r.ranks));
      std::set<int> nodes;
      for (size_t i = 0; i < p->ranks.size(); ++i) {
        const auto& rank = p->ranks[i];
        const NodeSpec& node = spec.nodes[static_cast<size_t>(rank.node)];
        if (i > 0 && rank.node != p->ranks[i - 1].node) {
          ASSERT_EQ(nodes.count(rank.node), 0u) << "ranks of a node are not adjacent";
        }
        nodes.insert(rank.node);
        ASSERT_EQ(rank.cores.size(), static_cast<size_t>(r.cores_per_rank));
        ASSERT_EQ(rank.gpus.size(), static_cast<size_t>(r.gpus_per_rank));
        for (int c : rank.cores) {
          ASSERT_LT(c, node.cores);
          ASSERT_TRUE(held_cores.insert({rank.node, c}).second) << "core given twice";
        }
        for (int g : rank.gpus) {
          ASSERT_LT(g, node.gpus);
          ASSERT_TRUE(held_gpus.insert({rank.node, g}).second) << "GPU given twice";
        }
        if (node.mem_mb > 0) {
          used_mem[rank.node] += rank.mem_mb;
          ASSERT_LE(used_mem[rank.node], node.mem_mb);
        }
      }
      for (int n : nodes) {
        ASSERT_EQ(exclusive_owner[n], 0) << "task placed on an exclusively held node";
        if (r.exclusive) {
          ASSERT_EQ(tasks_on_node[n], 0) << "exclusive task on a busy node";
        }
        ++tasks_on_node[n];
        if (r.exclusive) ++exclusive_owner[n];
      }
      if (!r.colocate.empty()) {
        if (tag_running[r.colocate]++ == 0) {
          tag_nodes[r.colocate] = nodes;
        } else {
          for (int n : nodes) ASSERT_EQ(tag_nodes[r.colocate].count(n), 1u) << "left its tag";
        }
      }
      live.push_back({r, std::move(*p)});
    } else {
      size_t i = rng() % live.size();
      Live l = std::move(live[i]);
      live[i] = std::move(live.back());
      live.pop_back();
      placer.Release(l.p, l.req);
      std::set<int> nodes;
      for (const auto& rank : l.p.ranks) {
        nodes.insert(rank.node);
        for (int c : rank.cores) held_cores.erase({rank.node, c});
        for (int g : rank.gpus) held_gpus.erase({rank.node, g});
        if (spec.nodes[static_cast<size_t>(rank.node)].mem_mb > 0) {
          used_mem[rank.node] -= rank.mem_mb;
        }
      }
      for (int n : nodes) {
        --tasks_on_node[n];
        if (l.req.exclusive) --exclusive_owner[n];
      }
      if (!l.req.colocate.empty()) --tag_running[l.req.colocate];
    }
    // Free totals: every core not held, except on exclusively held nodes.
    int64_t expect_cores = 0;
    int64_t expect_gpus = 0;
    for (size_t n = 0; n < spec.nodes.size(); ++n) {
      if (exclusive_owner[static_cast<int>(n)] > 0) continue;
      expect_cores += spec.nodes[n].cores;
      expect_gpus += spec.nodes[n].gpus;
    }
    for (const auto& [n, c] : held_cores) {
      if (exclusive_owner[n] == 0) --expect_cores;
    }
    for (const auto& [n, g] : held_gpus) {
      if (exclusive_owner[n] == 0) --expect_gpus;
    }
    ASSERT_EQ(placer.free_cores(), expect_cores) << "step " << step;
    ASSERT_EQ(placer.free_gpus(), expect_gpus) << "step " << step;
  }
  EXPECT_GT(placed, 5000);
  for (auto& l : live) placer.Release(l.p, l.req);
  EXPECT_EQ(placer.free_cores(), cores0);
  EXPECT_EQ(placer.free_gpus(), gpus0);
  // Everything is whole again: the whole pilot fits one exclusive task per node.
  auto all = placer.TryPlace(Exclusive(Req(static_cast<int>(cores0), 1)));
  ASSERT_TRUE(all);
}

// ---- Scheduler ------------------------------------------------------------------------------

std::vector<Scheduler::TaskKey> Keys(
    const std::vector<std::pair<Scheduler::TaskKey, Placement>>& v) {
  std::vector<Scheduler::TaskKey> keys;
  for (const auto& [k, p] : v) keys.push_back(k);
  return keys;
}

TEST(SchedulerTest, PriorityThenFifo) {
  Scheduler s(UniformResources(1, 1, 0, 0));
  ASSERT_TRUE(s.Enqueue(1, Req(1, 1), 0).ok());
  ASSERT_TRUE(s.Enqueue(2, Req(1, 1), 5).ok());
  ASSERT_TRUE(s.Enqueue(3, Req(1, 1), 0).ok());
  ASSERT_TRUE(s.Enqueue(4, Req(1, 1), 5).ok());
  ASSERT_TRUE(s.Enqueue(5, Req(1, 1), -1).ok());
  std::vector<Scheduler::TaskKey> order;
  while (s.queued() > 0) {
    auto placed = s.Schedule();
    ASSERT_EQ(placed.size(), 1u);
    order.push_back(placed[0].first);
    EXPECT_EQ(s.running(), 1u);
    s.Release(placed[0].first, placed[0].second);
  }
  EXPECT_EQ(order, std::vector<Scheduler::TaskKey>({2, 4, 1, 3, 5}));
  EXPECT_EQ(s.running(), 0u);
  EXPECT_EQ(s.placer().free_cores(), 1);
}

TEST(SchedulerTest, EnqueueRejectsInfeasibleAndDuplicates) {
  Scheduler s(UniformResources(2, 4, 0, 0));
  Status gpu = s.Enqueue(1, Req(1, 1, 1), 0);
  EXPECT_EQ(gpu.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gpu.message(), "asks for 1 GPU per rank but the pilot has no GPUs");
  EXPECT_EQ(s.Enqueue(2, Req(0, 1), 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.queued(), 0u);
  ASSERT_TRUE(s.Enqueue(3, Req(1, 1), 0).ok());
  EXPECT_EQ(s.Enqueue(3, Req(1, 1), 0).code(), StatusCode::kAlreadyExists);
  auto placed = s.Schedule();
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(s.Enqueue(3, Req(1, 1), 0).code(), StatusCode::kAlreadyExists);  // running
  s.Release(3, placed[0].second);
  EXPECT_TRUE(s.Enqueue(3, Req(1, 1), 0).ok());  // a retry after release
}

TEST(SchedulerTest, Remove) {
  Scheduler s(UniformResources(1, 8, 0, 0));
  for (Scheduler::TaskKey k = 1; k <= 3; ++k) ASSERT_TRUE(s.Enqueue(k, Req(1, 1), 0).ok());
  EXPECT_TRUE(s.Remove(2));
  EXPECT_FALSE(s.Remove(2));
  EXPECT_FALSE(s.Remove(99));
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_EQ(Keys(s.Schedule()), std::vector<Scheduler::TaskKey>({1, 3}));
  EXPECT_FALSE(s.Remove(1));  // running, not queued
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_TRUE(s.Schedule().empty());
}

TEST(SchedulerTest, ScheduleRespectsMax) {
  Scheduler s(UniformResources(1, 8, 0, 0));
  for (Scheduler::TaskKey k = 1; k <= 5; ++k) ASSERT_TRUE(s.Enqueue(k, Req(1, 1), 0).ok());
  EXPECT_EQ(Keys(s.Schedule(2)), std::vector<Scheduler::TaskKey>({1, 2}));
  EXPECT_EQ(Keys(s.Schedule()), std::vector<Scheduler::TaskKey>({3, 4, 5}));
}

TEST(SchedulerTest, BackfillsSmallTasksAroundABlockedHead) {
  Scheduler s(UniformResources(1, 4, 0, 0));
  ASSERT_TRUE(s.Enqueue(100, Req(1, 1), 10).ok());
  auto first = s.Schedule();
  ASSERT_EQ(first.size(), 1u);                   // 3 cores left
  ASSERT_TRUE(s.Enqueue(1, Req(1, 4), 0).ok());  // the head: needs the whole node
  ASSERT_TRUE(s.Enqueue(2, Req(1, 2), 0).ok());
  ASSERT_TRUE(s.Enqueue(3, Req(1, 2), 0).ok());  // does not fit after 2
  ASSERT_TRUE(s.Enqueue(4, Req(1, 1), 0).ok());
  auto placed = s.Schedule();
  EXPECT_EQ(Keys(placed), std::vector<Scheduler::TaskKey>({2, 4}));
  EXPECT_EQ(s.queued(), 2u);
  s.Release(100, first[0].second);
  for (auto& [k, p] : placed) s.Release(k, p);
  EXPECT_EQ(Keys(s.Schedule()), std::vector<Scheduler::TaskKey>({1}));
}

TEST(SchedulerTest, BackfillDepthLimitsTheScan) {
  SchedulerOptions options;
  options.backfill_depth = 2;
  Scheduler s(UniformResources(1, 4, 0, 0), options);
  ASSERT_TRUE(s.Enqueue(1, Req(1, 4), 0).ok());
  auto head = s.Schedule();
  ASSERT_EQ(head.size(), 1u);  // the node is full now
  ASSERT_TRUE(s.Enqueue(2, Req(1, 4), 0).ok());
  for (Scheduler::TaskKey k = 3; k <= 10; ++k) ASSERT_TRUE(s.Enqueue(k, Req(1, 1), 0).ok());
  s.Release(1, head[0].second);
  auto big = s.Schedule();
  EXPECT_EQ(Keys(big), std::vector<Scheduler::TaskKey>({2}));
  // A whole-node task ahead of everything else.
  ASSERT_TRUE(s.Enqueue(50, Req(1, 4), 100).ok());
  ASSERT_TRUE(s.Enqueue(51, Req(1, 1), 0).ok());
  s.Release(2, big[0].second);
  auto next = s.Schedule();
  // 50 takes the node, nothing else fits; all scanning stops at once (no free cores).
  EXPECT_EQ(Keys(next), std::vector<Scheduler::TaskKey>({50}));
  s.Release(50, next[0].second);
  // Now a big blocked head with depth 2: only the 2 entries behind it are examined.
  ASSERT_TRUE(s.Enqueue(60, Req(1, 4), 50).ok());
  ASSERT_TRUE(s.Enqueue(61, Req(1, 1), 100).ok());
  auto a = s.Schedule(1);  // 61 runs; 60 is the blocked head afterwards
  EXPECT_EQ(Keys(a), std::vector<Scheduler::TaskKey>({61}));
  auto b = s.Schedule();
  EXPECT_EQ(Keys(b), std::vector<Scheduler::TaskKey>({3, 4}));
}

TEST(SchedulerTest, AntiStarvationStopsBackfillingAfterMaxHeadSkips) {
  SchedulerOptions options;
  options.max_head_skips = 2;
  Scheduler s(UniformResources(1, 4, 0, 0), options);
  ASSERT_TRUE(s.Enqueue(100, Req(1, 1), 10).ok());
  auto blocker = s.Schedule();
  ASSERT_EQ(blocker.size(), 1u);
  ASSERT_TRUE(s.Enqueue(1, Req(1, 4), 0).ok());  // head
  for (Scheduler::TaskKey k = 2; k <= 6; ++k) ASSERT_TRUE(s.Enqueue(k, Req(1, 1), 0).ok());
  auto first = s.Schedule();
  EXPECT_EQ(Keys(first), std::vector<Scheduler::TaskKey>({2, 3}));  // 2 skips, then stop
  // One core is free, but the head has been skipped enough: nothing is backfilled.
  s.Release(first[0].first, first[0].second);
  EXPECT_TRUE(s.Schedule().empty());
  s.Release(first[1].first, first[1].second);
  s.Release(100, blocker[0].second);
  auto head = s.Schedule();
  ASSERT_FALSE(head.empty());
  EXPECT_EQ(head[0].first, 1u);  // the head runs as soon as the node drains
  EXPECT_EQ(head.size(), 1u);
  s.Release(1, head[0].second);
  EXPECT_EQ(Keys(s.Schedule()), std::vector<Scheduler::TaskKey>({4, 5, 6}));
}

TEST(SchedulerTest, GpuBindingAndColocationThroughTheQueue) {
  Scheduler s(UniformResources(2, 8, 4, 0));
  ASSERT_TRUE(s.Enqueue(1, Tagged(Req(1, 2, 2), "pair"), 0).ok());
  ASSERT_TRUE(s.Enqueue(2, Req(1, 4, 0), 0).ok());
  ASSERT_TRUE(s.Enqueue(3, Tagged(Req(1, 2, 2), "pair"), 0).ok());
  auto placed = s.Schedule();
  ASSERT_EQ(placed.size(), 3u);
  std::map<Scheduler::TaskKey, Placement> by_key(placed.begin(), placed.end());
  EXPECT_EQ(by_key[1].ranks[0].node, 0);
  EXPECT_EQ(by_key[3].ranks[0].node, 0);  // with its tag, though node 0 is now full
  EXPECT_EQ(by_key[2].ranks[0].node, 0);
  EXPECT_EQ(by_key[1].ranks[0].gpus, std::vector<int32_t>({0, 1}));
  EXPECT_EQ(by_key[3].ranks[0].gpus, std::vector<int32_t>({2, 3}));
  ASSERT_TRUE(s.Enqueue(4, Tagged(Req(1, 1), "pair"), 0).ok());
  EXPECT_TRUE(s.Schedule().empty());  // node 0 is full: wait rather than go to node 1
  s.Release(2, by_key[2]);
  EXPECT_EQ(Keys(s.Schedule()), std::vector<Scheduler::TaskKey>({4}));
}

// Many tasks on a simulated 10,000 x 128 x 8 pilot: all placed, fast, and the queue beyond a
// full pilot costs nothing per Schedule call.
TEST(SchedulerScaleTest, TwoHundredThousandTasksOnTenThousandNodes) {
  Scheduler s(UniformResources(10000, 128, 8, 0));
  std::mt19937 rng(7);
  const int kTasks = 200000;
  auto start = std::chrono::steady_clock::now();
  int64_t cores = 0;
  for (int i = 0; i < kTasks; ++i) {
    int kind = static_cast<int>(rng() % 10);
    ResourceRequest r = kind < 7 ? Req(1, 1) : kind < 9 ? Req(4, 4) : Req(1, 1, 1);
    cores += int64_t{r.ranks} * r.cores_per_rank;
    ASSERT_TRUE(s.Enqueue(static_cast<Scheduler::TaskKey>(i), r, static_cast<int>(rng() % 3)).ok());
  }
  auto placed = s.Schedule();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(placed.size(), static_cast<size_t>(kTasks));
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_EQ(s.placer().free_cores(), 1280000 - cores);
  EXPECT_LT(seconds, 5.0);
  RecordProperty("seconds", std::to_string(seconds));

  // Fill the pilot and queue more than fits: the rest waits and re-scheduling is cheap.
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(s.Enqueue(static_cast<Scheduler::TaskKey>(kTasks + i), Req(1, 8), 0).ok());
  }
  auto more = s.Schedule();
  EXPECT_LT(s.placer().free_cores(), 8 * 10000);  // at most 7 stranded cores per node
  EXPECT_EQ(s.queued(), static_cast<size_t>(kTasks) - more.size());
  EXPECT_GT(s.queued(), 0u);
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(s.Schedule().empty());
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0);
  for (auto& [k, p] : placed) s.Release(k, p);
  for (auto& [k, p] : more) s.Release(k, p);
  EXPECT_EQ(s.placer().free_cores(), 1280000);
  EXPECT_EQ(s.placer().free_gpus(), 80000);
}

}  // namespace
}  // namespace drc::runtime
