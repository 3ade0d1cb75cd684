// drc: the Deep RC command-line tool, one sub-command per job (see ../shared/ARCHITECTURE.md
// "The CLI contract"). Sub-commands that are not built yet say so and exit with status 3, so
// scripts can tell "not there yet" from "failed".
//
// This file builds two programs. `drc` does not link libtorch (which alone costs ~150 MB of
// resident memory and half a second of start-up, paid by every task-runtime command); for the
// deep-learning sub-commands (demo, forecast, hydro, bench train) it execs `drc-dl` from its own
// folder with the same arguments. `drc-dl` is this file built with DRC_WITH_DL and runs every
// sub-command.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_comm.h"
#include "bench_data.h"
#include "bench_train.h"
#include "blas_kernels.h"
#include "demo.h"
#include "drc/comm/communicator.h"
#include "drc/data/io.h"
#include "drc/dl/model_names.h"
#ifdef DRC_WITH_DL
#include "drc/dl/allocator.h"
#endif
#include "forecast_cmd.h"
#include "hydro_cmd.h"
#include "run_cmd.h"
#include "worker_cmd.h"

namespace {

constexpr const char* kWindowPartsHelp =
    "Run each training step's windows in N parts on separate threads (0: automatic, for models "
    "whose windows are independent; 1: off)";

constexpr const char* kThreadsHelp =
    "Intra-op threads (0: OMP_NUM_THREADS when set, as a pilot sets it to a task's cores, else "
    "the cores this process may run on)";

constexpr const char* kTrainBackendHelp =
    "Communicator for ranks > 1: mpi, gloo, or nccl (a build with CUDA and a CUDA libtorch; "
    "one GPU per rank, gradients averaged in GPU memory)";

constexpr const char* kDeviceHelp =
    "Where the models train: cpu, cuda (one GPU per rank), cuda:N or auto (CUDA when libtorch "
    "sees a GPU); CUDA needs a CUDA-enabled libtorch";

#ifndef DRC_WITH_DL
// Replaces this process with drc-dl (beside this executable) running the same arguments.
int ExecDeepLearning(int argc, char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string dl = (self.parent_path() / "drc-dl").string();
  if (ec || ::access(dl.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "drc: %s is missing; the deep-learning commands live there (build the "
                 "drc-dl target)\n",
                 dl.c_str());
    return 1;
  }
  std::vector<char*> args(argv, argv + argc);
  args[0] = const_cast<char*>(dl.c_str());
  args.push_back(nullptr);
  std::fflush(nullptr);
  ::execv(dl.c_str(), args.data());
  std::fprintf(stderr, "drc: cannot run %s: %s\n", dl.c_str(), std::strerror(errno));
  return 1;
}
#endif

std::string VersionText() {
  std::string backends;
  for (const auto& name : drc::comm::DefaultCommRegistry().Names()) {
    backends += (backends.empty() ? "" : ",") + name;
  }
  std::string text = std::string("drc ") + DRC_VERSION + " (arrow " + drc::data::ArrowVersion() +
                     "; comm backends: " + backends;
#ifdef DRC_WITH_DL
  const std::string blas_core = drc::app::OpenBlasCore();
  if (!blas_core.empty()) text += "; openblas core: " + blas_core;
#endif
  return text + ")";
}

}  // namespace

