// The `gloo` backend: TCP (loopback or a named interface) through Facebook Gloo.
//
// Rendezvous, one of:
//  - "file:DIR": a directory all ranks can see (gloo::rendezvous::FileStore);
//  - "tcp:HOST:PORT": a key-value store served by rank 0 on HOST:PORT (TcpStore below);
//  - CommOptions::bootstrap: an existing communicator (e.g. MPI) that all-gathers the
//    transport addresses.
// Every operation honours CommOptions::timeout: a peer that died or never arrives yields
// Timeout/Aborted instead of a hang. Sub-communicators rendezvous through a store prefix
// derived from (ranks, tag) or through this communicator itself.
#pragma once

#include <memory>

#include "drc/comm/communicator.h"

namespace drc::comm {

Result<std::unique_ptr<Communicator>> MakeGloo(const CommOptions& options);

}  // namespace drc::comm
