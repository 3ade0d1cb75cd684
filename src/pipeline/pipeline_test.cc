#include "drc/pipeline/pipeline.h"

#include <arrow/scalar.h>
#include <arrow/table.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "../runtime/test_support.h"
#include "drc/data/io.h"
#include "drc/runtime/task_manager.h"
#include "src/data/testing/random_table.h"

namespace drc::pipeline {
namespace {

using data::testing::ColumnTexts;
using runtime::test_support::Slurp;

class PipelineTest : public runtime::test_support::TempDirTest {
 protected:
  PipelineTest() : TempDirTest("pipeline") {}

  void SetUp() override {
    TempDirTest::SetUp();
    ::setenv("DRC_DATA_DIR", "/data", 1);
  }

  std::string WriteText(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static std::string ErrorOf(const std::string& yaml) {
    auto p = ParsePipeline(yaml, "p.yaml");
    return p.ok() ? "(parsed)" : p.status().message();
  }
};

const runtime::TaskDescription* Find(const Pipeline& p, const std::string& uid) {
  for (const auto& t : p.run.tasks) {
    if (t.uid == uid) return &t;
  }
  return nullptr;
}

TEST_F(PipelineTest, APrepareStageRunsOnItsRanksAndDropsShortSeries) {
  auto p = ParsePipeline(
      "stages:\n  - {name: p, kind: prepare, input: x.csv, ranks: 2, min_length: 48}\n", "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->run.tasks.size(), 1u);
  EXPECT_EQ(p->run.tasks[0].function, "pipeline.prepare");
  EXPECT_EQ(p->run.tasks[0].ranks, 2);
  EXPECT_EQ(p->run.tasks[0].function_args.at("min_length"), "48");
  auto spec = PrepareFromArgs(p->run.tasks[0].function_args);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->min_length, 48);
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: x.csv, min_length: 0}\n"),
            "p.yaml:2:56: field 'min_length' must be >= 1");
  auto bad = PrepareFromArgs({{"input", "x.csv"}, {"output", "y.csv"}, {"min_length", "4x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "pipeline.prepare: min_length expects an integer >= 1, got '4x'");
}

// A partitioned prepare stage writes a part per rank; a forecast stage from it reads the parts
// on as many ranks.
TEST_F(PipelineTest, AForecastFromAPartitionedPrepareRunsOnItsRanks) {
  const std::string text =
      "stages:\n"
      "  - {name: p, kind: prepare, input: x.csv, output: s.csv, ranks: 3, partitioned: true}\n"
      "  - {name: f, kind: forecast, from: p, models: [MLP]}\n";
  auto p = ParsePipeline(text, "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->run.tasks.size(), 2u);
  const auto& prepare = p->run.tasks[0];
  EXPECT_EQ(prepare.function_args.at("partitioned"), "true");
  auto spec = PrepareFromArgs(prepare.function_args);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->partitioned);
  EXPECT_EQ(PartsPattern(*spec), "s/part-{rank}.csv");
  const auto& forecast = p->run.tasks[1];
  EXPECT_EQ(forecast.function_args.at("data"), "../p/s/part-{rank}.csv");
  EXPECT_EQ(forecast.ranks, 3);
  EXPECT_EQ(PreparedTablePath(p->stages[0], "/w"), "/w/p/s/part-{rank}.csv");
  // The same ranks given is fine; others are an error that says how many parts there are.
  std::string same = text;
  same.replace(same.find("models: [MLP]"), 13, "models: [MLP], ranks: 3");
  EXPECT_TRUE(ParsePipeline(same, "p.yaml").ok());
  std::string other = text;
  other.replace(other.find("models: [MLP]"), 13, "models: [MLP], ranks: 2");
  EXPECT_EQ(ErrorOf(other),
            "p.yaml:3:62: field 'ranks' is 2, but 'p' writes 3 parts (partitioned), one per rank: "
            "give it ranks: 3 or leave ranks out");
  // A forecast stage's own parts: the inputs --check looks for are those of its ranks.
  auto own = ParsePipeline(
      "stages:\n  - {name: f, kind: forecast, data: 'd/part-{rank}.csv', models: [MLP], "
      "ranks: 2}\n",
      "p.yaml");
  ASSERT_TRUE(own.ok()) << own.status();
  const auto inputs = own->stages[0].Inputs();  // resolved against the file's folder
  ASSERT_EQ(inputs.size(), 2u);
  for (int r = 0; r < 2; ++r) {
    const std::string want = "/d/part-" + std::to_string(r) + ".csv";
    ASSERT_GE(inputs[r].size(), want.size());
    EXPECT_EQ(inputs[r].substr(inputs[r].size() - want.size()), want);
  }
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: x.csv, partitioned: 2}\n"),
            "p.yaml:2:57: field 'partitioned' expects true or false, got '2'");
  // partition: the ranks split one table; parts are split already.
  auto split = ParsePipeline(
      "stages:\n  - {name: f, kind: forecast, data: d.csv, partition: true, models: [MLP], "
      "ranks: 2}\n",
      "p.yaml");
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->run.tasks[0].function_args.at("partition"), "true");
  std::string twice = text;
  twice.replace(twice.find("models: [MLP]"), 13, "models: [MLP], partition: true");
  EXPECT_EQ(ErrorOf(twice),
            "p.yaml:3:66: field 'partition' splits one table over the ranks; 'p' writes parts "
            "(partitioned) already");
}

TEST_F(PipelineTest, PlansEveryStageAsTasksWithTheirDependencies) {
  auto p = ParsePipeline(R"(
name: carriers
pilot: {cores: 4}
stages:
  - name: prepare
    kind: prepare
    input: $DRC_DATA_DIR/us_carrier/us_carrier_passenger.csv
    rename: {Y: y}
    start: 2001-01-31
    drop_nulls: true
  - name: forecast
    kind: forecast
    from: prepare
    models: [MLP, NHITS]
    h: 12
    steps: 5
    freq: ME
    cores: 2
    priority: 3
    loss: HuberLoss(0.5)
    params: {NHITS: {mlp_units: 128, learning_rate: 0.01}, MLP: {stack_types: [trend, exogenous]}}
  - name: summary
    after: [forecast]
    tasks:
      - uid: gather
        executable: /bin/true
      - uid: check
        executable: /bin/true
        depends_on: [gather]
)",
                         (dir_ / "p.yaml").string());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "carriers");
  ASSERT_TRUE(p->run.resources.has_value());
  EXPECT_EQ(p->run.resources->total_cores(), 4);
  ASSERT_EQ(p->stages.size(), 3u);
  ASSERT_EQ(p->run.tasks.size(), 5u);

  const auto* prepare = Find(*p, "prepare");
  ASSERT_NE(prepare, nullptr);
  EXPECT_EQ(prepare->function, "pipeline.prepare");
  EXPECT_EQ(prepare->function_args.at("input"), "/data/us_carrier/us_carrier_passenger.csv");
  EXPECT_EQ(prepare->function_args.at("output"), "series.parquet");
  EXPECT_EQ(prepare->function_args.at("rename"), "Y=y");
  EXPECT_EQ(prepare->function_args.at("start"), "2001-01-31");
  EXPECT_EQ(prepare->function_args.at("drop_nulls"), "*");
  EXPECT_TRUE(prepare->depends_on.empty());

  const auto* nhits = Find(*p, "forecast.NHITS");
  ASSERT_NE(nhits, nullptr);
  EXPECT_EQ(nhits->function, "dl.forecast");
  EXPECT_EQ(nhits->function_args.at("data"), "../prepare/series.parquet");
  EXPECT_EQ(nhits->function_args.at("models"), "NHITS");
  EXPECT_EQ(nhits->function_args.at("h"), "12");
  EXPECT_EQ(nhits->function_args.at("input_size"), "24");
  EXPECT_EQ(nhits->function_args.at("steps"), "5");
  EXPECT_EQ(nhits->function_args.at("freq"), "ME");
  EXPECT_EQ(nhits->function_args.at("out"), "forecast.csv");
  EXPECT_EQ(nhits->function_args.at("loss"), "HuberLoss(0.5)");
  EXPECT_EQ(nhits->function_args.at("params"), "NHITS.learning_rate=0.01;NHITS.mlp_units=128");
  // A list of words travels comma-separated (the forecast checks the key: MLP takes no
  // stack_types, NBEATSx does).
  EXPECT_EQ(Find(*p, "forecast.MLP")->function_args.at("params"),
            "MLP.stack_types=trend,exogenous");
  EXPECT_EQ(nhits->cores_per_rank, 2);
  EXPECT_EQ(nhits->priority, 3);
  EXPECT_EQ(nhits->depends_on, std::vector<std::string>{"prepare"});
  // `from` implies `after`.
  EXPECT_EQ(p->stages[1].after, std::vector<std::string>{"prepare"});

  const auto* check = Find(*p, "summary.check");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->depends_on,
            (std::vector<std::string>{"summary.gather", "forecast.MLP", "forecast.NHITS"}));
  EXPECT_EQ(Find(*p, "summary.gather")->depends_on,
            (std::vector<std::string>{"forecast.MLP", "forecast.NHITS"}));
  for (const auto& t : p->run.tasks) EXPECT_TRUE(runtime::Validate(t).ok()) << t.uid;
}

