// Pipelines: a declarative file of stages (prepare the data, forecast with many models, train
// rainfall-runoff models, any other tasks) that becomes a DAG of runtime tasks, and the report
// of a run (per-model metrics, forecast against actual, simulated against observed discharge,
// the task timeline and the pilot's utilization).
//
//   name: us-carrier                 # optional, for the report
//   pilot: {cores: 2}                # optional, as in a task file; so are workdir and worker
//   stages:
//     - name: prepare                # a table in, a cleaned long-format table out
//       kind: prepare
//       input: $DRC_DATA_DIR/us_carrier/us_carrier_passenger.csv   # or from: STAGE
//       rename: {Y: y}               # then select, join, start/end on ds, drop_nulls,
//       min_length: 48               # aggregate, resample; ranks: 2 splits it
//       # join: [{table: PATH or from: STAGE, on: [unique_id], how: left, rename, select}]
//       # aggregate: {by: [unique_id, ds], y: sum}
//     - name: forecast               # one function task per model (dl.forecast)
//       kind: forecast
//       from: prepare                # the table a prepare stage wrote (or data: PATH)
//       models: [NBEATS, NHITS, LSTM]
//       h: 24
//       input_size: 24
//       steps: 100
//       seeds: [1, 2, 3]             # or seed: 1; the report gives each model's median
//       params: {NBEATS: {mlp_units: 128}}   # or config: FILE.yaml, as drc forecast's
//       # future: true (forecast after the data's end), cv_windows/cv_step/cv_refit,
//       # warm_start: true, init_from: DIR (each model from DIR/<MODEL>.ckpt, as --init-from),
//       # level: [80, 90],
//       # conformal_windows/conformal_step/conformal_method: drc forecast's options;
//       # importances: true (TFT's variable importances, importances.csv in its task folder)
//       cores: 1                     # per rank; ranks, gpus, priority, retries, timeout too
//     - name: hydrology              # one function task per model (dl.hydro)
//       kind: hydro
//       models: [LSTM, EA-LSTM]      # NeuralHydrology's CudaLSTM and EA-LSTM
//       data: $DRC_DATA_DIR/camels_us_sample       # the default; basins: [...] (default: all)
//       # or table: PATH / from: STAGE (unique_id, ds, inputs, y), attributes: PATH;
//       # inputs: [...], static: [...] or [none]
//       train: 2000-01-01:2001-12-31 # and test:, epochs, seq_length, hidden_size,
//       epochs: 30                   # learning_rate, dropout, batch_size, loss, seed(s)
//     - name: summary                # tasks in task-file syntax (executables or functions)
//       after: [forecast]
//       tasks:
//         - executable: /bin/sh
//           arguments: [-c, "cat ../forecast.*/*.out > ../metrics.jsonl"]
//
// Task uids: `<stage>` for a prepare stage; `<stage>.<model>` for each model of a forecast or
// hydro stage (`<stage>.<model>.seed<S>` for each model and seed with `seeds: [...]`);
// `<stage>.<uid>` for a listed task, or `<stage>` for a stage of one task without a uid. A stage's
// tasks depend on every task of the stages it comes `after` (a forecast or hydro stage comes after
// the stage it reads `from`). Stages run as soon as those are DONE: the pilot's scheduler, not the
// file's order, decides what runs when.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "drc/common/exog_lists.h"
#include "drc/common/result.h"
#include "drc/dl/hydro_defaults.h"
#include "drc/runtime/task_file.h"

namespace drc::comm {
class Communicator;
}  // namespace drc::comm

