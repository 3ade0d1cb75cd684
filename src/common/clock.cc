#include "drc/common/clock.h"

namespace drc {

double SteadyClock::WallSeconds() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const Clock& RealClock() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace drc