TEST_F(PipelineTest, AStageOfOneTaskWithoutAUidIsTheStage) {
  auto p = ParsePipeline(R"(
stages:
  - name: hello
    tasks: [{executable: /bin/echo, arguments: [hi]}]
)",
                         "dir/hello.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "hello");  // the file's stem
  ASSERT_EQ(p->run.tasks.size(), 1u);
  EXPECT_EQ(p->run.tasks[0].uid, "hello");
  EXPECT_EQ(p->stages[0].kind, StageKind::kTasks);
}

TEST_F(PipelineTest, SeedsGiveATaskPerModelAndSeed) {
  auto p = ParsePipeline(R"(
stages:
  - {name: f, kind: forecast, data: /d.csv, models: [MLP, NHITS], seeds: [3, 1]}
)",
                         "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Stage& f = p->stages[0];
  EXPECT_EQ(f.task_uids, (std::vector<std::string>{"f.MLP.seed3", "f.MLP.seed1", "f.NHITS.seed3",
                                                   "f.NHITS.seed1"}));
  ASSERT_EQ(f.runs.size(), 4u);
  EXPECT_EQ(f.runs[3].model, "NHITS");
  EXPECT_EQ(f.runs[3].seed, 1);
  EXPECT_EQ(Find(*p, "f.NHITS.seed1")->function_args.at("seed"), "1");
  EXPECT_EQ(Find(*p, "f.MLP.seed3")->function_args.at("seed"), "3");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x, models: MLP, seed: 1, "
                    "seeds: [2]}\n"),
            "p.yaml:2:69: give 'seed' or 'seeds', not both");
  EXPECT_EQ(
      ErrorOf("stages:\n  - {name: f, kind: forecast, data: x, models: MLP, seeds: [1, 1]}\n"),
      "p.yaml:2:60: seed 1 is listed twice");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x, models: MLP, seeds: [one]}\n"),
            "p.yaml:2:60: field 'seeds' expects a list of integers, got 'one'");
}

TEST_F(PipelineTest, StageForecastsGetAColumnPerModelAndSeed) {
  auto p = ParsePipeline(R"(
stages:
  - {name: f, kind: forecast, data: /d.csv, models: [MLP, NHITS], seeds: [1, 2]}
)",
                         "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string workdir = dir_.string();
  // What each dl.forecast task writes: the held-out rows and its model's column.
  double value = 1;
  for (const auto& run : p->stages[0].runs) {
    std::filesystem::create_directories(dir_ / run.uid);
    std::ofstream(PredictionsPath(p->stages[0], workdir, run.uid))
        << "unique_id,ds,y," << run.model << "\nA,2001-01-31,10," << value++ << "\n";
  }
  const std::string out = (dir_ / "all.csv").string();
  auto rows = WriteStagePredictions(p->stages[0], workdir, out);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 1);
  const std::string text = Slurp(out);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "\"unique_id\",\"ds\",\"y\",\"MLP-seed1\",\"MLP-seed2\",\"NHITS-seed1\","
            "\"NHITS-seed2\"");
  EXPECT_NE(text.find(",1,2,3,4"), std::string::npos) << text;
}

// importances: true has each model's task write TFT's variable importances (drc forecast
// --importances) into its folder.
TEST_F(PipelineTest, ForecastStageAsksForImportances) {
  auto p = ParsePipeline(
      "stages:\n  - {name: g, kind: forecast, data: /d.csv, models: [TFT], importances: true}\n",
      "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->run.tasks[0].function_args.at("importances"), "importances.csv");
  auto bad = ParsePipeline(
      "stages:\n  - {name: g, kind: forecast, data: /d.csv, models: [TFT], importances: maybe}\n",
      "p.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("true or false"), std::string::npos) << bad.status();
}

// hierarchy and reconciliation (NF's HINT) go to each model's task together, the matrix's path
// as the stage's other input paths.
TEST_F(PipelineTest, ForecastStageReconcilesAHierarchy) {
  auto p = ParsePipeline(
      "stages:\n  - {name: g, kind: forecast, data: /d.csv, models: [DeepAR], hierarchy: /S.csv, "
      "reconciliation: MinTraceOLS}\n",
      "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->run.tasks[0].function_args.at("hierarchy"), "/S.csv");
  EXPECT_EQ(p->run.tasks[0].function_args.at("reconciliation"), "MinTraceOLS");
  EXPECT_NE(ErrorOf("stages:\n  - {name: g, kind: forecast, data: /d.csv, models: [DeepAR], "
                    "hierarchy: /S.csv}\n")
                .find("fields 'hierarchy' (a summing matrix CSV) and 'reconciliation'"),
            std::string::npos);
}

TEST_F(PipelineTest, StageForecastsKeepTheQuantilesAndCanHaveNoActualValues) {
  auto p = ParsePipeline(R"(
stages:
  - {name: f, kind: forecast, data: /d.csv, models: [MLP, DeepAR], future: true, level: [80],
     conformal_windows: 2, warm_start: true, init_from: saved}
)",
                         "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const auto& args = p->run.tasks[0].function_args;
  EXPECT_EQ(args.count("importances"), 0u);
  EXPECT_EQ(args.at("future"), "true");
  EXPECT_EQ(args.at("level"), "80");
  EXPECT_EQ(args.at("conformal_windows"), "2");
  EXPECT_EQ(args.at("warm_start"), "true");
  // Relative to the pipeline file's folder, as the stage's other input paths.
  const std::string saved = (std::filesystem::current_path() / "saved").lexically_normal().string();
  EXPECT_EQ(args.at("init_from"), saved);
  EXPECT_EQ(args.count("cv_windows"), 0u);
  const std::string workdir = dir_.string();
  // The report says where the models started and how their intervals were calibrated.
  auto report = WriteReport(*p, workdir);
  ASSERT_TRUE(report.ok()) << report.status();
  const std::string html = Slurp(*report);
  EXPECT_NE(html.find("; each model started from its checkpoint in " + saved +
                      " instead of its initial weights; a point model's intervals are conformal"),
            std::string::npos)
      << html;
  for (const auto& run : p->stages[0].runs) {
    std::filesystem::create_directories(dir_ / run.uid);
    std::ofstream(PredictionsPath(p->stages[0], workdir, run.uid))
        << "unique_id,ds," << run.model << "," << run.model << "-lo-80," << run.model
        << "-hi-80\nA,2001-01-31,10,9,11\n";
  }
  const std::string out = (dir_ / "all.csv").string();
  auto rows = WriteStagePredictions(p->stages[0], workdir, out);
  ASSERT_TRUE(rows.ok()) << rows.status();
  const std::string text = Slurp(out);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "\"unique_id\",\"ds\",\"MLP\",\"MLP-lo-80\",\"MLP-hi-80\",\"DeepAR\","
            "\"DeepAR-lo-80\",\"DeepAR-hi-80\"");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x, models: MLP, future: true, "
                    "cv_windows: 2}\n"),
            "p.yaml:2:79: give 'future' or 'cv_windows', not both");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x, models: MLP, level: [100]}\n"),
            "p.yaml:2:60: field 'level' expects levels in (0, 100), got '100'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x, models: MLP, "
                    "warm_start: true}\n"),
            "p.yaml:2:65: field 'warm_start' chains a model's fits: it needs 'cv_refit' >= 1 or "
            "'conformal_windows'");
}

