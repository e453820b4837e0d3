// Lookups in the generated model table (model_table.cpp).
#include <algorithm>

#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {

const ModelDef* find_model(std::uint16_t id) noexcept {
  const auto models = decoded_models();
  const auto it = std::lower_bound(models.begin(), models.end(), id,
                                   [](const ModelDef& m, std::uint16_t v) { return m.id < v; });
  return it != models.end() && it->id == id ? &*it : nullptr;
}

std::string_view model_name(std::uint16_t id) noexcept {
  const auto names = model_names();
  const auto it = std::lower_bound(names.begin(), names.end(), id,
                                   [](const ModelName& m, std::uint16_t v) { return m.id < v; });
  return it != names.end() && it->id == id ? std::string_view(it->name) : std::string_view();
}

}  // namespace fieldgate::sunspec
