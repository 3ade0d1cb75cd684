#include "drc/dl/camels.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "drc/common/strings.h"

namespace drc::dl {
namespace {

namespace fs = std::filesystem;
namespace chr = std::chrono;

// One cubic foot in m³ (NeuralHydrology's 28316846.592 mm³; the data README rounds it).
constexpr double kCubicFootM3 = 0.028316846592;

std::vector<std::string_view> SplitWhitespace(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> SplitOn(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == sep) {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A whole-field number; "NA"/"NaN" give NaN when allow_na.
bool ParseNumber(std::string_view text, double* out, bool allow_na = false) {
  text = Trim(text);
  if (allow_na && (text == "NA" || text == "NaN" || text == "nan")) {
    *out = std::nan("");
    return true;
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

Status BadNumber(const std::string& path, int line, const std::string& field,
                 std::string_view text) {
  return Status::InvalidArgument(path, ":", line, ": field '", field, "': cannot parse '",
                                 std::string(text), "' as a number");
}

// Reads every line of a text file (CR stripped); IOError/NotFound names the path.
Result<std::vector<std::string>> ReadLines(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status::NotFound(what, ": no file ", path);
  }
  std::ifstream in(path);
  if (!in) return Status::IOError(what, ": cannot open ", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) return Status::IOError(what, ": read error on ", path);
  return lines;
}

bool IsBlank(std::string_view s) { return Trim(s).empty(); }

// y-m-d as a std::chrono date, or nullopt if no such day exists in the years std::chrono
// covers (-32767 to 32767). The range checks come first: chrono's month and day hold a byte.
std::optional<chr::year_month_day> CivilDate(int y, int m, int d) {
  if (y < static_cast<int>(chr::year::min()) || y > static_cast<int>(chr::year::max()) || m < 1 ||
      m > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  const chr::year_month_day date{chr::year{y}, chr::month{static_cast<unsigned>(m)},
                                 chr::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return date;
}

Day DayOf(const chr::year_month_day& date) {
  return static_cast<Day>(chr::sys_days{date}.time_since_epoch().count());
}

// Year, month, day from three fields; InvalidArgument naming file:line otherwise.
Result<Day> DateFromFields(const std::string& path, int line, std::string_view y,
                           std::string_view m, std::string_view d) {
  double vy, vm, vd;
  if (!ParseNumber(y, &vy)) return BadNumber(path, line, "year", y);
  if (!ParseNumber(m, &vm)) return BadNumber(path, line, "month", m);
  if (!ParseNumber(d, &vd)) return BadNumber(path, line, "day", d);
  const int iy = static_cast<int>(vy), im = static_cast<int>(vm), id = static_cast<int>(vd);
  const auto date = CivilDate(iy, im, id);
  if (iy != vy || im != vm || id != vd || !date) {
    return Status::InvalidArgument(path, ":", line, ": no such date ", std::string(y), "-",
                                   std::string(m), "-", std::string(d));
  }
  return DayOf(*date);
}

}  // namespace

Day MakeDay(int year, int month, int day) {
  return DayOf(chr::year{year} / chr::month{static_cast<unsigned>(month)} /
               chr::day{static_cast<unsigned>(day)});
}

Result<Day> ParseDay(const std::string& text) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  const auto date = std::sscanf(text.c_str(), "%d-%d-%d%c", &y, &m, &d, &tail) == 3
                        ? CivilDate(y, m, d)
                        : std::nullopt;
  if (!date) return Status::InvalidArgument("'", text, "' is not a date (YYYY-MM-DD)");
  return DayOf(*date);
}

std::string FormatDay(Day day) {
  const chr::year_month_day date{chr::sys_days{chr::days{day}}};
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buf;
}

std::vector<std::string> DefaultCamelsDynamicInputs() {
  return {"prcp(mm/day)", "srad(W/m2)", "tmax(C)", "tmin(C)", "vp(Pa)", "dayl(s)"};
}

std::vector<std::string> DefaultCamelsStaticAttributes() {
  return {"elev_mean",
          "slope_mean",
          "area_gages2",
          "frac_forest",
          "lai_max",
          "lai_diff",
          "gvf_max",
          "gvf_diff",
          "soil_depth_pelletier",
          "soil_depth_statsgo",
          "soil_porosity",
          "soil_conductivity",
          "max_water_content",
          "sand_frac",
          "silt_frac",
          "clay_frac",
          "carbonate_rocks_frac",
          "geol_permeability",
          "p_mean",
          "pet_mean",
          "aridity",
          "frac_snow",
          "high_prec_freq",
          "high_prec_dur",
          "low_prec_freq",
          "low_prec_dur"};
}

Result<std::vector<std::string>> ListCamelsBasins(const std::string& dir) {
  const fs::path forcing = fs::path(dir) / "forcing_daymet";
  std::error_code ec;
  if (!fs::is_directory(forcing, ec)) {
    return Status::NotFound("CAMELS-US: no folder ", forcing.string());
  }
  const std::string suffix = "_lump_cida_forcing_leap.txt";
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(forcing, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name.substr(0, name.size() - suffix.size()));
    }
  }
  if (ec) return Status::IOError("CAMELS-US: cannot list ", forcing.string(), ": ", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Result<BasinSeries> ReadCamelsBasin(const std::string& dir, const std::string& gauge,
                                    const std::vector<std::string>& dynamic_inputs) {
  BasinSeries basin;
  basin.gauge_id = gauge;
  basin.dynamic_names = dynamic_inputs;
  const std::string what = "CAMELS-US basin " + gauge;

  // Forcings: three header values, the column header, then one row per day.
  const std::string fpath =
      (fs::path(dir) / "forcing_daymet" / (gauge + "_lump_cida_forcing_leap.txt")).string();
  DRC_ASSIGN_OR_RETURN(auto lines, ReadLines(fpath, what + " forcings"));
  if (lines.size() < 4) {
    return Status::InvalidArgument(fpath, ": ", lines.size(),
                                   " lines; expected latitude, elevation, area (m²) and a column "
                                   "header before the data");
  }
  const char* header_fields[] = {"latitude", "elevation", "area (m²)"};
  double* header_values[] = {&basin.latitude, &basin.elevation, &basin.area_m2};
  for (int i = 0; i < 3; ++i) {
    if (!ParseNumber(lines[i], header_values[i])) {
      return BadNumber(fpath, i + 1, header_fields[i], lines[i]);
    }
  }
  if (!(basin.area_m2 > 0)) {
    return Status::InvalidArgument(fpath, ":3: field 'area (m²)': must be > 0, got ",
                                   basin.area_m2);
  }
  const auto header = SplitWhitespace(lines[3]);
  const std::vector<std::string> columns(header.begin(), header.end());
  const std::vector<std::string> date_columns = {"Year", "Mnth", "Day"};
  for (size_t i = 0; i < date_columns.size(); ++i) {
    if (columns.size() <= i || columns[i] != date_columns[i]) {
      return Status::InvalidArgument(fpath, ":4: the header must start with Year Mnth Day, got '",
                                     lines[3], "'");
    }
  }
  std::vector<size_t> wanted;
  for (const auto& name : dynamic_inputs) {
    auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) {
      return Status::NotFound(fpath, ":4: no forcing column '", name, "' (header: ", lines[3], ")");
    }
    wanted.push_back(static_cast<size_t>(it - columns.begin()));
  }
  const size_t nf = dynamic_inputs.size();
  for (size_t i = 4; i < lines.size(); ++i) {
    const int line = static_cast<int>(i + 1);
    if (IsBlank(lines[i])) continue;
    const auto fields = SplitWhitespace(lines[i]);
    if (fields.size() != columns.size()) {
      return Status::InvalidArgument(fpath, ":", line, ": ragged row: ", fields.size(),
                                     " fields, the header has ", columns.size());
    }
    DRC_ASSIGN_OR_RETURN(Day day, DateFromFields(fpath, line, fields[0], fields[1], fields[2]));
    if (!basin.days.empty() && day != basin.days.back() + 1) {
      return Status::InvalidArgument(fpath, ":", line, ": date ", FormatDay(day), " follows ",
                                     FormatDay(basin.days.back()),
                                     "; expected one row per consecutive day");
    }
    basin.days.push_back(day);
    for (size_t k = 0; k < nf; ++k) {
      double v;
      if (!ParseNumber(fields[wanted[k]], &v)) {
        return BadNumber(fpath, line, dynamic_inputs[k], fields[wanted[k]]);
      }
      basin.dynamic.push_back(v);
    }
  }
  if (basin.days.empty()) return Status::InvalidArgument(fpath, ": no data rows");

  // Streamflow: gauge year month day flow qc_flag, joined on the forcing days.
  const std::string qpath =
      (fs::path(dir) / "streamflow" / (gauge + "_streamflow_qc.txt")).string();
  DRC_ASSIGN_OR_RETURN(auto qlines, ReadLines(qpath, what + " streamflow"));
  basin.qobs_mm_day.assign(basin.days.size(), std::nan(""));
  const double to_mm_day = kCubicFootM3 * 86400.0 * 1000.0 / basin.area_m2;
  for (size_t i = 0; i < qlines.size(); ++i) {
    const int line = static_cast<int>(i + 1);
    if (IsBlank(qlines[i])) continue;
    const auto fields = SplitWhitespace(qlines[i]);
    if (fields.size() != 6) {
      return Status::InvalidArgument(qpath, ":", line, ": ragged row: ", fields.size(),
                                     " fields; expected 6 (gauge year month day flow qc_flag)");
    }
    if (fields[0] != gauge) {
      return Status::InvalidArgument(qpath, ":", line, ": field 'gauge': '", std::string(fields[0]),
                                     "', expected '", gauge, "'");
    }
    DRC_ASSIGN_OR_RETURN(Day day, DateFromFields(qpath, line, fields[1], fields[2], fields[3]));
    double flow;
    if (!ParseNumber(fields[4], &flow)) return BadNumber(qpath, line, "flow", fields[4]);
    const int64_t index = static_cast<int64_t>(day) - basin.days.front();
    if (index < 0 || index >= static_cast<int64_t>(basin.days.size())) continue;
    basin.qobs_mm_day[static_cast<size_t>(index)] = flow < 0 ? std::nan("") : flow * to_mm_day;
  }
  return basin;
}

Result<std::vector<std::vector<double>>> ReadCamelsAttributes(
    const std::string& dir, const std::vector<std::string>& gauges,
    const std::vector<std::string>& names) {
  const fs::path folder = fs::path(dir) / "attributes";
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return Status::NotFound("CAMELS-US attributes: no folder ", folder.string());
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("camels_", 0) == 0 && entry.path().extension() == ".txt") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return Status::NotFound("CAMELS-US attributes: no camels_*.txt in ", folder.string());
  }
  std::unordered_map<std::string, size_t> gauge_index;
  for (size_t g = 0; g < gauges.size(); ++g) gauge_index[gauges[g]] = g;
  std::unordered_map<std::string, size_t> name_index;
  for (size_t a = 0; a < names.size(); ++a) name_index[names[a]] = a;

  std::vector<std::vector<double>> out(gauges.size(), std::vector<double>(names.size()));
  std::vector<bool> name_found(names.size(), false);
  std::vector<std::string> all_columns;
  for (const auto& path : files) {
    DRC_ASSIGN_OR_RETURN(auto lines, ReadLines(path, "CAMELS-US attributes"));
    if (lines.empty()) return Status::InvalidArgument(path, ": empty file");
    const auto header = SplitOn(lines[0], ';');
    if (header.empty() || Trim(header[0]) != "gauge_id") {
      return Status::InvalidArgument(path, ":1: the first column must be gauge_id");
    }
    // (column in this file, attribute index) of the attributes this file has.
    std::vector<std::pair<size_t, size_t>> here;
    for (size_t c = 1; c < header.size(); ++c) {
      const std::string column(Trim(header[c]));
      all_columns.push_back(column);
      auto it = name_index.find(column);
      if (it != name_index.end() && !name_found[it->second]) {
        here.emplace_back(c, it->second);
        name_found[it->second] = true;
      }
    }
    std::vector<bool> gauge_found(gauges.size(), false);
    for (size_t i = 1; i < lines.size(); ++i) {
      const int line = static_cast<int>(i + 1);
      if (IsBlank(lines[i])) continue;
      const auto fields = SplitOn(lines[i], ';');
      if (fields.size() != header.size()) {
        return Status::InvalidArgument(path, ":", line, ": ragged row: ", fields.size(),
                                       " fields, the header has ", header.size());
      }
      auto g = gauge_index.find(std::string(Trim(fields[0])));
      if (g == gauge_index.end()) continue;
      gauge_found[g->second] = true;
      for (auto [c, a] : here) {
        if (!ParseNumber(fields[c], &out[g->second][a], /*allow_na=*/true)) {
          return BadNumber(path, line, names[a], fields[c]);
        }
      }
    }
    if (!here.empty()) {
      for (size_t g = 0; g < gauges.size(); ++g) {
        if (!gauge_found[g]) {
          return Status::NotFound("CAMELS-US attributes: unknown gauge '", gauges[g], "' (not in ",
                                  path, ")");
        }
      }
    }
  }
  for (size_t a = 0; a < names.size(); ++a) {
    if (!name_found[a]) {
      return Status::NotFound("CAMELS-US attributes: unknown attribute '", names[a], "' (",
                              folder.string(), "/camels_*.txt have: ", JoinList(all_columns), ")");
    }
  }
  return out;
}

}  // namespace drc::dl