TEST_F(PipelineTest, ARelativeDataPathIsTheFilesFolders) {
  auto p = ParsePipeline(R"(
stages:
  - {name: f, kind: forecast, data: series.csv, models: MLP}
)",
                         "/srv/pipelines/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->run.tasks[0].function_args.at("data"), "/srv/pipelines/series.csv");
}

TEST_F(PipelineTest, ErrorsNameTheLineAndTheField) {
  EXPECT_EQ(
      ErrorOf("stages:\n  - name: f\n    kind: forecast\n    data: x.csv\n    modles: [MLP]\n"),
      "p.yaml:5:5: unknown field 'modles' in forecast stage 'f' (did you mean 'models'?)");
  EXPECT_EQ(ErrorOf("stages:\n  - name: a\n    kind: train\n"),
            "p.yaml:3:11: stage 'a' has kind 'train'; expected prepare, forecast, hydro or tasks "
            "(a 'tasks' list)");
  EXPECT_EQ(ErrorOf("stages:\n  - name: a\n    after: [b]\n    tasks: [{executable: x}]\n"),
            "p.yaml:3:12: stage 'a' comes after 'b', which is not a stage defined above it");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: a, tasks: [{executable: x}]}\n"
                    "  - {name: f, kind: forecast, from: a, models: MLP}\n"),
            "p.yaml:3:5: from: task 'a' needs 'data: FILE', a file that it writes in its folder");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: a, kind: prepare, input: x.csv}\n"
                    "  - {name: f, kind: forecast, from: a, data: y.csv, models: MLP}\n"),
            "p.yaml:3:46: give 'data' or 'from' a prepare stage, not both");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x.csv, models: [MLP, MLP]}\n"),
            "p.yaml:2:52: model 'MLP' is listed twice");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x.csv, models: [MLP, LSMT]}\n"),
            "p.yaml:2:52: unknown forecast model 'LSMT'; the models: Autoformer, BiTCN, "
            "DLinear, DeepAR, DeepNPTS, DilatedRNN, FEDformer, GRU, Informer, KAN, LSTM, MLP, "
            "MLPMultivariate, NBEATS, "
            "NBEATSx, NHITS, "
            "NLinear, PatchTST, "
            "RMoK, RNN, SOFTS, SOFTSSharp, StemGNN, TCN, TFT, TSMixer, TSMixerx, TiDE, TimeMixer, "
            "TimeXer, "
            "TimesNet, "
            "VanillaTransformer, "
            "XLinear, iTransformer, xLSTM");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: [TCN]}\n"),
            "p.yaml:2:36: unknown hydro model 'TCN'; the models: EA-LSTM, LSTM");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, models: MLP}\n"),
            "p.yaml:2:5: a forecast stage reads either 'data: PATH' or 'from: STAGE' (one of "
            "them)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x.csv, models: MLP, h: 0}\n"),
            "p.yaml:2:60: field 'h' must be >= 1");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x.csv, models: MLP, params: "
                    "{LSTM: {h: 1}}}\n"),
            "p.yaml:2:66: params for 'LSTM', which the stage does not forecast (MLP)");
  EXPECT_EQ(
      ErrorOf("stages:\n  - {name: f, kind: forecast, data: x.csv, models: MLP, params: "
              "{MLP: {stack_types: [trend, [a]]}}}\n"),
      "p.yaml:2:93: params value MLP.stack_types: a list holds words (lists of lists and other "
      "values go in a config file)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: f, kind: forecast, data: x.csv, models: MLP, params: "
                    "{MLP: {hidden_size: {a: 1}}}}\n"),
            "p.yaml:2:85: params value MLP.hidden_size must be one number or word, or a list of "
            "words (other values go in a config file)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: a, tasks: [{executable: x}]}\n"
                    "  - {name: a, tasks: [{executable: y}]}\n"),
            "p.yaml:3:12: stage 'a' is defined twice");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: 'a/b', tasks: [{executable: x}]}\n"),
            "p.yaml:2:12: stage name 'a/b' must be letters, digits, '_', '-' or '.' (it names "
            "folders)");
  EXPECT_EQ(ErrorOf("stages:\n  - name: s\n    tasks:\n      - {uid: a, executable: x, "
                    "depends_on: [z]}\n"),
            "p.yaml:4:7: task 's.a' depends on 'z', which is not a task of stage 's' (use the "
            "stage's 'after' for other stages)");
  // A task-file error inside a tasks stage keeps its position.
  EXPECT_EQ(ErrorOf("stages:\n  - name: s\n    tasks:\n      - {executable: x, ranks: two}\n"),
            "p.yaml:4:32: field 'ranks' expects an integer, got 'two'");
  EXPECT_EQ(ErrorOf("tasks: []\n"), "p.yaml:1:1: unknown field 'tasks' in the pipeline file");
  EXPECT_EQ(ErrorOf("name: x\n"), "p.yaml:1:1: the pipeline file has no 'stages' list");
  EXPECT_EQ(ErrorOf("stages: [\n"), "p.yaml:2:1: malformed YAML: end of sequence flow not found");
  ::unsetenv("DRC_DATA_DIR");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: $DRC_DATA_DIR/x.csv}\n"),
            "p.yaml:2:37: field 'input' ($DRC_DATA_DIR/x.csv) names $DRC_DATA_DIR, which is not "
            "set (drc run sets it to the bundled data folder)");
  // A hydro stage's default data is the bundled sample.
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM}\n"),
            "p.yaml:2:5: field 'data' ($DRC_DATA_DIR/camels_us_sample) names $DRC_DATA_DIR, which "
            "is not set (drc run sets it to the bundled data folder)");
}

TEST_F(PipelineTest, HydroStagesPlanATaskPerModelAndSeed) {
  auto p = ParsePipeline(R"(
stages:
  - name: hydro
    kind: hydro
    models: [LSTM, EA-LSTM]
    basins: ["01022500", "01547700"]
    train: 2000-01-01:2000-12-31
    epochs: 3
    learning_rate: 0.001
    dropout: 0.25
    seeds: [1, 2]
    cores: 2
)",
                         "p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Stage& h = p->stages[0];
  EXPECT_EQ(h.kind, StageKind::kHydro);
  EXPECT_EQ(h.Models(), (std::vector<std::string>{"LSTM", "EA-LSTM"}));
  EXPECT_EQ(h.task_uids, (std::vector<std::string>{"hydro.LSTM.seed1", "hydro.LSTM.seed2",
                                                   "hydro.EA-LSTM.seed1", "hydro.EA-LSTM.seed2"}));
  const runtime::TaskDescription* t = Find(*p, "hydro.EA-LSTM.seed2");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->function, "dl.hydro");
  EXPECT_EQ(t->cores_per_rank, 2);
  const std::map<std::string, std::string> args = {{"data", "/data/camels_us_sample"},
                                                   {"model", "EA-LSTM"},
                                                   {"basins", "01022500,01547700"},
                                                   {"train", "2000-01-01:2000-12-31"},
                                                   {"test", "2002-01-01:2002-12-31"},
                                                   {"epochs", "3"},
                                                   {"seq_length", "365"},
                                                   {"hidden_size", "128"},
                                                   {"learning_rate", "0.001"},
                                                   {"dropout", "0.25"},
                                                   {"batch_size", "256"},
                                                   {"loss", "NSE"},
                                                   {"seed", "2"},
                                                   {"out", "hydro.csv"}};
  EXPECT_EQ(t->function_args, args);
  EXPECT_EQ(PredictionsPath(h, "/w", t->uid), "/w/hydro.EA-LSTM.seed2/hydro.csv");

  auto one = ParsePipeline("stages:\n  - {name: h, kind: hydro, data: camels, models: LSTM}\n",
                           "/srv/p.yaml");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->stages[0].task_uids, std::vector<std::string>{"h.LSTM"});
  EXPECT_EQ(one->run.tasks[0].function_args.at("data"), "/srv/camels");
  EXPECT_EQ(one->run.tasks[0].function_args.count("basins"), 0u);

  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, ranks: 0}\n"),
            "p.yaml:2:49: field 'ranks' must be >= 1");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, test: 2002-01-01}\n"),
            "p.yaml:2:48: field 'test' expects START:END, e.g. 2000-01-01:2001-12-31; got "
            "'2002-01-01'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, loss: MAE}\n"),
            "p.yaml:2:48: field 'loss' expects NSE or MSE, got 'MAE'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, dropout: 1}\n"),
            "p.yaml:2:51: field 'dropout' must be in [0, 1)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, h: 24}\n"),
            "p.yaml:2:42: unknown field 'h' in hydro stage 'h'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro}\n"),
            "p.yaml:2:5: a hydro stage needs 'models: [NAME, ...]'");
}

