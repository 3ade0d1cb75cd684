// Tables as Arrow IPC streams. Each table is written in two passes: a counting pass
// (MockOutputStream) sizes the stream exactly, then the stream is written straight into its
// place in a preallocated buffer — no growing buffer, no extra copy when several tables share
// one send buffer. Streams are multiples of 8 bytes, so blocks laid back to back stay aligned
// and the reader can point the arrays into the received buffer (zero copy).
#include "drc/data/ipc.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/api.h>

#include <string>
#include <vector>

#include "src/data/arrow_status.h"

namespace drc::data {
namespace {

arrow::ipc::IpcWriteOptions WriteOptions(arrow::MemoryPool* pool) {
  auto options = arrow::ipc::IpcWriteOptions::Defaults();
  options.memory_pool = pool != nullptr ? pool : arrow::default_memory_pool();
  options.allow_64bit = true;  // arrays longer than 2^31 - 1 elements
  options.use_threads = false;
  return options;
}

arrow::Status WriteStream(const arrow::Table& table, arrow::io::OutputStream* sink,
                          const arrow::ipc::IpcWriteOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(sink, table.schema(), options));
  if (table.num_rows() > 0) ARROW_RETURN_NOT_OK(writer->WriteTable(table));
  return writer->Close();  // writes the schema if no batch did, then end-of-stream
}

// Exact size of the IPC stream of `table`.
arrow::Result<int64_t> StreamSize(const arrow::Table& table,
                                  const arrow::ipc::IpcWriteOptions& options) {
  arrow::io::MockOutputStream counter;
  ARROW_RETURN_NOT_OK(WriteStream(table, &counter, options));
  return counter.GetExtentBytesWritten();
}

// Writes the stream of `table` into [data, data + size) of `buffer`.
arrow::Status WriteStreamAt(const arrow::Table& table, const std::shared_ptr<arrow::Buffer>& buffer,
                            int64_t offset, int64_t size,
                            const arrow::ipc::IpcWriteOptions& options) {
  auto slice = arrow::SliceMutableBuffer(buffer, offset, size);
  arrow::io::FixedSizeBufferWriter sink(slice);
  ARROW_RETURN_NOT_OK(WriteStream(table, &sink, options));
  ARROW_ASSIGN_OR_RAISE(int64_t written, sink.Tell());
  if (written != size) {
    return arrow::Status::Invalid("IPC stream size changed between passes: ", size, " then ",
                                  written);
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> Allocate(int64_t size, arrow::MemoryPool* pool) {
  ARROW_ASSIGN_OR_RAISE(
      std::unique_ptr<arrow::Buffer> buffer,
      arrow::AllocateBuffer(size, pool != nullptr ? pool : arrow::default_memory_pool()));
  return std::shared_ptr<arrow::Buffer>(std::move(buffer));
}

Status CheckComm(const Context& ctx, const char* what) {
  if (ctx.comm() == nullptr) {
    return Status::InvalidArgument(what, ": the context has no communicator");
  }
  return Status::OK();
}

}  // namespace

Result<std::shared_ptr<arrow::Buffer>> SerializeTable(const arrow::Table& table,
                                                      arrow::MemoryPool* pool) {
  const auto options = WriteOptions(pool);
  DRC_ARROW_ASSIGN_OR_RETURN(int64_t size, StreamSize(table, options), "SerializeTable");
  DRC_ARROW_ASSIGN_OR_RETURN(auto buffer, Allocate(size, pool), "SerializeTable");
  DRC_ARROW_RETURN_NOT_OK(WriteStreamAt(table, buffer, 0, size, options), "SerializeTable");
  return buffer;
}

Result<TablePtr> DeserializeTable(const std::shared_ptr<arrow::Buffer>& buffer) {
  if (buffer == nullptr) return Status::InvalidArgument("DeserializeTable: null buffer");
  auto options = arrow::ipc::IpcReadOptions::Defaults();
  options.use_threads = false;
  auto input = std::make_shared<arrow::io::BufferReader>(buffer);
  DRC_ARROW_ASSIGN_OR_RETURN(auto reader, arrow::ipc::RecordBatchStreamReader::Open(input, options),
                             "DeserializeTable");
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr table, reader->ToTable(), "DeserializeTable");
  return table;
}

Status SendTable(const Context& ctx, const arrow::Table& table, int dst, int tag) {
  DRC_RETURN_NOT_OK(CheckComm(ctx, "SendTable"));
  DRC_ASSIGN_OR_RETURN(auto bytes, SerializeTable(table, ctx.pool()));
  const int64_t size = bytes->size();
  DRC_RETURN_NOT_OK(ctx.comm()->Send(&size, sizeof(size), dst, tag));
  return ctx.comm()->Send(bytes->data(), size, dst, tag);
}

Result<TablePtr> RecvTable(const Context& ctx, int src, int tag) {
  DRC_RETURN_NOT_OK(CheckComm(ctx, "RecvTable"));
  int64_t size = 0;
  DRC_RETURN_NOT_OK(ctx.comm()->Recv(&size, sizeof(size), src, tag));
  if (size < 0) return Status::Internal("RecvTable: negative size ", size, " from rank ", src);
  DRC_ARROW_ASSIGN_OR_RETURN(auto buffer, Allocate(size, ctx.pool()), "RecvTable");
  DRC_RETURN_NOT_OK(ctx.comm()->Recv(buffer->mutable_data(), size, src, tag));
  return DeserializeTable(buffer);
}

Result<std::vector<TablePtr>> AllToAllTables(const Context& ctx,
                                             const std::vector<TablePtr>& parts) {
  const int size = ctx.world_size(), me = ctx.rank();
  if (static_cast<int>(parts.size()) != size) {
    return Status::InvalidArgument("AllToAllTables: ", parts.size(), " parts for ", size, " ranks");
  }
  for (int r = 0; r < size; ++r) {
    if (parts[r] == nullptr) return Status::InvalidArgument("AllToAllTables: part ", r, " is null");
  }
  if (size == 1) return parts;
  DRC_RETURN_NOT_OK(CheckComm(ctx, "AllToAllTables"));

  // This rank's own part never leaves it: it is passed through without serialization.
  const auto options = WriteOptions(ctx.pool());
  std::vector<int64_t> send_bytes(size, 0);
  for (int r = 0; r < size; ++r) {
    if (r == me) continue;
    DRC_ARROW_ASSIGN_OR_RETURN(send_bytes[r], StreamSize(*parts[r], options), "AllToAllTables");
  }
  const std::vector<int64_t> send_displs = comm::Displacements(send_bytes);
  const int64_t send_total = send_displs.back() + send_bytes.back();
  DRC_ARROW_ASSIGN_OR_RETURN(auto send, Allocate(send_total, ctx.pool()), "AllToAllTables");
  for (int r = 0; r < size; ++r) {
    if (r == me) continue;
    DRC_ARROW_RETURN_NOT_OK(WriteStreamAt(*parts[r], send, send_displs[r], send_bytes[r], options),
                            "AllToAllTables");
  }

  DRC_ASSIGN_OR_RETURN(std::vector<int64_t> recv_bytes,
                       comm::ExchangeCounts(*ctx.comm(), send_bytes));
  const std::vector<int64_t> recv_displs = comm::Displacements(recv_bytes);
  const int64_t recv_total = recv_displs.back() + recv_bytes.back();
  DRC_ARROW_ASSIGN_OR_RETURN(auto recv, Allocate(recv_total, ctx.pool()), "AllToAllTables");
  DRC_RETURN_NOT_OK(ctx.comm()->AllToAllV(send->data(), send_bytes, send_displs,
                                          recv->mutable_data(), recv_bytes, recv_displs));
  send.reset();

  std::vector<TablePtr> received(size);
  for (int r = 0; r < size; ++r) {
    if (r == me) {
      received[r] = parts[r];
      continue;
    }
    if (recv_bytes[r] == 0) {
      return Status::Internal("AllToAllTables: rank ", r, " sent no stream");
    }
    auto status_context = "AllToAllTables: from rank " + std::to_string(r);
    auto result = DeserializeTable(arrow::SliceBuffer(recv, recv_displs[r], recv_bytes[r]));
    if (!result.ok()) return result.status().WithContext(status_context);
    received[r] = std::move(result).ValueOrDie();
  }
  return received;
}

}  // namespace drc::data