namespace drc::pipeline {

// A table joined to a prepare stage's input (`join:` in the file). Its columns are renamed and
// selected first (`select` empty: every column; the keys are kept either way), then joined on
// the `on` columns, which both tables have under those names: `how` is inner (the default, as
// pandas' merge), left, right, outer, semi (the input's rows that have a match) or anti (those
// that have none). The result has one column per key (an outer join takes each key from the
// side that has it) and the other columns of both; a non-key column in both tables is an error
// that names it.
struct JoinSpec {
  std::string table;  // CSV, Parquet or Arrow IPC; relative: to the task's folder
  int parts = 0;      // > 0: `table` has "{rank}" for parts 0 .. parts - 1 (ReadParts)
  std::vector<std::string> on;
  std::string how = "inner";
  std::map<std::string, std::string> rename;
  std::vector<std::string> select;
  bool operator==(const JoinSpec&) const = default;
};

// A group-by (`aggregate:` in the file): a row per distinct `by` combination, and for each of
// `columns` (column, function) the function of its values under the column's own name. The
// functions: sum, mean, min, max, count (non-null values), first, last, median, std, var
// (ddof 1, as pandas), nunique. Columns neither in `by` nor aggregated are dropped.
struct AggregateSpec {
  std::vector<std::string> by;  // empty: no aggregation
  std::vector<std::pair<std::string, std::string>> columns;
  bool operator==(const AggregateSpec&) const = default;
};

// Rolling statistics of one column over each series' last `window` rows (the current one
// included; data::AddRolling), a column `<column>_roll<stat><window>` per stat (mean, std (ddof
// 1, as pandas), min, max, sum), null until `min_periods` non-null values are in the window (0:
// the whole window, as pandas' default).
struct RollingSpec {
  std::string column;
  int window = 0;
  std::vector<std::string> stats;
  int min_periods = 0;
  bool operator==(const RollingSpec&) const = default;
};

// What a prepare stage does to its input table, in this order: rename columns, keep `select`
// columns, join each of `join` in turn, `compute` columns, keep the rows where `filter` is true,
// leave out the `drop` columns, keep rows with start <= ds <= end, drop rows with a null in
// `drop_nulls` (every column when it is {"*"}), keep the first row of each distinct `unique`
// combination (whole rows when it is {"*"}), `aggregate`, resample each series to
// `resample` (data::Resample: missing steps get a null y), add the `lags`, then the `rolling`
// statistics, per series, drop the series with fewer than `min_length` rows (gaps counted),
// sort by `sort` (or by unique_id and ds when both exist), write `output`.
// A ds column of dates (or of text) becomes time stamps, in the input and in each joined table,
// before the joins.
struct PrepareSpec {
  std::string input;    // CSV, Parquet or Arrow IPC, by extension
  int input_parts = 0;  // > 0: `input` has "{rank}" for parts 0 .. input_parts - 1 (a
                        // partitioned prepare stage's, `from:` in the file)
  std::string output;   // the same formats; relative: to the task's folder
  std::map<std::string, std::string> rename;
  std::vector<std::string> select;
  std::string start, end;  // ISO dates or times, inclusive; compared with the ds column
  std::vector<std::string> drop_nulls;
  // Rows alike in these columns ({"*"}: in every column) kept once (data::Unique, as pandas'
  // drop_duplicates(subset)); on R ranks data::DistUnique, which keeps one of them, not always
  // the first in the file.
  std::vector<std::string> unique;
  std::string resample;  // a pandas frequency alias (ME, D, ...)
  int min_length = 0;    // 0: keep every series
  std::vector<JoinSpec> join;
  // Each (name, expression) in turn: the column `name` added (or replaced) with the expression's
  // value per row (drc/data/expr.h: "flow * 2446.58 / area_m2").
  std::vector<std::pair<std::string, std::string>> compute;
  std::string filter;  // an expression; the rows where it is true are kept (null: dropped)
  std::vector<std::string> drop;
  AggregateSpec aggregate;
  // Per series, in series time order (after resample): each (column, [k, ...]) adds
  // `<column>_lag<k>`, the column's value k rows earlier in its series (null for the first k
  // rows; data::AddLags); then each of `rolling` (which may use a lag column).
  std::vector<std::pair<std::string, std::vector<int>>> lags;
  std::vector<RollingSpec> rolling;
  // The output's order: columns, each "name" (ascending) or "name desc"; nulls last. Empty:
  // unique_id then ds when the table has both, else the rows as they come (on R ranks, an order
  // that depends on R). Not with `partitioned` (parts hold whole series in series order).
  std::vector<std::string> sort;
  // Each rank writes the series it holds, sorted, as its own part: OUTPUT_STEM/part-R.FORMAT
  // (PartsPattern), not one table gathered on rank 0. A forecast stage reading it runs on as
  // many ranks, each training on its part (dl::ForecastConfig::partitioned). Needs the
  // unique_id and ds columns.
  bool partitioned = false;
};

// A partitioned prepare stage's parts, relative to its task folder, with "{rank}" for the rank:
// "series/part-{rank}.parquet" for the output "series.parquet". Empty when not partitioned.
std::string PartsPattern(const PrepareSpec& spec);

// The names that an AggregateSpec's functions, a JoinSpec's `how` and a RollingSpec's stats take.
const std::vector<std::string>& AggregateFunctions();
const std::vector<std::string>& JoinTypes();
const std::vector<std::string>& RollingStats();

// The function task's arguments and back (the `pipeline.prepare` worker function).
std::map<std::string, std::string> PrepareArgs(const PrepareSpec& spec);
Result<PrepareSpec> PrepareFromArgs(const std::map<std::string, std::string>& args);

// Runs the steps of `spec`. Errors name the input file, the column or the value.
//
// On a communicator of R > 1 ranks (a stage with `ranks: R`), collectively: each rank reads a
// share of the input (a CSV split at line boundaries, data::ReadCsvSplit; another format read
// whole and sliced), cleans its rows, and the rows are shuffled by unique_id so that every series
// is resampled whole on one rank; rank 0 gathers the table, sorts it and writes `output`, the
// table a single rank writes. With `partitioned`, rank r instead gets the r-th range of the
// series ids, balanced by rows (data::RangePartition), and writes them as its part; a rank left
// without a series (fewer series than ranks) is an error. An error on any rank is an error on every
// rank (data::AgreeOnStatus). Every rank returns the same result.
struct PrepareResult {
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t series_dropped = 0;  // shorter than min_length
  std::vector<std::string> columns;
};
Result<PrepareResult> PrepareTable(const PrepareSpec& spec, comm::Communicator* comm = nullptr);

struct ForecastSpec {
  // The long-format table (unique_id, ds, y); with "{rank}" in it, one part per rank (drc
  // forecast --data), `ranks` parts.
  std::string data;
  // Or the prepare stage that writes it; or a task of a tasks stage (a stage of one task, or
  // STAGE.UID) with `data: FILE`, a file it writes in its folder.
  std::string from;
  std::string from_task_file;  // as planned for a task: "UID/FILE" in the run's folder
  int ranks = 1;               // the ranks of each of the stage's tasks (as planned)
  // On its ranks, split the one table by series (drc forecast --partition).
  bool partition = false;
  std::vector<std::string> models;
  int horizon = 24;
  int input_size = 24;
  int steps = 100;
  std::vector<int64_t> seeds = {1};  // `seed: S`, or `seeds: [1, 2, 3]`: a task per model and seed
  std::string freq;                  // inferred when empty
  std::string scaler;                // the models' defaults when empty
  std::string loss;                  // point models' loss (drc forecast --loss); MAE when empty
  // Exogenous columns of the table (drc forecast --futr-exog, --hist-exog, --stat-exog).
  std::vector<std::string> futr_exog, hist_exog, stat_exog;
  // The three lists with their keys and kinds (drc/common/exog_lists.h).
  std::array<ExogList, 3> ExogLists() const {
    return drc::ExogLists(futr_exog, hist_exog, stat_exog);
  }
  // The categorical ones among them and their embedding width (--cat-exog, --cat-emb-dim);
  // empty: none, and the width's default (fastai).
  std::vector<std::string> cat_exog;
  std::string cat_emb_dim;
  std::string futr_data;  // with `future`: their values over the horizon (--futr-data)
  // NF's HINT: a summing matrix CSV and a reconciliation (--hierarchy, --reconciliation).
  std::string hierarchy, reconciliation;
  std::string config;  // a hyper-parameter file (drc forecast --config)
  // Per model, hyper-parameter overrides by NF's names (drc forecast --param MODEL.KEY=VALUE).
  std::map<std::string, std::map<std::string, std::string>> params;
  // drc forecast's --future (train on every point, forecast the h stamps after each series'
  // end: no metrics), --cv-windows/--cv-step/--cv-refit, --warm-start, --level and
  // --conformal-*.
  bool future = false;
  int cv_windows = 0, cv_step = 1, cv_refit = 0;
  bool warm_start = false;
  std::string init_from;  // drc forecast --init-from: a folder of an earlier run's checkpoints
  std::vector<double> level;
  int conformal_windows = 0, conformal_step = 1;
  std::string conformal_method;
  // drc forecast --importances: each model's task writes importances.csv (models that select
  // variables only: TFT).
  bool importances = false;
};

// What a hydro stage trains (drc hydro's options; HydroConfig in drc/dl/hydrology.h): each model
// on every basin's training period, scored on each basin's test period (NSE, KGE).
// The training settings (train, test, epochs, ..., loss) are drc hydro's, with its defaults.
struct HydroSpec : dl::HydroSettings {
  std::string data;  // a CAMELS-US folder (forcing_daymet/, streamflow/, attributes/)
  // Or a series table (drc hydro --table: unique_id, ds, the inputs, y in mm/day), or the table
  // a prepare stage writes (every part of a partitioned one); with either, an attribute table.
  std::string table, from, attributes;
  // As planned when `from` names a task of a tasks stage (with `table: FILE`, a file it writes
  // in its folder): "UID/FILE" in the run's folder.
  std::string from_task_file;
  std::string attributes_from;      // `attributes: {from: STAGE}`: the table a prepare stage writes
  std::vector<std::string> inputs;  // dynamic inputs (drc hydro --inputs); empty: the defaults
  std::vector<std::string> statics;  // `static`: attributes, or [none]; empty: the defaults
  std::vector<std::string> models;
  std::vector<std::string> basins;  // gauge ids; empty: every basin in `data`
  std::vector<int64_t> seeds = {1};
};

enum class StageKind { kPrepare, kForecast, kHydro, kTasks };
std::string_view StageKindName(StageKind kind);

struct Stage {
  std::string name;
  StageKind kind = StageKind::kTasks;
  std::vector<std::string> after;
  PrepareSpec prepare;
  ForecastSpec forecast;
  HydroSpec hydro;
  std::vector<std::string> task_uids;  // the stage's tasks in the run, in order
  // A forecast or hydro stage's tasks: the model and seed of each (task_uids' order).
  struct ModelRun {
    std::string uid, model;
    int64_t seed = 1;
  };
  std::vector<ModelRun> runs;
  // The models and seeds of a forecast or hydro stage (empty for the other kinds).
  const std::vector<std::string>& Models() const;
  const std::vector<int64_t>& Seeds() const;
  // The files or folders the stage reads that no stage of the pipeline writes: a prepare
  // stage's input, a forecast stage's data (not a prepare stage's table), a hydro stage's data.
  std::vector<std::string> Inputs() const;
};

struct Pipeline {
  std::string name;
  std::string file;
  // pilot, workdir and worker as in a task file; `tasks` holds the planned DAG.
  runtime::TaskFile run;
  std::vector<Stage> stages;

