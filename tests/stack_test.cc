// The dependency stack in one binary, under mpirun: an Arrow column viewed as a libtorch
// tensor without a copy, reduced across ranks through MPI and through Gloo (rendezvous in a
// file store), and the result written to Parquet and read back.
#include <arrow/api.h>
#include <arrow/io/api.h>
#include <gloo/allreduce_ring.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace {

int g_rank = 0;
int g_size = 1;
std::string g_store_dir;

std::shared_ptr<arrow::Array> MakeColumn(int64_t n, int rank) {
  arrow::DoubleBuilder b;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(b.Append(static_cast<double>(i + rank)).ok());
  return b.Finish().ValueOrDie();
}

TEST(Stack, ArrowColumnIsATorchTensorWithoutCopy) {
  auto column = std::static_pointer_cast<arrow::DoubleArray>(MakeColumn(1000, g_rank));
  auto* data = const_cast<double*>(column->raw_values());
  torch::Tensor t = torch::from_blob(data, {column->length()}, torch::kFloat64);
  EXPECT_EQ(t.data_ptr<double>(), data);
  EXPECT_DOUBLE_EQ(t.sum().item<double>(), 1000.0 * 999 / 2 + 1000.0 * g_rank);
}

TEST(Stack, MpiAndGlooReduceATensorAndParquetKeepsIt) {
  auto column = std::static_pointer_cast<arrow::DoubleArray>(MakeColumn(4096, g_rank));
  torch::Tensor t =
      torch::from_blob(const_cast<double*>(column->raw_values()), {4096}, torch::kFloat64).clone();
  torch::Tensor via_mpi = t.clone();
  ASSERT_EQ(MPI_Allreduce(MPI_IN_PLACE, via_mpi.data_ptr<double>(), 4096, MPI_DOUBLE, MPI_SUM,
                          MPI_COMM_WORLD),
            MPI_SUCCESS);

  // Gloo over loopback, rendezvous through a file store in a per-job directory.
  gloo::transport::tcp::attr attr;
  attr.hostname = "127.0.0.1";
  auto device = gloo::transport::tcp::CreateDevice(attr);
  gloo::rendezvous::FileStore store(g_store_dir);
  gloo::rendezvous::PrefixStore prefix("stack", store);
  auto context = std::make_shared<gloo::rendezvous::Context>(g_rank, g_size);
  context->setTimeout(std::chrono::seconds(60));
  context->connectFullMesh(prefix, device);
  torch::Tensor via_gloo = t.clone();
  std::vector<double*> ptrs{via_gloo.data_ptr<double>()};
  gloo::AllreduceRing<double> allreduce(context, ptrs, 4096);
  allreduce.run();
  // No rank may close its gloo pairs (at the end of this scope) while a neighbour's ring step
  // still waits on them: the peer would see "Connection closed by peer" (seen once in CI).
  ASSERT_EQ(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);

  EXPECT_TRUE(torch::equal(via_mpi, via_gloo));
  const double expected0 = g_size * (g_size - 1) / 2.0;  // sum of ranks at i = 0
  EXPECT_DOUBLE_EQ(via_mpi[0].item<double>(), expected0);

  // The reduced tensor back into Arrow memory and through Parquet.
  auto buffer = arrow::Buffer::Wrap(via_mpi.data_ptr<double>(), 4096);
  auto array = std::make_shared<arrow::DoubleArray>(4096, buffer);
  auto table = arrow::Table::Make(arrow::schema({arrow::field("x", arrow::float64())}), {array});
  const std::string path = g_store_dir + "/out_rank" + std::to_string(g_rank) + ".parquet";
  auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1024).ok());
  ASSERT_TRUE(out->Close().ok());
  auto in = arrow::io::ReadableFile::Open(path).ValueOrDie();
  auto reader = parquet::arrow::OpenFile(in, arrow::default_memory_pool()).ValueOrDie();
  auto back = reader->ReadTable();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE((*back)->Equals(*table));
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  if (argc < 2) {
    std::fprintf(stderr, "usage: stack_test STORE_DIR\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  // A fresh store directory per job (the job id is shared by its ranks), so reruns never see
  // stale keys.
  const char* job = std::getenv("OMPI_MCA_ess_base_jobid");
  g_store_dir = std::string(argv[1]) + "/job-" + (job ? job : "0") + "-np" + std::to_string(g_size);
  if (g_rank == 0) {
    std::filesystem::remove_all(g_store_dir);
    std::filesystem::create_directories(g_store_dir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