TEST_F(PipelineTest, HydroStagesReadATableOrAPrepareStagesParts) {
  auto p = ParsePipeline(R"(
stages:
  - name: prepare
    kind: prepare
    input: basins.csv
    rename: {gauge: unique_id}
    ranks: 2
    partitioned: true
  - name: parts
    kind: hydro
    from: prepare
    attributes: attributes.parquet
    inputs: [prcp, tmax]
    static: [area, slope]
    models: [EA-LSTM]
  - name: table
    kind: hydro
    table: $DRC_DATA_DIR/basins.parquet
    static: [none]
    models: [LSTM]
)",
                         "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Stage& parts = p->stages[1];
  EXPECT_EQ(parts.after, std::vector<std::string>{"prepare"});
  const auto& a = Find(*p, "parts.EA-LSTM")->function_args;
  EXPECT_EQ(a.at("table"), "../prepare/series/part-{rank}.parquet");
  EXPECT_EQ(a.count("data"), 0u);
  EXPECT_EQ(a.at("attributes"), "/srv/attributes.parquet");
  EXPECT_EQ(a.at("inputs"), "prcp,tmax");
  EXPECT_EQ(a.at("static"), "area,slope");
  EXPECT_EQ(Find(*p, "parts.EA-LSTM")->ranks, 2);  // the prepare stage's: a rank per part
  EXPECT_TRUE(parts.Inputs() == std::vector<std::string>{"/srv/attributes.parquet"});
  const auto& t = Find(*p, "table.LSTM")->function_args;
  EXPECT_EQ(t.at("table"), "/data/basins.parquet");
  EXPECT_EQ(t.at("static"), "none");
  EXPECT_EQ(t.count("attributes"), 0u);
  EXPECT_TRUE(p->stages[2].Inputs() == std::vector<std::string>{"/data/basins.parquet"});

  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, data: d, table: t.csv}\n"),
            "p.yaml:2:5: a hydro stage reads one of 'data: CAMELS_FOLDER', 'table: PATH' or "
            "'from: STAGE'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, attributes: a.csv}\n"),
            "p.yaml:2:54: field 'attributes' goes with 'table' or 'from' (CAMELS-US attributes "
            "are read from the data folder)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, table: t.csv, static: "
                    "[area]}\n"),
            "p.yaml:2:64: field 'static' names attributes of a table, but the stage has no "
            "'attributes' table");
  EXPECT_EQ(
      ErrorOf("stages:\n  - {name: h, kind: hydro, models: LSTM, from: nowhere}\n"),
      "p.yaml:2:48: field 'from' names 'nowhere', which is not a prepare stage, a tasks stage "
      "or a task defined above");
  // From a task's file: its folder's table, after its stage.
  p = ParsePipeline(R"(
stages:
  - {name: convert, tasks: [{uid: csv, executable: /bin/sh, arguments: [-c, "echo > b.csv"]}]}
  - {name: h, kind: hydro, from: convert.csv, table: b.csv, attributes: a.csv, models: LSTM}
  - {name: f, kind: forecast, from: convert, data: b.csv, models: MLP}
)",
                    "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Find(*p, "h.LSTM")->function_args.at("table"), "../convert.csv/b.csv");
  EXPECT_EQ(p->FindStage("h")->hydro.from_task_file, "convert.csv/b.csv");
  EXPECT_EQ(p->FindStage("h")->after, std::vector<std::string>{"convert"});
  EXPECT_EQ(p->FindStage("h")->Inputs(), std::vector<std::string>{"/srv/a.csv"});
  EXPECT_EQ(Find(*p, "f.MLP")->function_args.at("data"), "../convert.csv/b.csv");
  EXPECT_EQ(p->FindStage("f")->forecast.from_task_file, "convert.csv/b.csv");
  EXPECT_EQ(p->FindStage("f")->after, std::vector<std::string>{"convert"});
  EXPECT_TRUE(p->FindStage("f")->Inputs().empty());
  EXPECT_EQ(ErrorOf("stages:\n  - {name: t, tasks: [{executable: x}]}\n"
                    "  - {name: h, kind: hydro, from: t, models: LSTM}\n"),
            "p.yaml:3:5: from: task 't' needs 'table: FILE', a file that it writes in its folder");
}

TEST_F(PipelineTest, IsPipelineFileLooksForStages) {
  EXPECT_TRUE(IsPipelineFile(WriteText("p.yaml", "stages: []\n")));
  EXPECT_FALSE(IsPipelineFile(WriteText("t.yaml", "tasks: []\n")));
  EXPECT_FALSE(IsPipelineFile(WriteText("bad.yaml", "stages: [\n")));
  EXPECT_FALSE(IsPipelineFile((dir_ / "missing.yaml").string()));
}

TEST_F(PipelineTest, PrepareArgumentsRoundTrip) {
  PrepareSpec spec;
  spec.input = "/in.csv";
  spec.output = "out.parquet";
  spec.rename = {{"Y", "y"}, {"id", "unique_id"}};
  spec.select = {"unique_id", "ds", "y"};
  spec.start = "2001-01-01";
  spec.end = "2002-12-31";
  spec.drop_nulls = {"y"};
  spec.resample = "ME";
  spec.lags = {{"y", {1, 12}}, {"x", {2}}};
  spec.rolling = {{"y", 3, {"mean", "std"}, 1}, {"y_lag1", 12, {"sum"}, 0}};
  auto back = PrepareFromArgs(PrepareArgs(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->input, spec.input);
  EXPECT_EQ(back->output, spec.output);
  EXPECT_EQ(back->rename, spec.rename);
  EXPECT_EQ(back->select, spec.select);
  EXPECT_EQ(back->start, spec.start);
  EXPECT_EQ(back->end, spec.end);
  EXPECT_EQ(back->drop_nulls, spec.drop_nulls);
  EXPECT_EQ(back->resample, spec.resample);
  EXPECT_EQ(back->lags, spec.lags);
  EXPECT_EQ(back->rolling, spec.rolling);
  auto bad = PrepareFromArgs({{"input", "a"}, {"output", "b"}, {"colums", "x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown argument 'colums'"), std::string::npos);
}

TEST_F(PipelineTest, PrepareRenamesFiltersDropsResamplesAndSorts) {
  // Two series out of order, one missing month in A and a null value in B.
  const std::string in = WriteText("in.csv",
                                   "Y,ds,id,extra\n"
                                   "3,2001-03-31,A,x\n"
                                   "1,2001-01-31,A,x\n"
                                   "10,2000-12-31,B,x\n"
                                   ",2001-01-31,B,x\n"
                                   "12,2001-02-28,B,x\n"
                                   "5,2001-05-31,A,x\n");
  PrepareSpec spec;
  spec.input = in;
  spec.output = (dir_ / "out.parquet").string();
  spec.rename = {{"Y", "y"}, {"id", "unique_id"}};
  spec.select = {"unique_id", "ds", "y"};
  spec.start = "2001-01-01";
  spec.drop_nulls = {"y"};
  spec.resample = "ME";
  auto result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows_in, 6);
  auto out = data::ReadParquet(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& t = **out;
  // A: Jan, Feb (gap), Mar, Apr (gap), May; B: Feb (its Jan was null, its Dec before start).
  EXPECT_EQ(t.num_rows(), 6);
  EXPECT_EQ(result->rows_out, 6);
  EXPECT_EQ(t.schema()->GetFieldByName("ds")->type()->id(), arrow::Type::TIMESTAMP);
  const auto ids = t.GetColumnByName("unique_id")->ToString();
  const auto ys = t.GetColumnByName("y")->ToString();
  EXPECT_NE(ids.find("\"A\",\n    \"A\",\n    \"A\",\n    \"A\",\n    \"A\",\n    \"B\""),
            std::string::npos)
      << ids;
  EXPECT_NE(ys.find("1,\n    null,\n    3,\n    null,\n    5,\n    12"), std::string::npos) << ys;

  // An unknown column is named with the file and the columns there are.
  spec.rename = {{"Z", "y"}};
  auto bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            in + ": rename: no column 'Z' (the table has Y, ds, id, extra)");
  spec.rename = {{"Y", "y"}, {"id", "unique_id"}};
  spec.start = "January";
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'January' is not a value of column 'ds'"),
            std::string::npos)
      << bad.status();
}

