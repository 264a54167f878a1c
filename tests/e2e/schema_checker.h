// Validates protocol messages against protocol/subcell.schema.json with
// valijson (Debian's libvalijson-dev).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace subcell::testing {

class SchemaChecker {
 public:
  explicit SchemaChecker(const std::string& path);
  ~SchemaChecker();

  // Errors for `value` against definition `name` ("cell.run.result"); empty
  // when valid. An unknown definition is an error too.
  std::vector<std::string> check(const std::string& name, const nlohmann::json& value);
  bool has(const std::string& name) const;

  static std::shared_ptr<SchemaChecker> shared();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "cell/run" -> "cell.run"
std::string definition_name(const std::string& method);

}  // namespace subcell::testing
