// Distributed operators: each rank holds one partition of a table; the operators run over
// the context's communicator (any backend) and return this rank's partition of the result.
//
// All are collective over ctx.comm(): every rank calls them in the same order, also ranks
// whose partition is empty. Tables cross ranks as Arrow IPC streams (any type, nested and
// sliced arrays included, 64-bit sizes). Rank order is meaningful for DistSort (rank r holds
// the r-th range of the sorted order) and Rebalance (order preserved).
#pragma once

#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"
#include "drc/data/ops.h"

namespace drc::data {

// Rows go to rank hash(key columns) % world_size. Equal keys meet on one rank.
Result<TablePtr> Shuffle(const Context& ctx, const TablePtr& table,
                         const std::vector<std::string>& key_columns);
// Hash-partitions both sides on the join keys, then joins locally.
Result<TablePtr> DistJoin(const Context& ctx, const TablePtr& left, const TablePtr& right,
                          const JoinOptions& options);
// DistJoin without moving `left`'s rows: `right` is all-gathered to every rank and joined with
// each rank's rows of `left`, which stay on their rank. Cheaper than DistJoin when `right` is
// small (a dimension table: a region per series). Inner, left, semi and anti joins only (a right
// or full outer join would repeat right's unmatched rows on every rank): InvalidArgument on
// every rank otherwise.
Result<TablePtr> BroadcastJoin(const Context& ctx, const TablePtr& left, const TablePtr& right,
                               const JoinOptions& options);
// Pre-aggregates locally (sum, count, min, max, mean, var, std, first, last as partial
// states), shuffles the partial results by key and combines them; nunique, median and quantile
// shuffle the rows instead. Output sorted by key within each rank.
Result<TablePtr> DistGroupBy(const Context& ctx, const TablePtr& table,
                             const std::vector<std::string>& keys,
                             const std::vector<Aggregation>& aggs);
// Sample sort: correct with empty ranks, duplicates and heavy skew.
Result<TablePtr> DistSort(const Context& ctx, const TablePtr& table,
                          const std::vector<SortKey>& keys);
Result<TablePtr> DistUnique(const Context& ctx, const TablePtr& table,
                            const std::vector<std::string>& columns = {});
Result<TablePtr> DistUnion(const Context& ctx, const TablePtr& a, const TablePtr& b);
Result<TablePtr> DistIntersect(const Context& ctx, const TablePtr& a, const TablePtr& b);
Result<TablePtr> DistDifference(const Context& ctx, const TablePtr& a, const TablePtr& b);

// The whole table on `root` (in rank order); other ranks get an empty table of the schema.
Result<TablePtr> Gather(const Context& ctx, const TablePtr& table, int root = 0);
// The whole table on every rank.
Result<TablePtr> AllGather(const Context& ctx, const TablePtr& table);
// Root's table on every rank (the others' `table` may be null).
Result<TablePtr> Broadcast(const Context& ctx, const TablePtr& table, int root = 0);
// Equal row counts per rank (±1), global row order preserved.
Result<TablePtr> Rebalance(const Context& ctx, const TablePtr& table);
// The rows of each `key` value (a group: a series' rows by its id) together on one rank, rank r
// holding the r-th range of the sorted key values, the ranges cut where the ranks' row counts
// come out as even as whole groups allow; no rank is left without a group while there are as
// many groups as ranks. Rows sorted by key within each rank (stable: a group split across the
// input ranks comes together in rank order). InvalidArgument for a missing or null key.
Result<TablePtr> RangePartition(const Context& ctx, const TablePtr& table, const std::string& key);

// OK on every rank if `local` is OK on every rank; otherwise an error on every rank: the failing
// rank keeps its own status, the others get the first failed rank's code and message prefixed
// with "rank R: ". Call it after each step that can fail on some ranks only, so that no rank
// returns while the others wait in a later collective. One rank: `local`.
Status AgreeOnStatus(const Context& ctx, const Status& local);

}  // namespace drc::data