TEST_F(PipelineTest, PrepareKeepsUniqueRows) {
  // A's January twice alike, B's January twice with other values, a null id twice.
  PrepareSpec spec;
  spec.input = WriteText("in.csv",
                         "unique_id,ds,y,source\n"
                         "A,2001-01-31,1,x\nB,2001-01-31,7,x\nA,2001-01-31,1,x\n"
                         "B,2001-01-31,8,y\n,2001-01-31,3,x\n,2001-01-31,3,x\nA,2001-02-28,2,x\n");
  spec.output = (dir_ / "out.csv").string();
  spec.unique = {"*"};  // whole rows
  auto result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  auto out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  using Texts = std::vector<std::string>;
  EXPECT_EQ(ColumnTexts(**out, "unique_id"), (Texts{"A", "A", "B", "B", "null"}));
  EXPECT_EQ(ColumnTexts(**out, "y"), (Texts{"1", "2", "7", "8", "3"}));
  spec.unique = {"unique_id", "ds"};  // the first row of each series and month
  ASSERT_TRUE(PrepareTable(spec).ok());
  out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ColumnTexts(**out, "y"), (Texts{"1", "2", "7", "3"}));
  EXPECT_EQ(ColumnTexts(**out, "source"), (Texts{"x", "x", "x", "x"}));
  spec.unique = {"id"};
  auto bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input + ": unique: no column 'id' (the table has unique_id, ds, y, source)");

  auto p = ParsePipeline(R"(
stages:
  - {name: a, kind: prepare, input: a.csv, unique: true, drop_nulls: [y]}
  - {name: b, kind: prepare, input: a.csv, unique: [unique_id, ds], drop_nulls: true}
  - {name: c, kind: prepare, input: a.csv, unique: false}
)",
                         "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->FindStage("a")->prepare.unique, Texts{"*"});
  EXPECT_EQ(p->FindStage("a")->prepare.drop_nulls, Texts{"y"});
  EXPECT_EQ(p->FindStage("b")->prepare.unique, (Texts{"unique_id", "ds"}));
  EXPECT_EQ(p->FindStage("b")->prepare.drop_nulls, Texts{"*"});
  EXPECT_TRUE(p->FindStage("c")->prepare.unique.empty());
  auto back = PrepareFromArgs(Find(*p, "b")->function_args);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->unique, p->FindStage("b")->prepare.unique);
}

TEST_F(PipelineTest, PrepareAddsLagsAndRollingStatisticsPerSeries) {
  // A's March is missing (resampled: a gap, y null); B has three months. Out of order.
  PrepareSpec spec;
  spec.input = WriteText("in.csv",
                         "unique_id,ds,y\n"
                         "B,2001-02-28,20\nA,2001-01-31,1\nA,2001-02-28,2\nB,2001-01-31,10\n"
                         "A,2001-04-30,4\nA,2001-05-31,5\nB,2001-03-31,30\n");
  spec.output = (dir_ / "out.csv").string();
  spec.resample = "ME";
  spec.lags = {{"y", {1, 2}}};
  spec.rolling = {{"y", 2, {"mean", "std"}, 0}, {"y_lag1", 3, {"sum", "min", "max"}, 1}};
  auto result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->columns,
            (std::vector<std::string>{"unique_id", "ds", "y", "is_gap", "y_lag1", "y_lag2",
                                      "y_rollmean2", "y_rollstd2", "y_lag1_rollsum3",
                                      "y_lag1_rollmin3", "y_lag1_rollmax3"}));
  auto out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  using Texts = std::vector<std::string>;
  // Rows: A Jan..May (March a gap), then B Jan..Mar; nothing crosses from A into B.
  EXPECT_EQ(ColumnTexts(**out, "y"), (Texts{"1", "2", "null", "4", "5", "10", "20", "30"}));
  EXPECT_EQ(ColumnTexts(**out, "y_lag1"),
            (Texts{"null", "1", "2", "null", "4", "null", "10", "20"}));
  EXPECT_EQ(ColumnTexts(**out, "y_lag2"),
            (Texts{"null", "null", "1", "2", "null", "null", "null", "10"}));
  // Two values needed (the window, as pandas' default min_periods): the gap breaks the pairs.
  EXPECT_EQ(ColumnTexts(**out, "y_rollmean2"),
            (Texts{"null", "1.5", "null", "null", "4.5", "null", "15", "25"}));
  EXPECT_EQ(ColumnTexts(**out, "y_rollstd2"),
            (Texts{"null", "0.7071067811865476", "null", "null", "0.7071067811865476", "null",
                   "7.0710678118654755", "7.0710678118654755"}));
  // One value is enough (min_periods 1); nulls are skipped.
  EXPECT_EQ(ColumnTexts(**out, "y_lag1_rollsum3"),
            (Texts{"null", "1", "3", "3", "6", "null", "10", "30"}));
  EXPECT_EQ(ColumnTexts(**out, "y_lag1_rollmin3"),
            (Texts{"null", "1", "1", "1", "2", "null", "10", "10"}));
  EXPECT_EQ(ColumnTexts(**out, "y_lag1_rollmax3"),
            (Texts{"null", "1", "2", "2", "4", "null", "10", "20"}));

  // `sort` orders the output instead of unique_id and ds: the last month first, then by series.
  spec.sort = {"ds desc", "unique_id"};
  result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ColumnTexts(**out, "unique_id"), (Texts{"A", "A", "A", "B", "A", "B", "A", "B"}));
  EXPECT_EQ(ColumnTexts(**out, "y"), (Texts{"5", "4", "null", "30", "2", "20", "1", "10"}));
  spec.sort = {"month desc"};
  auto unsorted = PrepareTable(spec);
  ASSERT_FALSE(unsorted.ok());
  EXPECT_EQ(unsorted.status().message().rfind(spec.input + ": sort: no column 'month' (the table "
                                                           "has unique_id, ds, y, is_gap, y_lag1",
                                              0),
            0u)
      << unsorted.status();
  spec.sort = {};

  // Errors name the file, the step and the columns there are.
  spec.rolling = {{"y_lag3", 2, {"mean"}, 0}};
  auto bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input +
                ": rolling: no column 'y_lag3' (the table has unique_id, ds, y, y_lag1, "
                "y_lag2)");
  // A statistic that a pipeline file could not name (a hand-written task file's) is an error, not
  // a mean.
  spec.rolling = {{"y", 2, {"median"}, 0}};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), spec.input +
                                        ": rolling: unknown statistic 'median' (one of "
                                        "mean, std, min, max, sum)");
  spec.rolling = {{"unique_id", 2, {"mean"}, 0}};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input + ": rolling: column 'unique_id' is string, not numbers");
  spec.rolling = {};
  spec.lags = {{"x", {1}}};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input + ": lags: no column 'x' (the table has unique_id, ds, y)");
  spec.lags = {{"y", {1}}};
  spec.select = {"ds", "y"};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(spec.input + ": resample needs the columns unique_id", 0),
            0u)
      << bad.status();
  spec.resample = "";
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input + ": lags needs the columns unique_id and ds (the table has ds, y)");
}

