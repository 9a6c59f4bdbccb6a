#include "placement.hpp"

#include <algorithm>

namespace hms::hub {

namespace {

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool eligible(const DockCandidate& d, const std::vector<std::string>& tags) {
  if (tags.empty()) return d.is_default;
  if (contains(tags, d.id)) return true;
  if (d.tags)
    for (const auto& t : *d.tags)
      if (contains(tags, t)) return true;
  return false;
}

}  // namespace

std::vector<std::string> choose_docks(const Service& s, const std::vector<DockCandidate>& docks, std::mt19937& rng) {
  static const std::vector<std::string> kNone;
  const std::vector<std::string>& tags = s.tags ? *s.tags : kNone;
  std::vector<std::string> valid;
  for (const auto& d : docks)
    if (eligible(d, tags)) valid.emplace_back(d.id);
  if (!s.limit) return valid;
  std::vector<std::string> chosen;
  for (const auto& cur : s.docks ? *s.docks : kNone)
    if (contains(valid, cur)) chosen.push_back(cur);
  const auto limit = static_cast<std::size_t>(std::max(0.0, *s.limit));
  if (chosen.size() > limit) chosen.resize(limit);
  std::shuffle(valid.begin(), valid.end(), rng);
  for (std::size_t i = 0; i < valid.size() && chosen.size() < limit; ++i)
    if (!contains(chosen, valid[i])) chosen.push_back(valid[i]);
  return chosen;
}

}  // namespace hms::hub
