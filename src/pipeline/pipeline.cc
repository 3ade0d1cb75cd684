// The pipeline file: stages parsed and planned into runtime tasks. Every yaml-cpp call happens
// inside ParsePipeline's try block.
#include "drc/pipeline/pipeline.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "drc/common/files.h"
#include "drc/common/strings.h"
#include "drc/common/yaml_fields.h"
#include "drc/data/dist_io.h"
#include "drc/data/expr.h"
#include "drc/dl/model_names.h"

namespace drc::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDataDirVar = "$DRC_DATA_DIR/";

// The shortest text that reads back as `v` (0.001, not 0.00100000000000000002).
std::string NumberText(double v) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
  return std::string(buf, end);
}

// Stage and task names become folder names and parts of uids.
bool ValidName(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

class Parser : public YamlFields {
 public:
  using YamlFields::YamlFields;

  // A path of the file: $DRC_DATA_DIR/ from the environment, relative to the file's folder.
  Result<std::string> InputPath(const YAML::Node& map, const char* key) const {
    std::string path;
    DRC_RETURN_NOT_OK(Get(map, key, path, "a path"));
    return Resolve(map[key] ? map[key] : map, key, path);
  }

  // `path` of field `key` (at node `at`), as InputPath takes it.
  Result<std::string> Resolve(const YAML::Node& at, const char* key,
                              const std::string& path) const {
    if (path.empty()) return path;
    if (path.rfind(kDataDirVar, 0) == 0) {
      const char* dir = std::getenv("DRC_DATA_DIR");
      if (dir == nullptr || *dir == '\0') {
        return Error(at, std::string("field '") + key + "' (" + path +
                             ") names $DRC_DATA_DIR, which is not set (drc run sets it to the "
                             "bundled data folder)");
      }
      return (fs::path(dir) / path.substr(std::string(kDataDirVar).size()))
          .lexically_normal()
          .string();
    }
    if (path.front() == '/') return path;
    std::error_code ec;
    const fs::path folder = fs::absolute(fs::path(file()), ec).parent_path();
    return (folder / path).lexically_normal().string();
  }

  // An integer field of at least `least`.
  Status GetAtLeast(const YAML::Node& map, const char* key, int& out, int least) const {
    DRC_RETURN_NOT_OK(Get(map, key, out, "an integer"));
    if (map[key] && out < least) {
      return Error(map[key],
                   std::string("field '") + key + "' must be >= " + std::to_string(least));
    }
    return Status::OK();
  }

  Status GetPositive(const YAML::Node& map, const char* key, int& out) const {
    return GetAtLeast(map, key, out, 1);
  }

  Status ParsePrepare(const YAML::Node& n, PrepareSpec& p) const {
    DRC_ASSIGN_OR_RETURN(p.input, InputPath(n, "input"));
    if (p.input.empty() && !n["from"]) {
      return Error(n, "a prepare stage reads 'input: PATH' or 'from: STAGE'");
    }
    p.output = "series.parquet";
    DRC_RETURN_NOT_OK(Get(n, "output", p.output, "a file name"));
    if (p.output.empty() || p.output.find('/') != std::string::npos) {
      return Error(n["output"], "field 'output' expects a file name in the stage's folder");
    }
    DRC_RETURN_NOT_OK(GetRename(n, p.rename));
    DRC_RETURN_NOT_OK(GetList(n, "select", p.select));
    DRC_RETURN_NOT_OK(Get(n, "start", p.start, "a date"));
    DRC_RETURN_NOT_OK(Get(n, "end", p.end, "a date"));
    DRC_RETURN_NOT_OK(GetColumnsOrAll(n, "drop_nulls", p.drop_nulls));
    DRC_RETURN_NOT_OK(GetColumnsOrAll(n, "unique", p.unique));
    DRC_RETURN_NOT_OK(Get(n, "resample", p.resample, "a frequency (ME, D, ...)"));
    DRC_RETURN_NOT_OK(GetPositive(n, "min_length", p.min_length));
    DRC_RETURN_NOT_OK(Get(n, "partitioned", p.partitioned, "true or false"));
    DRC_RETURN_NOT_OK(GetAggregate(n, p.aggregate));
    DRC_RETURN_NOT_OK(GetLags(n, p.lags));
    DRC_RETURN_NOT_OK(GetRolling(n, p.rolling));
    DRC_RETURN_NOT_OK(GetExpressions(n, p));
    DRC_RETURN_NOT_OK(GetList(n, "drop", p.drop));
    DRC_RETURN_NOT_OK(GetSort(n, p));
    DRC_RETURN_NOT_OK(RefuseCommas(n, {{"select", &p.select},
                                       {"drop", &p.drop},
                                       {"drop_nulls", &p.drop_nulls},
                                       {"sort", &p.sort},
                                       {"unique", &p.unique}}));
    // The arguments travel as text; a separator inside a name would split it.
    for (const auto& [from, to] : p.rename) {
      if (from.find_first_of(",=") != std::string::npos ||
          to.find_first_of(",=") != std::string::npos) {
        return Error(n["rename"], "column names with ',' or '=' cannot be renamed here");
      }
    }
    return Status::OK();
  }

  // The stage's lists of columns travel comma-separated: a ',' inside a name would split it.
  Status RefuseCommas(
      const YAML::Node& n,
      std::initializer_list<std::pair<const char*, const std::vector<std::string>*>> lists) const {
    for (const auto& [key, columns] : lists) {
      for (const auto& column : *columns) {
        if (column.find(',') != std::string::npos) {
          return Error(n[key], std::string("a column name with ',' cannot be listed in '") + key +
                                   "' (the stage's lists travel comma-separated)");
        }
      }
    }
    return Status::OK();
  }

  // `key: [columns]`, or `key: true` for every column ({"*"}), when given.
  Status GetColumnsOrAll(const YAML::Node& n, const char* key,
                         std::vector<std::string>& out) const {
    const YAML::Node node = n[key];
    bool all = false;
    if (node && node.IsScalar() && YAML::convert<bool>::decode(node, all)) {
      if (all) out = {"*"};
      return Status::OK();
    }
    return GetList(n, key, out);
  }

  // `rename: {old: new}`, when given.
  Status GetRename(const YAML::Node& n, std::map<std::string, std::string>& out) const {
    const YAML::Node rename = n["rename"];
    if (!rename) return Status::OK();
    if (!rename.IsMap()) return Error(rename, "field 'rename' expects a mapping {old: new}");
    for (const auto& kv : rename) {
      if (!kv.second.IsScalar()) return Error(kv.second, "a new column name must be a string");
      out[kv.first.as<std::string>()] = kv.second.Scalar();
    }
    return Status::OK();
  }

  // `compute: {column: expression, ...}` and `filter: expression`, their syntax checked.
  Status GetExpressions(const YAML::Node& n, PrepareSpec& p) const {
    if (const YAML::Node compute = n["compute"]) {
      if (!compute.IsMap()) {
        return Error(compute, "field 'compute' expects a mapping {column: expression}");
      }
      for (const auto& kv : compute) {
        const std::string column = kv.first.as<std::string>();
        if (!kv.second.IsScalar()) {
          return Error(kv.second, "compute: column '" + column + "' expects an expression");
        }
        if (Status st = data::CheckExpressionSyntax(kv.second.Scalar()); !st.ok()) {
          return Error(kv.second, "compute " + column + ": " + st.message());
        }
        p.compute.emplace_back(column, kv.second.Scalar());
      }
    }
    DRC_RETURN_NOT_OK(Get(n, "filter", p.filter, "an expression"));
    if (!p.filter.empty()) {
      if (Status st = data::CheckExpressionSyntax(p.filter); !st.ok()) {
        return Error(n["filter"], "filter " + st.message());
      }
    }
    return Status::OK();
  }

  // `sort: [column, "column desc", ...]` (" asc" allowed and dropped; either in any case), when
  // given; kept as "column" or "column desc".
  Status GetSort(const YAML::Node& n, PrepareSpec& p) const {
    DRC_RETURN_NOT_OK(GetList(n, "sort", p.sort));
    for (std::string& item : p.sort) {
      std::string lower = item;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      for (const std::string_view suffix : {" asc", " desc"}) {
        if (lower.size() > suffix.size() && lower.ends_with(suffix)) {
          std::string name = item.substr(0, item.size() - suffix.size());
          while (!name.empty() && name.back() == ' ') name.pop_back();
          item = name.empty() ? "" : suffix == " desc" ? name + " desc" : name;
          break;
        }
      }
      if (item.empty() || item.front() == ' ') {
        return Error(n["sort"], "field 'sort' expects column names, each alone or with ' desc'");
      }
    }
    if (!p.sort.empty() && p.partitioned) {
      return Error(n["sort"],
                   "give 'sort' or 'partitioned', not both (parts hold whole series, in series "
                   "order)");
    }
    return Status::OK();
  }

  // `lags: {column: [k, ...]}` (or one k), when given.
  Status GetLags(const YAML::Node& n,
                 std::vector<std::pair<std::string, std::vector<int>>>& out) const {
    const YAML::Node lags = n["lags"];
    if (!lags) return Status::OK();
    if (!lags.IsMap()) return Error(lags, "field 'lags' expects a mapping {column: [1, 12]}");
    for (const auto& kv : lags) {
      const std::string column = kv.first.as<std::string>();
      std::vector<YAML::Node> items;
      if (kv.second.IsSequence()) {
        for (const auto& item : kv.second) items.push_back(item);
      } else {
        items.push_back(kv.second);
      }
      std::vector<int> ks;
      for (const YAML::Node& item : items) {
        int k = 0;
        if (!item.IsScalar() || !YAML::convert<int>::decode(item, k) || k < 1) {
          return Error(item,
                       "lags: column '" + column + "' expects whole numbers >= 1 (rows back)");
        }
        ks.push_back(k);
      }
      if (ks.empty()) return Error(kv.second, "lags: column '" + column + "' has no lag");
      out.emplace_back(column, std::move(ks));
    }
    return Status::OK();
  }

  // `rolling: {column: C, window: W, stats: [mean, ...], min_periods: M}` or a list of them.
  Status GetRolling(const YAML::Node& n, std::vector<RollingSpec>& out) const {
    const YAML::Node list = n["rolling"];
    if (!list) return Status::OK();
    std::vector<YAML::Node> items;
    if (list.IsSequence()) {
      for (const auto& item : list) items.push_back(item);
    } else {
      items.push_back(list);
    }
    const auto& stats = RollingStats();
    for (const YAML::Node& r : items) {
      DRC_RETURN_NOT_OK(CheckKeys(r, {"column", "window", "stats", "min_periods"},
                                  "rolling (column, window, stats, min_periods)"));
      RollingSpec rolling;
      DRC_RETURN_NOT_OK(Get(r, "column", rolling.column, "a column name"));
      if (rolling.column.empty()) return Error(r, "rolling needs 'column: NAME'");
      DRC_RETURN_NOT_OK(GetPositive(r, "window", rolling.window));
      if (rolling.window == 0) return Error(r, "rolling needs 'window: ROWS'");
      DRC_RETURN_NOT_OK(GetList(r, "stats", rolling.stats));
      if (rolling.stats.empty()) rolling.stats = {"mean"};
      for (const std::string& stat : rolling.stats) {
        if (std::find(stats.begin(), stats.end(), stat) == stats.end()) {
          return Error(r["stats"], "rolling: unknown statistic '" + stat + "' (one of " +
                                       JoinList(stats) + ")");
        }
      }
      DRC_RETURN_NOT_OK(GetAtLeast(r, "min_periods", rolling.min_periods, 0));
      if (rolling.min_periods > rolling.window) {
        return Error(r["min_periods"], "rolling: min_periods is more than the window (" +
                                           std::to_string(rolling.window) + " rows)");
      }
      out.push_back(std::move(rolling));
    }
    return Status::OK();
  }

  // `aggregate: {by: [keys], column: function, ...}`, when given.
  Status GetAggregate(const YAML::Node& n, AggregateSpec& out) const {
    const YAML::Node a = n["aggregate"];
    if (!a) return Status::OK();
    if (!a.IsMap()) {
      return Error(a, "field 'aggregate' expects a mapping {by: [columns], column: function}");
    }
    DRC_RETURN_NOT_OK(GetList(a, "by", out.by));
    if (out.by.empty()) return Error(a, "field 'aggregate' needs 'by: [columns]'");
    const auto& functions = AggregateFunctions();
    for (const auto& kv : a) {
      const std::string column = kv.first.as<std::string>();
      if (column == "by") continue;
      if (std::find(out.by.begin(), out.by.end(), column) != out.by.end()) {
        return Error(kv.first, "aggregate: '" + column +
                                   "' is a 'by' column; it cannot also be "
                                   "aggregated");
      }
      const std::string function = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (std::find(functions.begin(), functions.end(), function) == functions.end()) {
        return Error(kv.second, "aggregate: column '" + column + "' expects a function, one of " +
                                    JoinList(functions));
      }
      out.columns.emplace_back(column, function);
    }
    return Status::OK();
  }

  // `join:` (a mapping or a list of them), when given: each a `table: PATH` or the table of a
  // prepare stage `from` above (which the stage then comes after).
  Status GetJoins(const YAML::Node& n, Stage& s, const Pipeline& p) const {
    const YAML::Node list = n["join"];
    if (!list) return Status::OK();
    if (!list.IsMap() && !list.IsSequence()) {
      return Error(list,
                   "field 'join' expects a mapping {table: PATH, on: [columns]} or a list "
                   "of them");
    }
    std::vector<YAML::Node> items;
    if (list.IsMap()) {
      items.push_back(list);
    } else {
      for (const auto& item : list) items.push_back(item);
    }
    for (const YAML::Node& j : items) {
      DRC_RETURN_NOT_OK(CheckKeys(j, {"table", "from", "on", "how", "rename", "select"}, "a join"));
      JoinSpec join;
      DRC_ASSIGN_OR_RETURN(join.table, InputPath(j, "table"));
      std::string from;
      DRC_RETURN_NOT_OK(Get(j, "from", from, "a prepare stage's name"));
      if (join.table.empty() && from.empty()) {
        return Error(j, "a join needs 'table: PATH' or 'from: STAGE'");
      }
      if (!from.empty()) {
        DRC_ASSIGN_OR_RETURN(std::tie(join.table, join.parts), FromTable(j, "table", from, s, p));
      }
      DRC_RETURN_NOT_OK(GetList(j, "on", join.on));
      if (join.on.empty()) return Error(j, "a join needs 'on: [columns]'");
      DRC_RETURN_NOT_OK(Get(j, "how", join.how, "inner, left, right, outer, semi or anti"));
      const auto& types = JoinTypes();
      if (std::find(types.begin(), types.end(), join.how) == types.end()) {
        return Error(j["how"],
                     "field 'how' expects one of " + JoinList(types) + ", got '" + join.how + "'");
      }
      DRC_RETURN_NOT_OK(GetRename(j, join.rename));
      DRC_RETURN_NOT_OK(GetList(j, "select", join.select));
      s.prepare.join.push_back(std::move(join));
    }
    return Status::OK();
  }

  // `models: [A, B]`, at least one, each once, each one of `known` or `aliases` (checked here,
  // so that a misspelt name stops the run before it starts, not when its task does).
  template <size_t N, size_t M>
  Status GetModels(const YAML::Node& n, const char* kind, std::vector<std::string>& models,
                   const std::array<std::string_view, N>& known,
                   const std::array<std::string_view, M>& aliases) const {
    DRC_RETURN_NOT_OK(GetList(n, "models", models));
    if (models.empty()) {
      return Error(n, std::string("a ") + kind + " stage needs 'models: [NAME, ...]'");
    }
    std::set<std::string> seen;
    for (const auto& m : models) {
      if (!ValidName(m)) return Error(n["models"], "'" + m + "' is not a model name");
      if (!seen.insert(m).second) return Error(n["models"], "model '" + m + "' is listed twice");
      const auto is = [&](std::string_view name) { return name == m; };
      if (std::none_of(known.begin(), known.end(), is) &&
          std::none_of(aliases.begin(), aliases.end(), is)) {
        return Error(n["models"],
                     std::string("unknown ") + kind + " model '" + m + "'; the models: " +
                         JoinList(std::vector<std::string>(known.begin(), known.end())));
      }
    }
    return Status::OK();
  }

  // `seed: S` or `seeds: [S, ...]` (each once); `seeds` keeps its default without either.
  Status GetSeeds(const YAML::Node& n, std::vector<int64_t>& seeds) const {
    if (n["seed"] && n["seeds"]) return Error(n["seeds"], "give 'seed' or 'seeds', not both");
    DRC_RETURN_NOT_OK(Get(n, "seed", seeds[0], "an integer"));
    const YAML::Node list = n["seeds"];
    if (!list) return Status::OK();
    std::vector<std::string> text;
    DRC_RETURN_NOT_OK(GetList(n, "seeds", text));
    seeds.clear();
    for (const auto& t : text) {
      int64_t seed = 0;
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), seed);
      if (ec != std::errc() || end != t.data() + t.size()) {
        return Error(list, "field 'seeds' expects a list of integers, got '" + t + "'");
      }
      if (std::find(seeds.begin(), seeds.end(), seed) != seeds.end()) {
        return Error(list, "seed " + t + " is listed twice");
      }
      seeds.push_back(seed);
    }
    if (seeds.empty()) return Error(list, "field 'seeds' lists no seed");
    return Status::OK();
  }

  Status ParseForecast(const YAML::Node& n, ForecastSpec& f) const {
    DRC_ASSIGN_OR_RETURN(f.data, InputPath(n, "data"));
    DRC_RETURN_NOT_OK(Get(n, "from", f.from, "a stage's or a task's name"));
    // Both: a task's file, checked when planned (PlanForecast).
    if (f.data.empty() && f.from.empty()) {
      return Error(n, "a forecast stage reads either 'data: PATH' or 'from: STAGE' (one of them)");
    }
    DRC_RETURN_NOT_OK(GetModels(n, "forecast", f.models, dl::kForecastModelNames,
                                std::array<std::string_view, 0>{}));
    DRC_RETURN_NOT_OK(GetPositive(n, "h", f.horizon));
    DRC_RETURN_NOT_OK(GetPositive(n, "input_size", f.input_size));
    DRC_RETURN_NOT_OK(GetPositive(n, "steps", f.steps));
    DRC_RETURN_NOT_OK(GetSeeds(n, f.seeds));
    DRC_RETURN_NOT_OK(Get(n, "freq", f.freq, "a frequency (ME, D, ...)"));
    DRC_RETURN_NOT_OK(Get(n, "scaler", f.scaler, "a scaler name"));
    DRC_RETURN_NOT_OK(Get(n, "loss", f.loss, "a loss name (MAE, MSE, HuberLoss, ...)"));
    DRC_RETURN_NOT_OK(GetList(n, "futr_exog", f.futr_exog));
    DRC_RETURN_NOT_OK(GetList(n, "hist_exog", f.hist_exog));
    DRC_RETURN_NOT_OK(GetList(n, "stat_exog", f.stat_exog));
    DRC_RETURN_NOT_OK(GetList(n, "cat_exog", f.cat_exog));
    DRC_RETURN_NOT_OK(Get(n, "cat_emb_dim", f.cat_emb_dim, "fastai, sqrt, half or a number"));
    DRC_RETURN_NOT_OK(RefuseCommas(n, {{"futr_exog", &f.futr_exog},
                                       {"hist_exog", &f.hist_exog},
                                       {"stat_exog", &f.stat_exog},
                                       {"cat_exog", &f.cat_exog}}));
    DRC_ASSIGN_OR_RETURN(f.config, InputPath(n, "config"));
    DRC_ASSIGN_OR_RETURN(f.futr_data, InputPath(n, "futr_data"));
    DRC_ASSIGN_OR_RETURN(f.hierarchy, InputPath(n, "hierarchy"));
    DRC_RETURN_NOT_OK(Get(n, "reconciliation", f.reconciliation,
                          "BottomUp, MinTraceOLS, MinTraceWLS or Identity"));
    if (f.hierarchy.empty() != f.reconciliation.empty()) {
      return Error(n[f.hierarchy.empty() ? "reconciliation" : "hierarchy"],
                   "fields 'hierarchy' (a summing matrix CSV) and 'reconciliation' (BottomUp, "
                   "MinTraceOLS, MinTraceWLS or Identity) go together (NF's HINT)");
    }
    DRC_RETURN_NOT_OK(Get(n, "future", f.future, "true or false"));
    DRC_RETURN_NOT_OK(Get(n, "partition", f.partition, "true or false"));
    DRC_RETURN_NOT_OK(GetAtLeast(n, "cv_windows", f.cv_windows, 0));
    DRC_RETURN_NOT_OK(GetPositive(n, "cv_step", f.cv_step));
    DRC_RETURN_NOT_OK(GetAtLeast(n, "cv_refit", f.cv_refit, 0));
    if (f.cv_refit > 0 && f.cv_windows == 0) {
      return Error(n["cv_refit"], "field 'cv_refit' needs 'cv_windows' >= 1");
    }
    DRC_RETURN_NOT_OK(Get(n, "warm_start", f.warm_start, "true or false"));
    DRC_ASSIGN_OR_RETURN(f.init_from, InputPath(n, "init_from"));
    if (f.future && f.cv_windows > 0) {
      return Error(n["cv_windows"], "give 'future' or 'cv_windows', not both");
    }
    std::vector<std::string> levels;
    DRC_RETURN_NOT_OK(GetList(n, "level", levels));
    for (const auto& text : levels) {
      double level = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), level);
      if (ec != std::errc() || end != text.data() + text.size() || !(level > 0 && level < 100)) {
        return Error(n["level"], "field 'level' expects levels in (0, 100), got '" + text + "'");
      }
      f.level.push_back(level);
    }
    DRC_RETURN_NOT_OK(GetAtLeast(n, "conformal_windows", f.conformal_windows, 0));
    DRC_RETURN_NOT_OK(GetPositive(n, "conformal_step", f.conformal_step));
    DRC_RETURN_NOT_OK(Get(n, "conformal_method", f.conformal_method,
                          "conformal_distribution or conformal_error"));
    DRC_RETURN_NOT_OK(Get(n, "importances", f.importances, "true or false"));
    if (f.warm_start && f.cv_refit == 0 && f.conformal_windows == 0) {
      return Error(n["warm_start"],
                   "field 'warm_start' chains a model's fits: it needs 'cv_refit' >= 1 or "
                   "'conformal_windows'");
    }
    if (const YAML::Node params = n["params"]) {
      if (!params.IsMap()) {
        return Error(params, "field 'params' expects {MODEL: {KEY: VALUE, ...}, ...}");
      }
      for (const auto& model : params) {
        const std::string name = model.first.as<std::string>();
        if (std::find(f.models.begin(), f.models.end(), name) == f.models.end()) {
          return Error(model.first, "params for '" + name +
                                        "', which the stage does not forecast (" +
                                        JoinList(f.models) + ")");
        }
        if (!model.second.IsMap()) {
          return Error(model.second, "params of " + name + " expect {KEY: VALUE, ...}");
        }
        for (const auto& kv : model.second) {
          const std::string key = kv.first.as<std::string>();
          // One number or word, or a list of words (NBEATS's stack_types), which travels
          // comma-separated as --param takes it.
          std::string value;
          const auto word = [](const YAML::Node& v) {
            return v.IsScalar() && v.Scalar().find_first_of(";,") == std::string::npos;
          };
          if (kv.second.IsSequence() && kv.second.size() > 0) {
            for (const auto& item : kv.second) {
              if (!word(item)) {
                return Error(item, "params value " + name + "." + key +
                                       ": a list holds words (lists of lists and other values go "
                                       "in a config file)");
              }
              value += (value.empty() ? "" : ",") + item.Scalar();
            }
          } else if (!kv.second.IsScalar() || kv.second.Scalar().find(';') != std::string::npos) {
            return Error(kv.second, "params value " + name + "." + key +
                                        " must be one number or word, or a list of words (other "
                                        "values go in a config file)");
          } else {
            value = kv.second.Scalar();
          }
          f.params[name][key] = value;
        }
      }
    }
    return Status::OK();
  }

  Status ParseHydro(const YAML::Node& n, HydroSpec& h) const {
    DRC_ASSIGN_OR_RETURN(h.data, InputPath(n, "data"));
    DRC_ASSIGN_OR_RETURN(h.table, InputPath(n, "table"));
    DRC_RETURN_NOT_OK(Get(n, "from", h.from, "a stage's or a task's name"));
    if (const YAML::Node a = n["attributes"]; a && a.IsMap()) {
      DRC_RETURN_NOT_OK(CheckKeys(a, {"from"}, "field 'attributes'"));
      DRC_RETURN_NOT_OK(Get(a, "from", h.attributes_from, "a prepare stage's name"));
      if (h.attributes_from.empty()) {
        return Error(a, "field 'attributes' expects a path or {from: STAGE}");
      }
    } else {
      DRC_ASSIGN_OR_RETURN(h.attributes, InputPath(n, "attributes"));
    }
    const bool has_attributes = !h.attributes.empty() || !h.attributes_from.empty();
    // `from` a task goes with `table: FILE` (checked when planned: PlanHydro).
    const int sources = !h.data.empty() + !h.table.empty() + !h.from.empty() -
                        (!h.from.empty() && !h.table.empty());
    if (sources > 1) {
      return Error(n,
                   "a hydro stage reads one of 'data: CAMELS_FOLDER', 'table: PATH' or "
                   "'from: STAGE'");
    }
    if (h.data.empty() && h.table.empty() && h.from.empty()) {
      DRC_ASSIGN_OR_RETURN(h.data,
                           Resolve(n, "data", std::string(kDataDirVar) + "camels_us_sample"));
    }
    if (has_attributes && !h.data.empty()) {
      return Error(n["attributes"],
                   "field 'attributes' goes with 'table' or 'from' (CAMELS-US attributes are "
                   "read from the data folder)");
    }
    DRC_RETURN_NOT_OK(GetList(n, "inputs", h.inputs));
    DRC_RETURN_NOT_OK(GetList(n, "static", h.statics));
    for (const auto* list : {&h.inputs, &h.statics}) {
      for (const auto& name : *list) {
        if (name.empty() || name.find(',') != std::string::npos) {
          return Error(n[list == &h.inputs ? "inputs" : "static"],
                       "'" + name + "' is not a column name");
        }
      }
    }
    if (h.data.empty() && !has_attributes && !h.statics.empty() &&
        h.statics != std::vector<std::string>{"none"}) {
      return Error(n["static"],
                   "field 'static' names attributes of a table, but the stage has "
                   "no 'attributes' table");
    }
    DRC_RETURN_NOT_OK(
        GetModels(n, "hydro", h.models, dl::kHydroModelNames, dl::kHydroModelAliases));
    DRC_RETURN_NOT_OK(GetList(n, "basins", h.basins));
    for (const auto& b : h.basins) {
      if (b.empty() || b.find(',') != std::string::npos) {
        return Error(n["basins"], "'" + b + "' is not a gauge id");
      }
    }
    for (auto [key, period] :
         {std::pair<const char*, std::string*>{"train", &h.train}, {"test", &h.test}}) {
      DRC_RETURN_NOT_OK(Get(n, key, *period, "a period START:END"));
      if (std::count(period->begin(), period->end(), ':') != 1) {
        return Error(n[key], std::string("field '") + key + "' expects START:END, e.g. " +
                                 "2000-01-01:2001-12-31; got '" + *period + "'");
      }
    }
    DRC_RETURN_NOT_OK(GetAtLeast(n, "epochs", h.epochs, 0));
    DRC_RETURN_NOT_OK(GetPositive(n, "seq_length", h.seq_length));
    DRC_RETURN_NOT_OK(GetPositive(n, "hidden_size", h.hidden_size));
    DRC_RETURN_NOT_OK(GetPositive(n, "batch_size", h.batch_size));
    DRC_RETURN_NOT_OK(Get(n, "learning_rate", h.learning_rate, "a number"));
    if (!(h.learning_rate > 0))
      return Error(n["learning_rate"], "field 'learning_rate' must be > 0");
    DRC_RETURN_NOT_OK(Get(n, "dropout", h.dropout, "a number"));
    if (!(h.dropout >= 0 && h.dropout < 1)) {
      return Error(n["dropout"], "field 'dropout' must be in [0, 1)");
    }
    DRC_RETURN_NOT_OK(Get(n, "loss", h.loss, "NSE or MSE"));
    if (h.loss != "NSE" && h.loss != "MSE") {
      return Error(n["loss"], "field 'loss' expects NSE or MSE, got '" + h.loss + "'");
    }
    return GetSeeds(n, h.seeds);
  }

  // The fields every task of a built-in stage takes.
  Status ParseResources(const YAML::Node& n, runtime::TaskDescription& t) const {
    DRC_RETURN_NOT_OK(GetPositive(n, "ranks", t.ranks));
    DRC_RETURN_NOT_OK(GetPositive(n, "cores", t.cores_per_rank));
    DRC_RETURN_NOT_OK(Get(n, "gpus", t.gpus_per_rank, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "priority", t.priority, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "retries", t.retries, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "timeout", t.timeout_s, "a number of seconds"));
    if (t.gpus_per_rank < 0) return Error(n["gpus"], "field 'gpus' must be >= 0");
    if (t.retries < 0) return Error(n["retries"], "field 'retries' must be >= 0");
    return Status::OK();
  }

  // Rejects keys that a stage of `kind` does not take: the common ones, `own`, and with
  // `resources` the fields every task of a built-in stage takes.
  Status CheckStageKeys(const YAML::Node& n, const Stage& s, const std::vector<std::string>& own,
                        bool resources) const {
    std::vector<std::string> known = {"name", "kind", "after"};
    known.insert(known.end(), own.begin(), own.end());
    if (resources) {
      known.insert(known.end(), {"ranks", "cores", "gpus", "priority", "retries", "timeout"});
    }
    return CheckKeys(n, known, std::string(StageKindName(s.kind)) + " stage '" + s.name + "'");
  }

  // The planned task `uid` (a prepare stage's one task has the stage's name).
  static const runtime::TaskDescription& PlannedTask(const Pipeline& p, const std::string& uid) {
    for (const auto& t : p.run.tasks) {
      if (t.uid == uid) return t;
    }
    static const runtime::TaskDescription kNone;
    return kNone;
  }

  static void AddTask(runtime::TaskDescription t, Stage& s, Pipeline& p) {
    s.task_uids.push_back(t.uid);
    p.run.tasks.push_back(std::move(t));
  }

  // A task `STAGE.MODEL` of `model` (`STAGE.MODEL.seedS` for each of several seeds).
  static void AddModelRuns(const runtime::TaskDescription& model_task, const std::string& model,
                           const std::vector<int64_t>& seeds, Stage& s, Pipeline& p) {
    for (const int64_t seed : seeds) {
      runtime::TaskDescription t = model_task;
      t.uid = s.name + "." + model;
      if (seeds.size() > 1) t.uid += ".seed" + std::to_string(seed);
      t.function_args["seed"] = std::to_string(seed);
      s.runs.push_back({t.uid, model, seed});
      AddTask(std::move(t), s, p);
    }
  }

  Status PlanPrepare(const YAML::Node& n, Stage& s, Pipeline& p) const {
    DRC_RETURN_NOT_OK(CheckStageKeys(
        n, s, {"input",  "from",    "output",     "rename", "select",     "join",       "compute",
               "filter", "drop",    "start",      "end",    "drop_nulls", "aggregate",  "resample",
               "lags",   "rolling", "min_length", "sort",   "unique",     "partitioned"},
        true));
    DRC_RETURN_NOT_OK(ParsePrepare(n, s.prepare));
    std::string from;
    DRC_RETURN_NOT_OK(Get(n, "from", from, "a stage's or a task's name"));
    if (!from.empty()) {
      DRC_ASSIGN_OR_RETURN(std::tie(s.prepare.input, s.prepare.input_parts),
                           FromTable(n, "input", from, s, p));
    }
    DRC_RETURN_NOT_OK(GetJoins(n, s, p));
    runtime::TaskDescription t;
    DRC_RETURN_NOT_OK(ParseResources(n, t));
    t.uid = s.name;
    t.function = "pipeline.prepare";
    t.function_args = PrepareArgs(s.prepare);
    AddTask(std::move(t), s, p);
    return Status::OK();
  }

  // The table that a prepare stage or a join of stage `s` reads `from: NAME` (at node `at`),
  // relative to a task folder, and its number of parts (StageTable): the table of prepare stage
  // NAME; or the file that `file_key` (input, table) names in the folder of the task NAME of a
  // tasks stage above (a stage of one task, or STAGE.UID), which that task writes.
  Result<std::pair<std::string, int>> FromTable(const YAML::Node& at, const std::string& file_key,
                                                const std::string& name, Stage& s,
                                                const Pipeline& p) const {
    const Stage* stage = p.FindStage(name);
    const YAML::Node file_node = at[file_key];
    const std::string file = file_node && file_node.IsScalar() ? file_node.Scalar() : "";
    if (stage != nullptr && stage->kind == StageKind::kPrepare) {
      if (!file.empty()) {
        return Error(file_node, "give '" + file_key + "' or 'from' a prepare stage, not both");
      }
      return StageTable(at, name, s, p);
    }
    const Stage* owner = nullptr;
    std::string uid;
    if (stage != nullptr && stage->kind == StageKind::kTasks) {
      if (stage->task_uids.size() != 1) {
        return Error(at["from"], "stage '" + name + "' has " +
                                     std::to_string(stage->task_uids.size()) +
                                     " tasks: name one of them, from: STAGE.UID");
      }
      owner = stage;
      uid = stage->task_uids[0];
    }
    for (const Stage& other : p.stages) {
      const auto& uids = other.task_uids;
      if (other.kind == StageKind::kTasks &&
          std::find(uids.begin(), uids.end(), name) != uids.end()) {
        owner = &other;
        uid = name;
      }
    }
    if (owner == nullptr) {
      return Error(at["from"], "field 'from' names '" + name +
                                   "', which is not a prepare stage, a tasks stage or a task "
                                   "defined above");
    }
    if (file.empty() || file.front() == '/') {
      return Error(file_node ? file_node : at, "from: task '" + uid + "' needs '" + file_key +
                                                   ": FILE', a file that it writes in its folder");
    }
    if (!PlannedTask(p, uid).workdir.empty()) {
      return Error(at["from"], "task '" + uid +
                                   "' sets its own workdir; from: reads files in a task's own "
                                   "folder of the run (give '" +
                                   file_key + "' as a path instead)");
    }
    if (std::find(s.after.begin(), s.after.end(), owner->name) == s.after.end()) {
      s.after.push_back(owner->name);
    }
    return std::pair{"../" + uid + "/" + file, 0};
  }

  static bool IsPrepareStage(const Pipeline& p, const std::string& name) {
    const Stage* stage = p.FindStage(name);
    return stage != nullptr && stage->kind == StageKind::kPrepare;
  }

  // A path relative to a task folder ("../UID/FILE", as FromTable gives it) relative to the
  // run's folder instead ("UID/FILE").
  static std::string RunPath(const std::string& from_task_folder) {
    return from_task_folder.substr(std::string_view("../").size());
  }

  // The table that prepare stage `name` writes, relative to a task folder, as stage `s` (a
  // prepare stage) reads it `from` there (`at`: the node with the field), and its number of
  // parts: "../NAME/series.parquet" and 0, or "../NAME/series/part-{rank}.parquet" and the
  // stage's ranks when it writes parts.
  Result<std::pair<std::string, int>> StageTable(const YAML::Node& at, const std::string& name,
                                                 Stage& s, const Pipeline& p) const {
    DRC_ASSIGN_OR_RETURN(const Stage* from, FromStage(at, name, s, p));
    if (!from->prepare.partitioned) {
      return std::pair{"../" + from->name + "/" + from->prepare.output, 0};
    }
    return std::pair{"../" + from->name + "/" + PartsPattern(from->prepare),
                     PlannedTask(p, from->name).ranks};
  }

  // The prepare stage that stage `s` reads `from` (`name`), which `s` then comes after.
  Result<const Stage*> FromStage(const YAML::Node& n, const std::string& name, Stage& s,
                                 const Pipeline& p) const {
    const Stage* from = p.FindStage(name);
    if (from == nullptr || from->kind != StageKind::kPrepare) {
      return Error(n["from"],
                   "field 'from' names '" + name + "', which is not a prepare stage defined above");
    }
    if (std::find(s.after.begin(), s.after.end(), from->name) == s.after.end()) {
      s.after.push_back(from->name);
    }
    return from;
  }

  Status PlanForecast(const YAML::Node& n, Stage& s, Pipeline& p) const {
    DRC_RETURN_NOT_OK(CheckStageKeys(n, s, {"data",           "from",
                                            "models",         "h",
                                            "input_size",     "steps",
                                            "seed",           "seeds",
                                            "freq",           "scaler",
                                            "loss",           "config",
                                            "params",         "future",
                                            "partition",      "cv_windows",
                                            "cv_step",        "cv_refit",
                                            "warm_start",     "init_from",
                                            "level",          "conformal_windows",
                                            "conformal_step", "conformal_method",
                                            "futr_exog",      "hist_exog",
                                            "stat_exog",      "cat_exog",
                                            "cat_emb_dim",    "futr_data",
                                            "importances",    "hierarchy",
                                            "reconciliation"},
                                     true));
    DRC_RETURN_NOT_OK(ParseForecast(n, s.forecast));
    runtime::TaskDescription base;
    DRC_RETURN_NOT_OK(ParseResources(n, base));
    const ForecastSpec& f = s.forecast;
    std::string data = f.data;
    if (!f.from.empty()) {
      // A prepare stage's table or parts, or a task's file (FromTable).
      int parts = 0;
      DRC_ASSIGN_OR_RETURN(std::tie(data, parts), FromTable(n, "data", f.from, s, p));
      if (!IsPrepareStage(p, f.from)) {
        s.forecast.data.clear();  // `data` named the task's file, not a path of its own
        s.forecast.from_task_file = RunPath(data);
      }
      if (parts > 0) {
        // One part per rank: the forecast runs on the prepare stage's ranks.
        if (!n["ranks"]) {
          base.ranks = parts;
        } else if (base.ranks != parts) {
          return Error(n["ranks"], "field 'ranks' is " + std::to_string(base.ranks) + ", but '" +
                                       f.from + "' writes " + std::to_string(parts) +
                                       " parts (partitioned), one per rank: give it ranks: " +
                                       std::to_string(parts) + " or leave ranks out");
        }
      }
    }
    if (f.partition && data::IsRankPattern(data)) {
      return Error(n["partition"],
                   "field 'partition' splits one table over the ranks; " +
                       (f.from.empty() ? "'" + f.data + "' names parts, one per rank, already"
                                       : "'" + f.from + "' writes parts (partitioned) already"));
    }
    s.forecast.ranks = base.ranks;
    base.function = "dl.forecast";
    base.function_args = {{"data", data},
                          {"h", std::to_string(f.horizon)},
                          {"input_size", std::to_string(f.input_size)},
                          {"steps", std::to_string(f.steps)},
                          {"out", "forecast.csv"}};
    if (!f.freq.empty()) base.function_args["freq"] = f.freq;
    if (!f.scaler.empty()) base.function_args["scaler"] = f.scaler;
    if (!f.loss.empty()) base.function_args["loss"] = f.loss;
    for (const auto& exog : f.ExogLists()) {
      if (!exog.columns->empty()) base.function_args[exog.key] = JoinList(*exog.columns, ",");
    }
    if (!f.cat_exog.empty()) base.function_args["cat_exog"] = JoinList(f.cat_exog, ",");
    if (!f.cat_emb_dim.empty()) base.function_args["cat_emb_dim"] = f.cat_emb_dim;
    if (!f.config.empty()) base.function_args["config"] = f.config;
    if (!f.futr_data.empty()) base.function_args["futr_data"] = f.futr_data;
    if (!f.hierarchy.empty()) {
      base.function_args["hierarchy"] = f.hierarchy;
      base.function_args["reconciliation"] = f.reconciliation;
    }
    if (f.future) base.function_args["future"] = "true";
    if (f.partition) base.function_args["partition"] = "true";
    if (f.cv_windows > 0) {
      base.function_args["cv_windows"] = std::to_string(f.cv_windows);
      base.function_args["cv_step"] = std::to_string(f.cv_step);
      base.function_args["cv_refit"] = std::to_string(f.cv_refit);
    }
    if (f.warm_start) base.function_args["warm_start"] = "true";
    if (!f.init_from.empty()) base.function_args["init_from"] = f.init_from;
    if (!f.level.empty()) {
      std::vector<std::string> levels;
      for (double level : f.level) levels.push_back(NumberText(level));
      base.function_args["level"] = JoinList(levels, ",");
    }
    if (f.conformal_windows > 0) {
      base.function_args["conformal_windows"] = std::to_string(f.conformal_windows);
      base.function_args["conformal_step"] = std::to_string(f.conformal_step);
    }
    if (!f.conformal_method.empty()) base.function_args["conformal_method"] = f.conformal_method;
    if (f.importances) base.function_args["importances"] = "importances.csv";
    for (const auto& model : f.models) {
      runtime::TaskDescription m = base;
      m.function_args["models"] = model;
      if (auto it = f.params.find(model); it != f.params.end()) {
        std::vector<std::string> items;
        for (const auto& [key, value] : it->second)
          items.push_back(model + "." + key + "=" + value);
        m.function_args["params"] = JoinList(items, ";");
      }
      AddModelRuns(m, model, f.seeds, s, p);
    }
    return Status::OK();
  }

  Status PlanHydro(const YAML::Node& n, Stage& s, Pipeline& p) const {
    DRC_RETURN_NOT_OK(
        CheckStageKeys(n, s,
                       {"data", "table", "from", "attributes", "inputs", "static", "models",
                        "basins", "train", "test", "epochs", "seq_length", "hidden_size",
                        "learning_rate", "dropout", "batch_size", "loss", "seed", "seeds"},
                       true));
    DRC_RETURN_NOT_OK(ParseHydro(n, s.hydro));
    runtime::TaskDescription base;
    DRC_RETURN_NOT_OK(ParseResources(n, base));
    const HydroSpec& h = s.hydro;
    std::string table = h.table;
    if (!h.from.empty()) {
      // A prepare stage's table or parts, or a task's file (FromTable).
      int parts = 0;
      DRC_ASSIGN_OR_RETURN(std::tie(table, parts), FromTable(n, "table", h.from, s, p));
      if (!IsPrepareStage(p, h.from)) {
        s.hydro.table.clear();  // `table` named the task's file, not a path of its own
        s.hydro.from_task_file = RunPath(table);
      }
      // Parts: by default the stage runs on the prepare stage's ranks, each rank reading its own
      // part's basins; given other ranks, every rank reads every part and keeps its share.
      if (parts > 0 && !n["ranks"]) base.ranks = parts;
    }
    base.function = "dl.hydro";
    base.function_args = {{"train", h.train},
                          {"test", h.test},
                          {"epochs", std::to_string(h.epochs)},
                          {"seq_length", std::to_string(h.seq_length)},
                          {"hidden_size", std::to_string(h.hidden_size)},
                          {"learning_rate", NumberText(h.learning_rate)},
                          {"dropout", NumberText(h.dropout)},
                          {"batch_size", std::to_string(h.batch_size)},
                          {"loss", h.loss},
                          {"out", "hydro.csv"}};
    if (table.empty()) {
      base.function_args["data"] = h.data;
    } else {
      base.function_args["table"] = table;
    }
    std::string attributes = h.attributes;
    if (!h.attributes_from.empty()) {
      DRC_ASSIGN_OR_RETURN(const Stage* from, FromStage(n["attributes"], h.attributes_from, s, p));
      if (from->prepare.partitioned) {
        return Error(n["attributes"]["from"], "attributes come from one table, and '" + from->name +
                                                  "' writes parts (partitioned)");
      }
      attributes = "../" + from->name + "/" + from->prepare.output;
    }
    if (!attributes.empty()) base.function_args["attributes"] = attributes;
    if (!h.inputs.empty()) base.function_args["inputs"] = JoinList(h.inputs, ",");
    if (!h.statics.empty()) base.function_args["static"] = JoinList(h.statics, ",");
    if (!h.basins.empty()) base.function_args["basins"] = JoinList(h.basins, ",");
    for (const auto& model : h.models) {
      runtime::TaskDescription m = base;
      m.function_args["model"] = model;
      AddModelRuns(m, model, h.seeds, s, p);
    }
    return Status::OK();
  }

  Status PlanTasks(const YAML::Node& n, Stage& s, Pipeline& p) const {
    DRC_RETURN_NOT_OK(CheckStageKeys(n, s, {"tasks"}, false));
    if (!n["tasks"]) return Error(n, "a tasks stage needs a 'tasks' list");
    DRC_ASSIGN_OR_RETURN(auto tasks, runtime::ParseTaskList(n["tasks"], file()));
    std::set<std::string> own;
    for (const auto& t : tasks) own.insert(t.uid);
    const bool alone = tasks.size() == 1 && tasks[0].uid.empty();
    for (auto& t : tasks) {
      if (!alone && t.uid.empty()) {
        return Error(n["tasks"],
                     "the tasks of stage '" + s.name + "' need uids when there is more than one");
      }
      t.uid = alone ? s.name : s.name + "." + t.uid;
      for (auto& d : t.depends_on) {
        if (own.count(d) == 0) {
          return Error(n["tasks"], "task '" + t.uid + "' depends on '" + d +
                                       "', which is not a task of stage '" + s.name +
                                       "' (use the stage's 'after' for other stages)");
        }
        d = s.name + "." + d;
      }
      AddTask(std::move(t), s, p);
    }
    return Status::OK();
  }

  Status ParseStage(const YAML::Node& n, Pipeline& p) const {
    if (!n.IsMap()) return Error(n, "a stage must be a mapping with a name and a kind");
    Stage s;
    DRC_RETURN_NOT_OK(Get(n, "name", s.name, "a name"));
    if (!n["name"]) return Error(n, "a stage needs a 'name'");
    if (!ValidName(s.name)) {
      return Error(n["name"], "stage name '" + s.name +
                                  "' must be letters, digits, '_', '-' or '.' (it names folders)");
    }
    if (p.FindStage(s.name) != nullptr) {
      return Error(n["name"], "stage '" + s.name + "' is defined twice");
    }
    std::string kind = n["tasks"] ? "tasks" : "";
    DRC_RETURN_NOT_OK(Get(n, "kind", kind, "prepare, forecast, hydro or tasks"));
    DRC_RETURN_NOT_OK(GetList(n, "after", s.after));
    for (const auto& a : s.after) {
      if (p.FindStage(a) == nullptr) {
        return Error(n["after"], "stage '" + s.name + "' comes after '" + a +
                                     "', which is not a stage defined above it");
      }
    }
    if (kind == "prepare") {
      s.kind = StageKind::kPrepare;
      DRC_RETURN_NOT_OK(PlanPrepare(n, s, p));
    } else if (kind == "forecast") {
      s.kind = StageKind::kForecast;
      DRC_RETURN_NOT_OK(PlanForecast(n, s, p));
    } else if (kind == "hydro") {
      s.kind = StageKind::kHydro;
      DRC_RETURN_NOT_OK(PlanHydro(n, s, p));
    } else if (kind == "tasks") {
      s.kind = StageKind::kTasks;
      DRC_RETURN_NOT_OK(PlanTasks(n, s, p));
    } else {
      return Error(n["kind"] ? n["kind"] : n,
                   "stage '" + s.name + "' has kind '" + kind +
                       "'; expected prepare, forecast, hydro or tasks (a 'tasks' list)");
    }
    // A stage's tasks wait for every task of the stages before it.
    const size_t first = p.run.tasks.size() - s.task_uids.size();
    for (size_t i = first; i < p.run.tasks.size(); ++i) {
      auto& deps = p.run.tasks[i].depends_on;
      for (const auto& a : s.after) {
        const Stage* before = p.FindStage(a);
        deps.insert(deps.end(), before->task_uids.begin(), before->task_uids.end());
      }
    }
    p.stages.push_back(std::move(s));
    return Status::OK();
  }
};

}  // namespace