TEST_F(PipelineTest, PrepareJoinsTablesAndAggregates) {
  // Sales by shop and day, A's first day in two rows; the shops' regions (C has none); each
  // day's temperature under other column names.
  PrepareSpec spec;
  spec.input = WriteText("sales.csv",
                         "shop,ds,sales,note\n"
                         "A,2001-01-02,4,x\nB,2001-01-01,10,x\nA,2001-01-01,1,x\n"
                         "C,2001-01-01,7,x\nA,2001-01-01,2,x\n");
  spec.output = (dir_ / "out.csv").string();
  spec.rename = {{"shop", "unique_id"}};
  spec.select = {"unique_id", "ds", "sales"};
  JoinSpec regions;
  regions.table = WriteText("shops.csv", "unique_id,region,opened\nA,north,1990\nB,south,1995\n");
  regions.on = {"unique_id"};
  regions.select = {"region"};  // the key comes too
  JoinSpec weather;
  weather.table = WriteText("weather.csv", "date,temp\n2001-01-01,5.5\n2001-01-02,6.5\n");
  weather.on = {"ds"};
  weather.how = "left";
  weather.rename = {{"date", "ds"}};
  spec.join = {regions, weather};
  spec.aggregate.by = {"unique_id", "ds"};
  spec.aggregate.columns = {{"sales", "sum"}, {"temp", "mean"}, {"region", "first"}};
  auto result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows_in, 5);
  EXPECT_EQ(result->rows_out, 3);  // A's two days, B's one; C has no region (inner join)
  EXPECT_EQ(result->columns,
            (std::vector<std::string>{"unique_id", "ds", "sales", "temp", "region"}));
  auto out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ColumnTexts(**out, "unique_id"), (std::vector<std::string>{"A", "A", "B"}));
  EXPECT_EQ(ColumnTexts(**out, "sales"), (std::vector<std::string>{"3", "4", "10"}));
  EXPECT_EQ(ColumnTexts(**out, "temp"), (std::vector<std::string>{"5.5", "6.5", "5.5"}));
  EXPECT_EQ(ColumnTexts(**out, "region"), (std::vector<std::string>{"north", "north", "south"}));

  // The other kinds of join, keyed on the shop; the rows sorted by unique_id and ds.
  spec.join = {regions};
  spec.aggregate = {};
  spec.select = {"unique_id", "ds"};
  const std::map<std::string, std::vector<std::string>> expected = {
      {"left", {"A", "A", "A", "B", "C"}},
      {"right", {"A", "A", "A", "B"}},
      {"semi", {"A", "A", "A", "B"}},
      {"anti", {"C"}}};
  for (const auto& [how, ids] : expected) {
    spec.join[0].how = how;
    result = PrepareTable(spec);
    ASSERT_TRUE(result.ok()) << how << ": " << result.status();
    out = data::ReadCsv(spec.output);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(ColumnTexts(**out, "unique_id"), ids) << how;
    EXPECT_EQ((*out)->GetColumnByName("region") != nullptr, how != "semi" && how != "anti") << how;
  }
  // An outer join takes a key from the side that has it: D has a region and no sales.
  spec.join[0].table = WriteText("shops2.csv", "unique_id,region\nA,north\nD,west\n");
  spec.join[0].how = "outer";
  result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ColumnTexts(**out, "unique_id"),
            (std::vector<std::string>{"A", "A", "A", "B", "C", "D"}));
  EXPECT_EQ(ColumnTexts(**out, "region"),
            (std::vector<std::string>{"north", "north", "north", "null", "null", "west"}));

  // Errors name the table and the column.
  spec.join[0].how = "inner";
  spec.join[0].select = {};
  spec.join[0].table = WriteText("clash.csv", "unique_id,ds\nA,2001-01-01\n");
  auto bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.join[0].table + ": column 'ds' is also in " + spec.input +
                " and is not a join key: rename it, or leave it out with the join's select");
  spec.join[0].table = WriteText("days.csv", "ds,temp\n1,5.5\n");
  spec.join[0].on = {"ds"};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), spec.join[0].table +
                                        ": join on 'ds': it is int64 here and timestamp[s] in " +
                                        spec.input + " (cast one of them first)");
  spec.join[0].on = {"day"};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input +
                ": join on 'day': no such column (the table has unique_id, ds before "
                "the join)");
  spec.join = {};
  spec.aggregate.by = {"unique_id"};
  spec.aggregate.columns = {{"sales", "sum"}};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input + ": aggregate: no column 'sales' (the table has unique_id, ds)");
  // Computed columns, a filter, a dropped column; errors name the step and the expression.
  spec.join = {};
  spec.aggregate = {};
  spec.select = {};
  spec.compute = {{"revenue", "sales * 1.5"}, {"sales", "sales - 1"}};
  spec.filter = "revenue >= 3 and unique_id != 'C'";
  spec.drop = {"note"};
  result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->columns, (std::vector<std::string>{"unique_id", "ds", "sales", "revenue"}));
  out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ColumnTexts(**out, "unique_id"), (std::vector<std::string>{"A", "A", "B"}));
  EXPECT_EQ(ColumnTexts(**out, "sales"), (std::vector<std::string>{"1", "3", "9"}));
  EXPECT_EQ(ColumnTexts(**out, "revenue"), (std::vector<std::string>{"3", "6", "15"}));
  spec.filter = "revenue > limit";
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input +
                ": filter 'revenue > limit' at 11: no column 'limit' (the table has "
                "unique_id, ds, sales, note, revenue)");
  spec.filter = "";
  spec.drop = {"notes"};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input +
                ": drop: no column 'notes' (the table has unique_id, ds, sales, note, "
                "revenue)");
  spec.compute = {{"revenue", "unique_id * 2"}};
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(spec.input + ": compute revenue: 'unique_id * 2' at 11: "
                                                      "cannot multiply",
                                         0),
            0u)
      << bad.status();
  spec.compute = {};
  spec.drop = {};
  spec.filter = "sales * 1.5";
  bad = PrepareTable(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            spec.input +
                ": filter 'sales * 1.5' gives double values, not true or false "
                "(compare them: == != < > ...)");
  spec.filter = "";

  // A table of a header alone joins: no row matches (its columns are typed for the join).
  spec.join = {JoinSpec{}};
  spec.join[0].table = WriteText("none.csv", "unique_id,region\n");
  spec.join[0].on = {"unique_id"};
  spec.join[0].how = "left";
  result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows_out, 5);
  out = data::ReadCsv(spec.output);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)->GetColumnByName("region")->null_count(), 5);
  spec.join[0].how = "inner";
  result = PrepareTable(spec);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows_out, 0);
  spec.join = {};

  // Parquet keeps time stamps in milliseconds: whole seconds become seconds, a fraction is an
  // error.
  data::CsvOptions millis;
  millis.column_types["ds"] = "timestamp[ms]";
  for (const std::string stamp : {"2001-01-01T00:00:01", "2001-01-01T00:00:00.500"}) {
    auto table = data::ReadCsv(WriteText("ms.csv", "unique_id,ds\nA," + stamp + "\n"), millis);
    ASSERT_TRUE(table.ok()) << table.status();
    PrepareSpec ms;
    ms.input = (dir_ / "ms.parquet").string();
    ms.output = (dir_ / "ms-out.csv").string();
    ASSERT_TRUE(data::WriteTable(**table, ms.input).ok());
    auto prepared = PrepareTable(ms);
    if (stamp.size() == 19) {
      ASSERT_TRUE(prepared.ok()) << prepared.status();
      auto written = data::ReadTable(ms.output);
      ASSERT_TRUE(written.ok()) << written.status();
      EXPECT_EQ(ColumnTexts(**written, "ds"), std::vector<std::string>{"2001-01-01 00:00:01"});
    } else {
      ASSERT_FALSE(prepared.ok());
      EXPECT_NE(prepared.status().message().find(
                    ms.input + ": column 'ds' has time stamps finer than seconds"),
                std::string::npos)
          << prepared.status();
    }
  }
}

