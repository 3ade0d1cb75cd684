// The messages between the task manager (WorkerPool, a ZeroMQ ROUTER) and its workers
// (RunWorker, DEALER sockets whose routing id is "w<world rank>"). One JSON object per message.
//
// worker -> manager:
//   {"type":"hello","rank":R,"size":N}                        once, after the world is made
//   {"type":"done","key":K,"rank":R,"ok":B,"error":E,"start":S,"end":T}  one per rank and call
// manager -> worker:
//   {"type":"call","key":K,"uid":U,"function":F,"args":{...},"members":[world ranks],
//    "tag":G,"threads":C,"gpus":[...],"workdir":W,"stdout":O,"stderr":E}
//   {"type":"ping"}   every kHeartbeatSeconds while the pool is up
//   {"type":"stop"}   the worker returns from RunWorker
#pragma once

#include <string>

namespace drc::runtime::worker_protocol {

// The routing id of the worker of world rank `rank`.
inline std::string WorkerId(int rank) { return "w" + std::to_string(rank); }

inline constexpr double kHeartbeatSeconds = 1.0;

// Tags that tell concurrent communicator creations apart stay below MPI's guaranteed tag bound.
inline constexpr int kMaxTag = 32767;

}  // namespace drc::runtime::worker_protocol