std::string_view StageKindName(StageKind kind) {
  switch (kind) {
    case StageKind::kPrepare: return "prepare";
    case StageKind::kForecast: return "forecast";
    case StageKind::kHydro: return "hydro";
    case StageKind::kTasks: return "tasks";
  }
  return "?";
}

const std::vector<std::string>& Stage::Models() const {
  static const std::vector<std::string> kNone;
  return kind == StageKind::kForecast ? forecast.models
         : kind == StageKind::kHydro  ? hydro.models
                                      : kNone;
}

const std::vector<int64_t>& Stage::Seeds() const {
  static const std::vector<int64_t> kNone;
  return kind == StageKind::kForecast ? forecast.seeds
         : kind == StageKind::kHydro  ? hydro.seeds
                                      : kNone;
}

std::vector<std::string> Stage::Inputs() const {
  switch (kind) {
    case StageKind::kPrepare: {
      // Not the tables of stages (relative paths), which the run writes.
      std::vector<std::string> inputs;
      if (prepare.input.front() == '/') inputs.push_back(prepare.input);
      for (const JoinSpec& join : prepare.join) {
        if (join.table.front() == '/') inputs.push_back(join.table);
      }
      return inputs;
    }
    case StageKind::kForecast: {
      if (!forecast.from.empty()) return {};
      if (!data::IsRankPattern(forecast.data)) return {forecast.data};
      std::vector<std::string> parts;
      for (int r = 0; r < forecast.ranks; ++r) parts.push_back(data::RankPath(forecast.data, r));
      return parts;
    }
    case StageKind::kHydro: {
      std::vector<std::string> inputs;
      for (const auto* path : {&hydro.data, &hydro.table, &hydro.attributes}) {
        if (!path->empty()) inputs.push_back(*path);
      }
      return inputs;
    }
    default: return {};
  }
}

