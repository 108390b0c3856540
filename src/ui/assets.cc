#include "ui/assets.h"

#include <string>
#include <vector>

#include "ui/embedded.h"

namespace mlfaas::ui {
namespace {

std::string_view TypeOf(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

struct Table {
  std::vector<std::string> etags;  // owns the quoted etags the assets point at
  std::vector<Asset> assets;
  Table() {
    size_t n = 0;
    while (detail::kEmbedded[n].name) ++n;
    etags.reserve(n);
    assets.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const auto& f = detail::kEmbedded[i];
      etags.push_back("\"" + std::string(f.etag) + "\"");
      assets.push_back(Asset{f.name, TypeOf(f.name),
                             std::string_view(reinterpret_cast<const char*>(f.data), f.size),
                             etags.back()});
    }
  }
};

const Table& Get() {
  static const Table table;
  return table;
}

}  // namespace

const Asset* FindAsset(std::string_view name) {
  for (const Asset& a : Get().assets) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool ChartLibraryVendored() { return FindAsset("uplot.js") != nullptr; }

std::string_view ChartJs() {
  const Asset* a = FindAsset("uplot.js");
  return a ? a->body : std::string_view();
}

std::string_view ChartCss() {
  const Asset* a = FindAsset("uplot.css");
  return a ? a->body : std::string_view();
}

}  // namespace mlfaas::ui