TEST_F(PipelineTest, PrepareStagesJoinTablesAndStages) {
  auto p = ParsePipeline(R"yaml(
stages:
  - name: discharge
    kind: prepare
    input: q.csv
    aggregate: {by: [unique_id, ds], y: mean, flag: first}
  - name: series
    kind: prepare
    input: forcings.csv
    compute: {wet: "prcp > 0", "rain (mm)": prcp}
    filter: ds >= '2001-01-01'
    drop: [prcp]
    join:
      - {from: discharge, on: [unique_id, ds], how: left}
      - {table: /data/areas.parquet, on: unique_id, rename: {gauge: unique_id}, select: [area]}
)yaml",
                         "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Stage* series = p->FindStage("series");
  ASSERT_NE(series, nullptr);
  EXPECT_EQ(series->after, std::vector<std::string>{"discharge"});
  ASSERT_EQ(series->prepare.join.size(), 2u);
  EXPECT_EQ(series->prepare.join[0].table, "../discharge/series.parquet");
  EXPECT_EQ(series->prepare.join[0].how, "left");
  EXPECT_EQ(series->prepare.join[1].table, "/data/areas.parquet");
  EXPECT_EQ(series->prepare.join[1].how, "inner");
  EXPECT_EQ(series->prepare.join[1].on, std::vector<std::string>{"unique_id"});
  EXPECT_EQ(series->Inputs(),
            (std::vector<std::string>{"/srv/forcings.csv", "/data/areas.parquet"}));
  const AggregateSpec& aggregate = p->FindStage("discharge")->prepare.aggregate;
  EXPECT_EQ(aggregate.by, (std::vector<std::string>{"unique_id", "ds"}));
  EXPECT_EQ(aggregate.columns,
            (std::vector<std::pair<std::string, std::string>>{{"y", "mean"}, {"flag", "first"}}));
  // The function task's arguments carry both.
  auto back = PrepareFromArgs(Find(*p, "series")->function_args);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->join, series->prepare.join);
  EXPECT_EQ(back->compute, (std::vector<std::pair<std::string, std::string>>{
                               {"wet", "prcp > 0"}, {"rain (mm)", "prcp"}}));
  EXPECT_EQ(back->compute, series->prepare.compute);
  EXPECT_EQ(back->filter, "ds >= '2001-01-01'");
  EXPECT_EQ(back->drop, std::vector<std::string>{"prcp"});
  back = PrepareFromArgs(Find(*p, "discharge")->function_args);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->aggregate, aggregate);
  // A prepare stage reads another's parts, as its input or as a joined table.
  p = ParsePipeline(R"(
stages:
  - {name: parts, kind: prepare, input: a.csv, ranks: 3, partitioned: true}
  - {name: again, kind: prepare, from: parts, ranks: 2, join: {from: parts, on: unique_id}}
)",
                    "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Stage* again = p->FindStage("again");
  EXPECT_EQ(again->after, std::vector<std::string>{"parts"});
  EXPECT_EQ(again->prepare.input, "../parts/series/part-{rank}.parquet");
  EXPECT_EQ(again->prepare.input_parts, 3);
  EXPECT_EQ(again->prepare.join.at(0).table, "../parts/series/part-{rank}.parquet");
  EXPECT_EQ(again->prepare.join.at(0).parts, 3);
  EXPECT_TRUE(again->Inputs().empty());
  back = PrepareFromArgs(Find(*p, "again")->function_args);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->input_parts, 3);
  EXPECT_EQ(back->join, again->prepare.join);
  auto bad = PrepareFromArgs({{"input", "a"}, {"output", "b"}, {"join", "{\"table\": 1}"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("join expects JSON (a list)"), std::string::npos)
      << bad.status();

  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, join: {table: b.csv}}\n"),
            "p.yaml:2:50: a join needs 'on: [columns]'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, join: {on: x}}\n"),
            "p.yaml:2:50: a join needs 'table: PATH' or 'from: STAGE'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, join: {table: b.csv, "
                    "on: x, how: cross}}\n"),
            "p.yaml:2:77: field 'how' expects one of inner, left, right, outer, semi, anti, got "
            "'cross'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, join: {table: b.csv, "
                    "on: x, rigth: y}}\n"),
            "p.yaml:2:72: unknown field 'rigth' in a join");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, output: x.csv}\n"),
            "p.yaml:2:5: a prepare stage reads 'input: PATH' or 'from: STAGE'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, from: q}\n"),
            "p.yaml:2:36: field 'from' names 'q', which is not a prepare stage, a tasks stage or a "
            "task defined above");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: a, kind: prepare, input: a.csv}\n"
                    "  - {name: p, kind: prepare, from: a, input: b.csv}\n"),
            "p.yaml:3:46: give 'input' or 'from' a prepare stage, not both");
  // From a task of a tasks stage: a file it writes in its folder.
  EXPECT_EQ(ErrorOf("stages:\n  - {name: t, tasks: [{executable: x}]}\n"
                    "  - {name: p, kind: prepare, from: t}\n"),
            "p.yaml:3:5: from: task 't' needs 'input: FILE', a file that it writes in its folder");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: t, tasks: [{uid: a, executable: x}, {uid: b, executable: "
                    "y}]}\n  - {name: p, kind: prepare, from: t, input: x.csv}\n"),
            "p.yaml:3:36: stage 't' has 2 tasks: name one of them, from: STAGE.UID");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: t, tasks: [{executable: x, workdir: /tmp/x}]}\n"
                    "  - {name: p, kind: prepare, from: t, input: x.csv}\n"),
            "p.yaml:3:36: task 't' sets its own workdir; from: reads files in a task's own folder "
            "of the run (give 'input' as a path instead)");
  p = ParsePipeline(R"(
stages:
  - name: convert
    tasks:
      - {uid: flows, executable: /bin/sh, arguments: [-c, "echo > q.csv"]}
      - {uid: areas, executable: /bin/sh, arguments: [-c, "echo > a.csv"]}
  - {name: one, tasks: [{executable: /bin/true}]}
  - name: q
    kind: prepare
    from: convert.flows
    input: q.csv
    join: [{from: convert.areas, table: a.csv, on: unique_id}, {from: one, table: o.csv, on: x}]
)",
                    "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Stage* q = p->FindStage("q");
  EXPECT_EQ(q->prepare.input, "../convert.flows/q.csv");
  EXPECT_EQ(q->prepare.join.at(0).table, "../convert.areas/a.csv");
  EXPECT_EQ(q->prepare.join.at(1).table, "../one/o.csv");
  EXPECT_EQ(q->after, (std::vector<std::string>{"convert", "one"}));
  EXPECT_TRUE(q->Inputs().empty());
  // A hydro stage's attribute table from a prepare stage (one table, not parts).
  p = ParsePipeline(R"(
stages:
  - {name: attrs, kind: prepare, input: a.csv, output: attributes.parquet}
  - {name: basins, kind: prepare, input: b.csv, ranks: 2, partitioned: true}
  - {name: h, kind: hydro, from: basins, attributes: {from: attrs}, models: LSTM}
)",
                    "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Find(*p, "h.LSTM")->function_args.at("attributes"), "../attrs/attributes.parquet");
  EXPECT_EQ(p->FindStage("h")->after, (std::vector<std::string>{"basins", "attrs"}));
  // A hydro stage from parts runs on the prepare stage's ranks unless it gives its own (every
  // rank then reads every part); from one table, on its own ranks (1 by default).
  EXPECT_EQ(Find(*p, "h.LSTM")->ranks, 2);
  p = ParsePipeline(R"(
stages:
  - {name: basins, kind: prepare, input: b.csv, ranks: 2, partitioned: true}
  - {name: h, kind: hydro, from: basins, models: LSTM, ranks: 3}
  - {name: one, kind: prepare, input: b.csv, ranks: 2}
  - {name: g, kind: hydro, from: one, models: LSTM}
)",
                    "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Find(*p, "h.LSTM")->ranks, 3);
  EXPECT_EQ(Find(*p, "g.LSTM")->ranks, 1);  // one table, not parts
  EXPECT_EQ(ErrorOf("stages:\n  - {name: b, kind: prepare, input: b.csv, partitioned: true}\n"
                    "  - {name: h, kind: hydro, from: b, attributes: {from: b}, models: LSTM}\n"),
            "p.yaml:3:56: attributes come from one table, and 'b' writes parts (partitioned)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: h, kind: hydro, table: t.csv, attributes: {form: b}, "
                    "models: LSTM}\n"),
            "p.yaml:2:55: unknown field 'form' in field 'attributes' (did you mean 'from'?)");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, filter: 'y = 1'}\n"),
            "p.yaml:2:52: filter 'y = 1' at 3: use == to compare");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, compute: {z: 'y +'}}\n"),
            "p.yaml:2:57: compute z: 'y +' at 4: expected a value, a column or '('");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, aggregate: {y: sum}}\n"),
            "p.yaml:2:55: field 'aggregate' needs 'by: [columns]'");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, aggregate: {by: ds, "
                    "y: total}}\n"),
            "p.yaml:2:67: aggregate: column 'y' expects a function, one of sum, mean, min, max, "
            "count, first, last, median, std, var, nunique");
  EXPECT_EQ(ErrorOf("stages:\n  - {name: p, kind: prepare, input: a.csv, aggregate: {by: ds, "
                    "ds: max}}\n"),
            "p.yaml:2:64: aggregate: 'ds' is a 'by' column; it cannot also be aggregated");
}