const Stage* Pipeline::FindStage(std::string_view stage) const {
  for (const auto& s : stages) {
    if (s.name == stage) return &s;
  }
  return nullptr;
}

Result<Pipeline> ParsePipeline(std::string_view yaml, const std::string& file_name) {
  Parser parser(file_name);
  Pipeline p;
  p.file = file_name;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return Status::InvalidArgument(file_name, ": the file is empty");
    DRC_RETURN_NOT_OK(parser.CheckKeys(root, {"name", "pilot", "workdir", "worker", "stages"},
                                       "the pipeline file"));
    DRC_RETURN_NOT_OK(parser.Get(root, "name", p.name, "a string"));
    if (p.name.empty()) p.name = fs::path(file_name).stem().string();
    DRC_RETURN_NOT_OK(runtime::ParseRunSettings(root, file_name, p.run));
    const YAML::Node stages = root["stages"];
    if (!stages) return parser.Error(root, "the pipeline file has no 'stages' list");
    if (!stages.IsSequence() || stages.size() == 0) {
      return parser.Error(stages, "'stages' must be a list of stages");
    }
    for (const auto& s : stages) DRC_RETURN_NOT_OK(parser.ParseStage(s, p));
  } catch (const YAML::Exception& e) {
    return YamlExceptionStatus(file_name, e);
  }
  // Uids must be unique across stages ("a.b" of a tasks stage could meet a forecast's).
  std::set<std::string> uids;
  for (const auto& t : p.run.tasks) {
    if (!uids.insert(t.uid).second) {
      return Status::InvalidArgument(file_name, ": two stages plan a task '", t.uid,
                                     "'; rename one of them");
    }
  }
  return p;
}

Result<Pipeline> LoadPipeline(const std::string& path) {
  DRC_ASSIGN_OR_RETURN(const std::string text, ReadTextFile(path, "pipeline file"));
  return ParsePipeline(text, path);
}

bool IsPipelineFile(const std::string& path) {
  try {
    const YAML::Node root = YAML::LoadFile(path);
    return root.IsMap() && root["stages"];
  } catch (const YAML::Exception&) {
    return false;
  }
}

std::string TaskFolder(const std::string& workdir, const std::string& uid) {
  return (fs::path(workdir) / uid).string();
}

std::string PreparedTablePath(const Stage& stage, const std::string& workdir) {
  const std::string& file =
      stage.prepare.partitioned ? PartsPattern(stage.prepare) : stage.prepare.output;
  return (fs::path(TaskFolder(workdir, stage.name)) / file).string();
}

std::string PredictionsPath(const Stage& stage, const std::string& workdir,
                            const std::string& task_uid) {
  const char* file = stage.kind == StageKind::kHydro ? "hydro.csv" : "forecast.csv";
  return (fs::path(TaskFolder(workdir, task_uid)) / file).string();
}

}  // namespace drc::pipeline