int main(int argc, char** argv) {
#ifdef DRC_WITH_DL
  // Before anything calls OpenBLAS: on a CPU it does not know, run again with better kernels.
  drc::app::RestartWithBetterOpenBlasCore(argv);
  // Training steps free and re-allocate the same activations every step: keep them mapped.
  drc::dl::KeepFreedMemoryForReuse();
#endif
  CLI::App app{"Deep RC: data engineering + deep learning pipelines on HPC, cloud and laptops"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and the compiled-in backends");

  auto* run = app.add_subcommand(
      "run",
      "Run a task file or a pipeline file (YAML) on a pilot; a pipeline ends with its report");
  drc::app::RunArgs run_args;
  run->add_option("FILE", run_args.file, "Task file (tasks:) or pipeline file (stages:), YAML")
      ->required();
  run->add_option("--workdir", run_args.workdir, "Work directory (events.jsonl, task folders)");
  auto* resume = run->add_flag("--resume", run_args.resume,
                               "Run again only the tasks that did not end DONE in the work "
                               "directory's earlier runs (its events.jsonl)");
  run->add_flag("--check", run_args.check,
                "Check the file and list its tasks (by stage) and whether each could run on the "
                "pilot; run nothing")
      ->excludes(resume);
  run->add_option("--worker", run_args.worker,
                  "The program that serves the function tasks (default: the task file's "
                  "worker:, else drc worker)");
  run->add_option("--pilot", run_args.pilot,
                  "auto (slurm inside a Slurm job, unless in a task of another drc run; else "
                  "local), local (this machine, the file's pilot:) or slurm (the job's "
                  "allocation)")
      ->check(CLI::IsMember({"auto", "local", "slurm"}));
  run->add_option("--cores", run_args.cores, "Cores per node (overrides detection/the file)")
      ->check(CLI::PositiveNumber);
  run->add_option("--gpus", run_args.gpus, "GPUs per node (overrides detection/the file)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--quiet", run_args.quiet, "No progress display");
  run_args.data_dir = DRC_DEFAULT_DATA_DIR;
  auto* demo = app.add_subcommand("demo", "Run the forecasting demo on the bundled data");
  drc::app::DemoArgs demo_args;
  demo_args.data_dir = DRC_DEFAULT_DATA_DIR;
  demo_args.out_dir = "drc-demo-out";
  demo->add_option("--data", demo_args.data_dir, "Folder with the bundled data sets");
  demo->add_option("--out", demo_args.out_dir, "Output folder");
  demo->add_option("--ranks", demo_args.ranks, "Data-parallel ranks (under mpirun)")
      ->check(CLI::Range(1, 256));
  auto* profile = app.add_subcommand("profile", "Utilization and overhead report of a run");
  drc::app::ProfileArgs profile_args;
  profile
      ->add_option("WORKDIR", profile_args.workdir,
                   "Work directory of a drc run (it holds events.jsonl), or the log itself")
      ->required();
  profile->add_option("--out", profile_args.out,
                      "Folder for report.html, timeline.svg, utilization.svg (gpu_utilization.svg "
                      "with GPUs) and attempts.csv (default: WORKDIR/profile)");
  profile->add_flag("--json", profile_args.json, "One JSON object with the summary on stdout");
  auto* forecast = app.add_subcommand("forecast", "Train forecasting models on a series table");
  drc::app::ForecastArgs forecast_args;
  forecast
      ->add_option("--data", forecast_args.data,
                   "Long-format table: unique_id, ds, y (CSV, Parquet or Arrow IPC); with "
                   "{rank} in the name, one part per rank (part-{rank}.parquet), each series "
                   "whole in one part")
      ->required();
  forecast->add_option("--models", forecast_args.models, "Comma-separated model names")->required();
  forecast->add_option("--h", forecast_args.horizon, "Forecast horizon")
      ->check(CLI::PositiveNumber);
  forecast->add_option("--input-size", forecast_args.input_size, "Input window length")
      ->check(CLI::PositiveNumber);
  forecast->add_option("--steps", forecast_args.steps, "Training steps (max_steps)")
      ->check(CLI::NonNegativeNumber);
  forecast->add_option("--freq", forecast_args.freq,
                       "pandas alias (D, W, MS, ME, QS, QE, YS, YE, h); inferred when omitted");
  forecast->add_option("--seed", forecast_args.seed, "Random seed");
  forecast
      ->add_option("--scaler", forecast_args.scaler,
                   "identity, standard, robust, minmax or revin (default: each model's)")
      ->check(CLI::IsMember({"identity", "standard", "robust", "minmax", "revin"}));
  forecast->add_option(
      "--loss", forecast_args.loss,
      "Point models' training loss (NF's loss=): MAE (default), MSE, RMSE, MAPE, "
      "SMAPE, MASE(M), HuberLoss, HuberLoss(DELTA), FreDF(alpha=A), QuantileLoss(Q), "
      "HuberQLoss(Q, delta=D), IQLoss or HuberIQLoss (a forecast of any quantile "
      "asked by --level; y_hat the median), or MQLoss, "
      "MQLoss(level=[L,...]), MQLoss(quantiles=[Q,...]) or "
      "HuberMQLoss(level=[L,...], delta=D) for a median and quantile columns, or "
      "DistributionLoss(Normal), DistributionLoss(Poisson), "
      "DistributionLoss(NegativeBinomial), DistributionLoss(Tweedie, rho=R), "
      "DistributionLoss(ISQF[, num_pieces=N]), "
      "DistributionLoss(StudentT[, level=[L,...]]) or the mixtures GMM, PMM, "
      "NBMM([n_components=K, weighted=True, level=[L,...]]) for a mean and "
      "sampled quantiles (each is DeepAR's likelihood too); "
      "MODEL.loss in --param or --config sets one model's");
  forecast->add_option(
      "--valid-loss", forecast_args.valid_loss,
      "Early stopping's loss (NF's valid_loss=; default: the training loss): a point loss "
      "on the point forecast (a DistributionLoss's mean), or MQLoss / HuberMQLoss on the "
      "quantiles of an MQLoss, a DistributionLoss (sampled) or DeepAR; as NF, IQLoss goes with "
      "IQLoss only and a DistributionLoss validates on its own likelihood; MODEL.valid_loss in "
      "--param or --config sets one model's");
  forecast->add_option("--futr-exog", forecast_args.futr_exog,
                       "Exogenous columns known over the horizon too, comma-separated (NF's "
                       "futr_exog_list; the held-out rows give their values); a model that "
                       "does not read them, as NF's, is an error that names those that do");
  forecast->add_option("--hist-exog", forecast_args.hist_exog,
                       "Exogenous columns known up to the forecast's start (NF's hist_exog_list)");
  forecast->add_option("--futr-data", forecast_args.futr_data,
                       "With --future and --futr-exog: a table (unique_id, ds and the future "
                       "columns) of their values over the horizon (NF's futr_df)");
  forecast->add_option("--stat-exog", forecast_args.stat_exog,
                       "Columns with one value per series (NF's stat_exog_list)");
  forecast->add_option("--cat-exog", forecast_args.cat_exog,
                       "Those of the exogenous columns that hold categories (text, whole numbers "
                       "or booleans), each learned as an embedding (NF's cat_exog_list)");
  forecast->add_option("--cat-emb-dim", forecast_args.cat_emb_dim,
                       "Embedding width per categorical column: fastai, sqrt, half (NF's rules on "
                       "the number of categories) or a whole number");
  forecast->add_option("--hierarchy", forecast_args.hierarchy,
                       "NF's HINT: a summing matrix CSV (series id, then one 0/1 column per bottom "
                       "series, as HierarchicalForecast's S_df) over --data's series; the models "
                       "need a distribution loss");
  forecast
      ->add_option("--reconciliation", forecast_args.reconciliation,
                   "With --hierarchy: how the samples are made coherent (NF's HINT reconciliation)")
      ->check(CLI::IsMember({"BottomUp", "MinTraceOLS", "MinTraceWLS", "Identity"}));
  forecast->add_option("--ranks", forecast_args.ranks, "Data-parallel ranks (under mpirun)")
      ->check(CLI::Range(1, 1024));
  forecast->add_option("--backend", forecast_args.backend, kTrainBackendHelp)
      ->check(CLI::IsMember({"mpi", "gloo", "nccl"}));
  forecast->add_flag("--partition", forecast_args.partition,
                     "With --ranks: each rank reads a share of --data and keeps a range of whole "
                     "series, then trains on its own series (as on {rank} parts)");
  forecast
      ->add_option("--val-size", forecast_args.val_size,
                   "Validation points per series (NF val_size: 0, none, or at least --h; the "
                   "windows whose horizon lies in them)")
      ->check(CLI::NonNegativeNumber);
  forecast
      ->add_option("--val-check-steps", forecast_args.val_check_steps,
                   "Steps between validation checks")
      ->check(CLI::PositiveNumber);
  forecast->add_option("--early-stop-patience", forecast_args.early_stop_patience,
                       "Validation checks without improvement before stopping (-1: never)");
  forecast->add_option("--checkpoint-dir", forecast_args.checkpoint_dir,
                       "Write DIR/<model>.ckpt (model, optimizer, sampler state)");
  forecast
      ->add_option("--checkpoint-every", forecast_args.checkpoint_every,
                   "Steps between checkpoints (0: at the end only)")
      ->check(CLI::NonNegativeNumber);
  forecast->add_flag("--resume", forecast_args.resume,
                     "Continue each model from its checkpoint in --checkpoint-dir");
  forecast->add_flag("--exact-repeats", forecast_args.exact_repeats,
                     "Compute every repeated window draw of dropout models, as NeuralForecast "
                     "(default: once, the copies sharing one dropout mask; faster)");
  forecast->add_flag("--nf-dropout", forecast_args.nf_dropout,
                     "Draw dropout masks as NeuralForecast does (torch's bernoulli, element by "
                     "element), so that a seed follows its training through dropout too; "
                     "implies --exact-repeats (slower)");
  forecast->add_option("--threads", forecast_args.threads, kThreadsHelp)
      ->check(CLI::NonNegativeNumber);
  forecast->add_option("--window-parts", forecast_args.window_parts, kWindowPartsHelp)
      ->check(CLI::NonNegativeNumber);
  forecast->add_option("--device", forecast_args.device, kDeviceHelp);
  forecast->add_flag("--future", forecast_args.future,
                     "Train on every point and forecast the H stamps after each series' end "
                     "(default: hold the last H out and score the forecast against them)");
  forecast
      ->add_option("--cv-windows", forecast_args.cv_windows,
                   "Cross-validation as NF's cross_validation: train without the last h + step * "
                   "(N - 1) points, forecast h from N cutoffs, score them all")
      ->check(CLI::NonNegativeNumber);
  forecast
      ->add_option("--cv-refit", forecast_args.cv_refit,
                   "NF's refit: 0 trains once (default); K trains again, from the initial "
                   "weights (--warm-start: the last fit's), on the data up to every K-th "
                   "window's cutoff (1: each window)")
      ->check(CLI::NonNegativeNumber);
  forecast->add_flag("--warm-start", forecast_args.warm_start,
                     "NF's chained fits (its use_init_models=False): a refit window's fit, and the "
                     "fit after a conformal calibration, start from the weights the fit before "
                     "ended with (default: each from the initial weights)");
  forecast->add_option("--init-from", forecast_args.init_from,
                       "Start each model from DIR/<MODEL>.ckpt (an earlier run's --checkpoint-dir) "
                       "instead of its initial weights, with a new optimizer: fine-tune or train "
                       "on (NF's fit(use_init_models=False) after load)");
  forecast
      ->add_option("--cv-step", forecast_args.cv_step,
                   "Points between the cross-validation cutoffs (NF's step_size)")
      ->check(CLI::PositiveNumber);
  forecast
      ->add_option("--level", forecast_args.level,
                   "Prediction interval levels in (0, 100), comma-separated, e.g. 80,90: DeepAR's "
                   "from its distribution (default: median, 80 and 90), an MQLoss model's among "
                   "its quantiles (default: all of them), a DistributionLoss model's from its "
                   "distribution (default: its loss's), the other point models' conformal "
                   "(with --conformal-windows)")
      ->delimiter(',');
  forecast
      ->add_option("--conformal-windows", forecast_args.conformal_windows,
                   "Conformal intervals for point models at --level: calibration windows "
                   "(NF's PredictionIntervals(n_windows); >= 2; 0: none)")
      ->check(CLI::NonNegativeNumber);
  forecast
      ->add_option("--conformal-step", forecast_args.conformal_step,
                   "Steps between the calibration windows (NF's step_size)")
      ->check(CLI::PositiveNumber);
  forecast
      ->add_option("--conformal-method", forecast_args.conformal_method,
                   "conformal_distribution (NF's default) or conformal_error")
      ->check(CLI::IsMember({"conformal_distribution", "conformal_error"}));
  forecast->add_option(
      "--config", forecast_args.model_config,
      "YAML or JSON file of hyper-parameters per model, NF's names, e.g. "
      "'MLP: {hidden_size: 256, learning_rate: 1.0e-4}' (examples/forecast_models.yaml)");
  forecast->add_option("--param", forecast_args.params,
                       "One hyper-parameter override MODEL.KEY=VALUE, e.g. MLP.hidden_size=256 "
                       "(repeatable; after --config)");
  forecast->add_flag("--json", forecast_args.json, "One JSON object per model on stdout");
  forecast->add_option("--out", forecast_args.out, "Write the forecasts (.csv or .parquet)");
  forecast->add_option("--importances", forecast_args.importances,
                       "Write the variable importances of models that select variables (TFT): "
                       "model, kind, variable, step, importance (.csv or .parquet)");

  auto* hydro =
      app.add_subcommand("hydro", "Train an LSTM or EA-LSTM on basins' daily series (NSE, KGE)");
  drc::app::HydroArgs hydro_args;
  hydro_args.data = std::string(DRC_DEFAULT_DATA_DIR) + "/camels_us_sample";
  auto* hydro_data = hydro->add_option(
      "--data", hydro_args.data, "CAMELS-US root (forcing_daymet/, streamflow/, attributes/)");
  hydro
      ->add_option("--table", hydro_args.table,
                   "Or a long table (.csv, .parquet, .arrow; {rank} for parts): unique_id (the "
                   "basin), ds (the day), the inputs, y (discharge, mm/day)")
      ->excludes(hydro_data);
  hydro->add_option("--attributes", hydro_args.attributes,
                    "With --table: static attributes, a row per basin (unique_id, then a column "
                    "per attribute)");
  hydro->add_option("--inputs", hydro_args.inputs,
                    "Comma-separated dynamic inputs (default: CAMELS's five Daymet forcings; with "
                    "--table, every column but unique_id, ds and y)");
  hydro->add_option("--static", hydro_args.statics,
                    "Comma-separated static attributes, or none (default: NeuralHydrology's 26 "
                    "CAMELS attributes; with --attributes, its number columns)");
  hydro->add_option("--write-table", hydro_args.write_table,
                    "Write --data's basins as a --table file (unique_id, ds, the inputs, y) and "
                    "exit");
  hydro->add_option("--write-attributes", hydro_args.write_attributes,
                    "Write their static attributes as an --attributes file and exit");
  hydro->add_option("--model", hydro_args.model, "LSTM (NeuralHydrology's CudaLSTM) or EA-LSTM")
      ->check(CLI::IsMember(std::vector<std::string>(drc::dl::kHydroModelNames.begin(),
                                                     drc::dl::kHydroModelNames.end())));
  hydro->add_option("--basins", hydro_args.basins,
                    "Comma-separated gauge ids (default: every basin of --data or --table)");
  hydro->add_option("--train", hydro_args.train, "Training period START:END (YYYY-MM-DD)");
  hydro->add_option("--test", hydro_args.test, "Test period START:END (YYYY-MM-DD)");
  hydro->add_option("--epochs", hydro_args.epochs, "Training epochs")
      ->check(CLI::NonNegativeNumber);
  hydro->add_option("--seq-length", hydro_args.seq_length, "Input sequence length (days)")
      ->check(CLI::PositiveNumber);
  hydro->add_option("--hidden", hydro_args.hidden_size, "LSTM hidden size")
      ->check(CLI::PositiveNumber);
  hydro->add_option("--lr", hydro_args.learning_rate, "Adam learning rate")
      ->check(CLI::PositiveNumber);
  hydro->add_option("--dropout", hydro_args.dropout, "Output dropout")
      ->check(CLI::Range(0.0, 0.99));
  hydro->add_option("--batch-size", hydro_args.batch_size, "Samples per batch")
      ->check(CLI::PositiveNumber);
  hydro->add_option("--loss", hydro_args.loss, "NSE (NSE*) or MSE")
      ->check(CLI::IsMember({"NSE", "MSE"}));
  hydro->add_option("--seed", hydro_args.seed, "Random seed");
  hydro->add_option("--threads", hydro_args.threads, kThreadsHelp)->check(CLI::NonNegativeNumber);
  hydro->add_option("--ranks", hydro_args.ranks, "Data-parallel ranks (under mpirun)")
      ->check(CLI::Range(1, 1024));
  hydro->add_option("--backend", hydro_args.backend, kTrainBackendHelp)
      ->check(CLI::IsMember({"mpi", "gloo", "nccl"}));
  hydro->add_option("--device", hydro_args.device, kDeviceHelp);
  hydro->add_flag("--json", hydro_args.json,
                  "One JSON object per basin, then {model, median_nse, seconds, ...}");
  hydro->add_option("--out", hydro_args.out,
                    "Write the test period's observed and simulated discharge (.csv, .parquet "
                    "or .arrow: unique_id, ds, y, MODEL)");

  auto* worker = app.add_subcommand(
      "worker", "Serve function tasks as one process of a run's worker pool (drc run starts it)");
  drc::app::WorkerArgs worker_args;
  worker->add_option("--connect", worker_args.connect, "The task manager's endpoint");
  worker->add_flag("--list", worker_args.list, "Print the functions that tasks can name");

  auto* bench = app.add_subcommand("bench", "Benchmarks (one JSON object per run with --json)");
  bench->require_subcommand(1);
  auto* bench_tasks = bench->add_subcommand("tasks", "Task throughput of the runtime");
  drc::app::BenchTasksArgs tasks_args;
  bench_tasks->add_option("--n", tasks_args.n, "Tasks")->check(CLI::PositiveNumber);
  bench_tasks->add_option("--kind", tasks_args.kind, "exec or function")
      ->check(CLI::IsMember({"exec", "function"}));
  bench_tasks->add_option("--ranks", tasks_args.ranks, "Ranks per task")
      ->check(CLI::PositiveNumber);
  bench_tasks->add_option("--cores", tasks_args.cores, "Pilot cores (default: detected)")
      ->check(CLI::PositiveNumber);
  bench_tasks->add_option("--workdir", tasks_args.workdir,
                          "Folder for the run directory (default /dev/shm)");
  bench_tasks->add_option("--function", tasks_args.function,
                          "The function of --kind function tasks (drc worker --list)");
  bench_tasks->add_option("--arg", tasks_args.function_args,
                          "KEY=VALUE argument of the function (repeatable)");
  bench_tasks->add_flag("--json", tasks_args.json, "One JSON object on stdout");
  bench_tasks->add_flag("!--no-baseline", tasks_args.baseline, "Skip the raw posix_spawn baseline");
  auto* bench_comm = bench->add_subcommand("comm", "Communicator collectives");
  drc::app::BenchCommArgs comm_args;
  bench_comm->add_option("--backend", comm_args.backend, "local, mpi or gloo")
      ->check(CLI::IsMember({"local", "mpi", "gloo"}));
  bench_comm->add_option("--op", comm_args.op, "allreduce or alltoallv")
      ->check(CLI::IsMember({"allreduce", "alltoallv"}));
  bench_comm->add_option("--bytes", comm_args.bytes, "Bytes per rank")
      ->check(CLI::NonNegativeNumber);
  bench_comm->add_option("--ranks", comm_args.ranks, "Ranks")->check(CLI::Range(1, 1024));
  bench_comm->add_option("--iters", comm_args.iters, "Timed iterations (0: about 1.5 s)")
      ->check(CLI::NonNegativeNumber);
  bench_comm->add_option("--warmup", comm_args.warmup, "Untimed iterations first")
      ->check(CLI::NonNegativeNumber);
  bench_comm->add_flag("--json", comm_args.json, "One JSON object on stdout");
  auto* bench_data = bench->add_subcommand("data", "Data-engine operators");
  drc::app::BenchDataArgs data_args;
  bench_data->add_option("--op", data_args.op, "join, groupby, sort or shuffle")
      ->check(CLI::IsMember({"join", "groupby", "sort", "shuffle"}));
  bench_data->add_option("--rows", data_args.rows, "Rows per rank")->check(CLI::NonNegativeNumber);
  bench_data->add_option("--ranks", data_args.ranks, "Ranks")->check(CLI::Range(1, 1024));
  bench_data->add_option("--backend", data_args.backend, "local, mpi or gloo")
      ->check(CLI::IsMember({"local", "mpi", "gloo"}));
  bench_data->add_option("--iters", data_args.iters, "Timed runs (median reported)")
      ->check(CLI::PositiveNumber);
  bench_data->add_flag("--json", data_args.json, "One JSON object on stdout");
  auto* bench_train = bench->add_subcommand("train", "Training throughput of a model");
  drc::app::BenchTrainArgs train_args;
  bench_train->add_option("--model", train_args.model, "Model name (drc forecast --models)");
  bench_train->add_option("--steps", train_args.steps, "Training steps")
      ->check(CLI::PositiveNumber);
  bench_train->add_option("--ranks", train_args.ranks, "Data-parallel ranks (under mpirun)")
      ->check(CLI::Range(1, 1024));
  bench_train->add_option("--backend", train_args.backend, kTrainBackendHelp)
      ->check(CLI::IsMember({"mpi", "gloo", "nccl"}));
  bench_train->add_option("--input-size", train_args.input_size, "Input window length")
      ->check(CLI::PositiveNumber);
  bench_train->add_option("--h", train_args.horizon, "Forecast horizon")
      ->check(CLI::PositiveNumber);
  bench_train->add_option("--series", train_args.series, "Synthetic series")
      ->check(CLI::PositiveNumber);
  bench_train->add_option("--length", train_args.length, "Points per synthetic series")
      ->check(CLI::PositiveNumber);
  bench_train->add_option("--threads", train_args.threads, kThreadsHelp)
      ->check(CLI::NonNegativeNumber);
  bench_train->add_option("--window-parts", train_args.window_parts, kWindowPartsHelp)
      ->check(CLI::NonNegativeNumber);
  bench_train->add_option("--device", train_args.device, kDeviceHelp);
  bench_train->add_option("--seed", train_args.seed, "Random seed");
  bench_train->add_option("--loss", train_args.loss,
                          "Training loss, as drc forecast --loss names it (default: the model's "
                          "own, MAE for point models)");
  bench_train->add_option("--param", train_args.params,
                          "Hyper-parameter override KEY=VALUE by NF's names, e.g. "
                          "windows_batch_size=256 (repeatable; as drc forecast --param)");
  bench_train->add_option("--profile", train_args.profile,
                          "Write libtorch's operator profile of the steps to FILE (Chrome trace)");
  bench_train->add_flag("--json", train_args.json, "One JSON object on stdout");

  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::printf("%s\n", VersionText().c_str());
    return 0;
  }
  if (*run) return drc::app::RunTaskFile(run_args);
#ifdef DRC_WITH_DL
  if (*worker) {
    return drc::app::RunWorkerCommand(worker_args, drc::app::RegisterDeepLearningFunctions);
  }
  if (*demo) return drc::app::RunDemo(demo_args);
  if (*forecast) return drc::app::RunForecast(forecast_args);
  if (*bench_train) return drc::app::RunBenchTrain(train_args);
  if (*hydro) return drc::app::RunHydro(hydro_args);
#else
  // The worker serves the dl.* functions only in drc-dl; --list shows them all.
  if (*worker && !worker_args.list) return drc::app::RunWorkerCommand(worker_args);
  if (*demo || *forecast || *hydro || *bench_train || *worker) {
    drc::app::ForceBetterOpenBlasCore(/*load=*/true);  // for drc-dl's OpenBLAS
    return ExecDeepLearning(argc, argv);
  }
#endif
  if (*profile) return drc::app::ProfileRun(profile_args);
  if (*bench_tasks) return drc::app::BenchTasks(tasks_args);
  if (*bench_comm) return drc::app::RunBenchComm(comm_args);
  if (*bench_data) return drc::app::RunBenchData(data_args);
  std::printf("%s\n", app.help().c_str());
  return 0;
}
