// CAMELS-US reader (Newman et al. 2014, Addor et al. 2017), the layout NeuralHydrology's
// camels_us data set reads: forcing_daymet/<gauge>_lump_cida_forcing_leap.txt (latitude,
// elevation and basin area in m² on the first three lines, then a whitespace table),
// streamflow/<gauge>_streamflow_qc.txt (discharge in ft³/s, -999 or any negative value:
// missing) and attributes/camels_*.txt (';'-separated, keyed by gauge_id). Plain C++: no
// libtorch, no Arrow; every error names file:line and the field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drc/common/result.h"

namespace drc::dl {

// A calendar day as days since 1970-01-01 (Arrow's date32).
using Day = int32_t;

// "2000-01-01" -> Day; InvalidArgument naming the text otherwise.
Result<Day> ParseDay(const std::string& text);
// Day -> "2000-01-01".
std::string FormatDay(Day day);
// A valid date in the years -32767 to 32767 (std::chrono's range) -> Day.
Day MakeDay(int year, int month, int day);

// NeuralHydrology's usual Daymet inputs (the data README's list, in its order).
std::vector<std::string> DefaultCamelsDynamicInputs();
// The 26 static attributes NeuralHydrology's CAMELS-US examples use (531-basin config); all are
// in the sample's attribute files.
std::vector<std::string> DefaultCamelsStaticAttributes();

// One basin's daily series: a CAMELS basin's joined by date on the forcing file's days, or a
// basin of a table (basin_table.h).
struct BasinSeries {
  std::string gauge_id;
  double latitude = 0, elevation = 0, area_m2 = 0;  // the CAMELS forcing file's header (else 0)
  std::vector<Day> days;                            // consecutive days
  std::vector<std::string> dynamic_names;
  std::vector<double> dynamic;  // row-major [days.size() x dynamic_names.size()]
  // Observed discharge in mm/day: flow · 0.028316846592 m³/ft³ · 86400 s · 1000 mm/m / area.
  // NaN where the streamflow file has no row or a negative (-999) value.
  std::vector<double> qobs_mm_day;

  double Dynamic(size_t day, size_t feature) const {
    return dynamic[day * dynamic_names.size() + feature];
  }
};

// The gauge ids that have a forcing file under dir/forcing_daymet, sorted.
Result<std::vector<std::string>> ListCamelsBasins(const std::string& dir);

// Reads one basin from the data set root `dir`. `dynamic_inputs` are forcing column names as
// in the file's header (e.g. "prcp(mm/day)"); NotFound names an unknown column and the header.
Result<BasinSeries> ReadCamelsBasin(const std::string& dir, const std::string& gauge,
                                    const std::vector<std::string>& dynamic_inputs);

// Static attributes `names` of each of `gauges` from dir/attributes/camels_*.txt:
// result[g][a] is attribute a of gauge g. "NA" cells read as NaN. NotFound names an unknown
// gauge or attribute; a ragged row or an unparsable number names file:line and the field.
Result<std::vector<std::vector<double>>> ReadCamelsAttributes(
    const std::string& dir, const std::vector<std::string>& gauges,
    const std::vector<std::string>& names);

}  // namespace drc::dl
