// Reading a YAML file's fields into values with errors that name file:line:column and the
// field (task files, pipeline files). yaml-cpp throws; callers wrap their calls in a try block
// that turns YAML::Exception into a Status. Include only in the sources that parse files; link
// yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <vector>

#include "drc/common/status.h"
#include "drc/common/strings.h"

namespace drc {

// A yaml-cpp exception as InvalidArgument "file:line:column: ...".
inline Status YamlExceptionStatus(const std::string& file, const YAML::Exception& e) {
  if (dynamic_cast<const YAML::ParserException*>(&e) != nullptr) {
    return Status::InvalidArgument(file, ":", e.mark.line + 1, ":", e.mark.column + 1,
                                   ": malformed YAML: ", e.msg);
  }
  return Status::InvalidArgument(file, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg);
}

class YamlFields {
 public:
  explicit YamlFields(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  // InvalidArgument "file:line:column: message" at the node (or "file: message" without one).
  Status Error(const YAML::Node& node, const std::string& message) const {
    const YAML::Mark m = node.Mark();
    if (m.is_null()) return Status::InvalidArgument(file_, ": ", message);
    return Status::InvalidArgument(file_, ":", m.line + 1, ":", m.column + 1, ": ", message);
  }

  // Rejects keys outside `known`, suggesting the closest.
  Status CheckKeys(const YAML::Node& map, const std::vector<std::string>& known,
                   const std::string& where) const {
    if (!map.IsMap()) return Error(map, where + " must be a mapping");
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const std::string best = ClosestName(key, known);
      return Error(kv.first, "unknown field '" + key + "' in " + where +
                                 (best.empty() ? "" : " (did you mean '" + best + "'?)"));
    }
    return Status::OK();
  }

  // Reads the scalar map[key] into `out`, leaving it as it is when the key is absent.
  template <typename T>
  Status Get(const YAML::Node& map, const char* key, T& out, const char* expected) const {
    const YAML::Node n = map[key];
    if (!n) return Status::OK();
    if (!n.IsScalar()) return Error(n, std::string("field '") + key + "' expects " + expected);
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      return Error(
          n, std::string("field '") + key + "' expects " + expected + ", got '" + n.Scalar() + "'");
    }
    return Status::OK();
  }

  // A list of strings, or one string for a list of one.
  Status GetList(const YAML::Node& map, const char* key, std::vector<std::string>& out) const {
    const YAML::Node n = map[key];
    if (!n) return Status::OK();
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return Status::OK();
    }
    if (!n.IsSequence()) {
      return Error(n, std::string("field '") + key + "' expects a list of strings");
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        return Error(item, std::string("field '") + key + "' expects a list of strings");
      }
      out.push_back(item.Scalar());
    }
    return Status::OK();
  }

 private:
  std::string file_;
};

}  // namespace drc
