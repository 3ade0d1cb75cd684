// The CAMELS-US sample the dl tests read: $DRC_SHARED_DATA/camels_us_sample (ctest sets the
// variable), else ../shared/data/camels_us_sample from the working directory.
#pragma once

#include <cstdlib>
#include <string>

namespace drc::dl::test_data {

inline std::string CamelsSampleDir() {
  const char* dir = std::getenv("DRC_SHARED_DATA");
  return std::string(dir ? dir : "../shared/data") + "/camels_us_sample";
}

}  // namespace drc::dl::test_data