TEST_F(PipelineTest, PrepareStagesTakeLagsAndRollingStatistics) {
  auto p = ParsePipeline(R"yaml(
stages:
  - name: features
    kind: prepare
    input: q.csv
    lags: {y: [1, 7], prcp: 1}
    rolling:
      - {column: prcp, window: 7, stats: [sum, max]}
      - {column: y_lag1, window: 3, min_periods: 1}
)yaml",
                         "/srv/p.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  const PrepareSpec& spec = p->FindStage("features")->prepare;
  EXPECT_EQ(spec.lags,
            (std::vector<std::pair<std::string, std::vector<int>>>{{"y", {1, 7}}, {"prcp", {1}}}));
  ASSERT_EQ(spec.rolling.size(), 2u);
  EXPECT_EQ(spec.rolling[0], (RollingSpec{"prcp", 7, {"sum", "max"}, 0}));
  EXPECT_EQ(spec.rolling[1], (RollingSpec{"y_lag1", 3, {"mean"}, 1}));  // mean by default
  auto back = PrepareFromArgs(Find(*p, "features")->function_args);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->lags, spec.lags);
  EXPECT_EQ(back->rolling, spec.rolling);

  const std::string stage = "stages:\n  - {name: p, kind: prepare, input: a.csv, ";
  EXPECT_EQ(ErrorOf(stage + "lags: {y: [1, 0]}}\n"),
            "p.yaml:2:58: lags: column 'y' expects whole numbers >= 1 (rows back)");
  EXPECT_EQ(ErrorOf(stage + "lags: [1]}\n"),
            "p.yaml:2:50: field 'lags' expects a mapping {column: [1, 12]}");
  EXPECT_EQ(ErrorOf(stage + "rolling: {column: y}}\n"),
            "p.yaml:2:53: rolling needs 'window: ROWS'");
  EXPECT_EQ(ErrorOf(stage + "rolling: {window: 3}}\n"),
            "p.yaml:2:53: rolling needs 'column: NAME'");
  EXPECT_EQ(ErrorOf(stage + "rolling: {column: y, window: 3, stats: [mean, median]}}\n"),
            "p.yaml:2:83: rolling: unknown statistic 'median' (one of mean, std, min, max, sum)");
  EXPECT_EQ(ErrorOf(stage + "rolling: {column: y, window: 3, min_periods: 4}}\n"),
            "p.yaml:2:89: rolling: min_periods is more than the window (3 rows)");
  auto sorted = ParsePipeline(R"(
stages:
  - {name: p, kind: prepare, input: a.csv, sort: [region, "sales  DESC", "month asc", "y desc"]}
)",
                              "/srv/p.yaml");
  ASSERT_TRUE(sorted.ok()) << sorted.status();
  // " asc" dropped, " desc" kept (one space, in lower case).
  EXPECT_EQ(sorted->FindStage("p")->prepare.sort,
            (std::vector<std::string>{"region", "sales desc", "month", "y desc"}));
  back = PrepareFromArgs(Find(*sorted, "p")->function_args);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->sort, sorted->FindStage("p")->prepare.sort);
  EXPECT_EQ(ErrorOf(stage + "sort: [' desc']}\n"),
            "p.yaml:2:50: field 'sort' expects column names, each alone or with ' desc'");
  EXPECT_EQ(ErrorOf(stage + "sort: [y], partitioned: true}\n"),
            "p.yaml:2:50: give 'sort' or 'partitioned', not both (parts hold whole series, in "
            "series order)");
  EXPECT_EQ(ErrorOf(stage + "select: [y, 'a,b']}\n"),
            "p.yaml:2:52: a column name with ',' cannot be listed in 'select' (the stage's lists "
            "travel comma-separated)");
  EXPECT_EQ(ErrorOf(stage + "drop_nulls: ['a,b']}\n"),
            "p.yaml:2:56: a column name with ',' cannot be listed in 'drop_nulls' (the stage's "
            "lists travel comma-separated)");
  EXPECT_EQ(ErrorOf(stage + "rolling: {column: y, windw: 3}}\n"),
            "p.yaml:2:65: unknown field 'windw' in rolling (column, window, stats, min_periods) "
            "(did you mean 'window'?)");
}

TEST_F(PipelineTest, TheReportListsEveryTaskThatDidNotEndDone) {
  const std::string file = WriteText("p.yaml", R"(
name: two-stages
stages:
  - name: first
    tasks:
      - {uid: ok, executable: /bin/true}
      - {uid: broken, shell: true, executable: "echo the input is gone >&2; exit 3"}
  - name: second
    after: [first]
    tasks: [{executable: /bin/true}]
)");
  auto p = LoadPipeline(file);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string workdir = (dir_ / "run").string();
  {
    runtime::RuntimeOptions o;
    o.resources = runtime::UniformResources(1, 2, 0, 0);
    o.resources.nodes[0].name = "localhost";
    o.workdir = workdir;
    auto tm = runtime::TaskManager::Make(std::move(o));
    ASSERT_TRUE(tm.ok()) << tm.status();
    ASSERT_TRUE((*tm)->Submit(p->run.tasks).ok());
    ASSERT_TRUE((*tm)->WaitAll(std::chrono::seconds(60)).ok());
  }
  auto report = WriteReport(*p, workdir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(*report, workdir + "/report/index.html");
  const std::string html = Slurp(*report);
  EXPECT_NE(html.find("<h1>Pipeline two-stages</h1>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Tasks that did not end DONE</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>first.broken</td><td class=\"bad\">FAILED</td>"), std::string::npos)
      << html;
  // The dependent stage never ran: it is listed as canceled, not left out.
  EXPECT_NE(html.find("<td>second</td><td class=\"bad\">CANCELED</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>first.ok</td><td>DONE</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<svg"), std::string::npos);  // the timeline
}

}  // namespace
}  // namespace drc::pipeline
