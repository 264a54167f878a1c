#include "schema_checker.h"

#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace subcell::testing {

struct SchemaChecker::Impl {
  nlohmann::json document;
  std::map<std::string, std::unique_ptr<valijson::Schema>> compiled;
  std::mutex mutex;

  valijson::Schema& schema_for(const std::string& name) {
    auto it = compiled.find(name);
    if (it != compiled.end()) return *it->second;
    // A small wrapper document whose root refers to the definition, so
    // that "#/definitions/..." references resolve.
    nlohmann::json wrapper = {{"$ref", "#/definitions/" + name}, {"definitions", document["definitions"]}};
    auto schema = std::make_unique<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(wrapper);
    parser.populateSchema(adapter, *schema);
    return *compiled.emplace(name, std::move(schema)).first->second;
  }
};

SchemaChecker::SchemaChecker(const std::string& path) : impl_(std::make_unique<Impl>()) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  impl_->document = nlohmann::json::parse(in);
}

SchemaChecker::~SchemaChecker() = default;

bool SchemaChecker::has(const std::string& name) const { return impl_->document["definitions"].contains(name); }

std::vector<std::string> SchemaChecker::check(const std::string& name, const nlohmann::json& value) {
  std::lock_guard lock(impl_->mutex);
  if (!has(name)) return {"the schema has no definition '" + name + "'"};
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  std::vector<std::string> errors;
  if (!validator.validate(impl_->schema_for(name), target, &results)) {
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
      std::string where;
      for (const std::string& part : error.context) where += part;
      errors.push_back(name + " " + where + ": " + error.description);
    }
    if (errors.empty()) errors.push_back(name + ": invalid");
    errors.push_back("  in: " + value.dump().substr(0, 600));
  }
  return errors;
}

std::shared_ptr<SchemaChecker> SchemaChecker::shared() {
  static std::shared_ptr<SchemaChecker> checker = std::make_shared<SchemaChecker>(SUBCELL_SCHEMA);
  return checker;
}

std::string definition_name(const std::string& method) {
  std::string name = method;
  for (char& c : name) {
    if (c == '/') c = '.';
  }
  return name;
}

}  // namespace subcell::testing