  const Stage* FindStage(std::string_view name) const;
};

// Parses a pipeline file and plans its tasks. Relative input paths are taken from the file's
// folder; a path that starts with $DRC_DATA_DIR/ takes that variable from the environment (an
// error when it is unset). Errors name file:line:column and the field.
Result<Pipeline> ParsePipeline(std::string_view yaml, const std::string& file_name);
Result<Pipeline> LoadPipeline(const std::string& path);

// True when `path` reads as a YAML mapping with a `stages` key (a pipeline, not a task file).
bool IsPipelineFile(const std::string& path);

// The folder of a task in a run's work directory, and where a prepare stage's table and a
// forecast or hydro task's predictions (unique_id, ds, y and a column named after the model)
// are written.
std::string TaskFolder(const std::string& workdir, const std::string& uid);
// A partitioned prepare stage's: the parts' pattern, "{rank}" standing for the rank.
std::string PreparedTablePath(const Stage& stage, const std::string& workdir);
std::string PredictionsPath(const Stage& stage, const std::string& workdir,
                            const std::string& task_uid);

// The metrics a forecast task printed (its stdout's last JSON line with "mae": model, mae,
// rmse, mape, smape, seconds, ...), or "" when it printed none.
std::string ForecastMetricsLine(const std::string& workdir, const std::string& task_uid);

// One table of a forecast or hydro stage's predictions: unique_id, ds, y and a column per model
// (per model and seed, "MODEL-seedS", with several seeds), from the PredictionsPath of each task
// that wrote one (they predict the same rows; other rows are an error naming the model). Written
// to `path` (.csv, .parquet or .arrow); returns its rows.
Result<int64_t> WriteStagePredictions(const Stage& stage, const std::string& workdir,
                                      const std::string& path);

// Writes WORKDIR/report/index.html (one page, its charts inline as SVG) for a run of
// `pipeline` in `workdir`, from what its tasks left there and its events.jsonl: per forecast
// stage, a table of each model's metrics and seconds and charts of the forecasts against the
// actual values (up to `max_series` series); per hydro stage, each model's median NSE, each
// basin's NSE and KGE per model and charts of the simulated against the observed discharge (up
// to `max_series` basins); per stage, its tasks' states; the run's timeline
// and core utilization. Tasks that failed or did not run are listed with their reasons, never
// left out silently. A task's state is from the last run in `workdir`, or with `resumed` from
// all of them (DONE in any run is DONE). Returns the path of index.html.
Result<std::string> WriteReport(const Pipeline& pipeline, const std::string& workdir,
                                bool resumed = false, int max_series = 4);

}  // namespace drc::pipeline
