#include "package/manifest.h"

#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "common/sha256.h"
#include "model/model_kind.h"
#include "model/predictor.h"

namespace mlfaas::package {
namespace {

using nlohmann::json;

constexpr const char* kFeatureType = "float64";

Status FieldError(std::string_view field, std::string_view what) {
  return InvalidArgument("manifest field '" + std::string(field) + "' " + std::string(what));
}

// Returns the member `key` of `obj` (named `path` in errors) if present and of the wanted type.
StatusOr<const json*> Member(const json& obj, const std::string& key, const std::string& path,
                             json::value_t type) {
  auto it = obj.find(key);
  if (it == obj.end()) return FieldError(path, "is missing");
  bool ok = it->type() == type;
  const char* want = "of the right type";
  switch (type) {
    case json::value_t::string:
      want = "a string";
      break;
    case json::value_t::object:
      want = "an object";
      break;
    case json::value_t::array:
      want = "an array";
      break;
    case json::value_t::number_float:
      ok = it->is_number();
      want = "a number";
      break;
    case json::value_t::number_integer:
      ok = it->is_number_integer();
      want = "an integer";
      break;
    default:
      break;
  }
  if (!ok) return FieldError(path, std::string("must be ") + want);
  return &*it;
}

StatusOr<std::string> String(const json& obj, const std::string& key, const std::string& path) {
  MLFAAS_ASSIGN_OR_RETURN(const json* v, Member(obj, key, path, json::value_t::string));
  return v->get<std::string>();
}

StatusOr<double> Number(const json& obj, const std::string& key, const std::string& path) {
  MLFAAS_ASSIGN_OR_RETURN(const json* v, Member(obj, key, path, json::value_t::number_float));
  double d = v->get<double>();
  if (!std::isfinite(d)) return FieldError(path, "must be finite");
  return d;
}

StatusOr<std::vector<double>> Numbers(const json& obj, const std::string& key,
                                      const std::string& path, size_t n) {
  MLFAAS_ASSIGN_OR_RETURN(const json* v, Member(obj, key, path, json::value_t::array));
  if (v->size() != n) {
    return FieldError(path, "must hold " + std::to_string(n) + " numbers (one per feature)");
  }
  std::vector<double> out;
  for (const json& e : *v) {
    if (!e.is_number() || !std::isfinite(e.get<double>())) {
      return FieldError(path, "must hold finite numbers");
    }
    out.push_back(e.get<double>());
  }
  return out;
}

Status ParseFeatures(const json& j, model::LinearModel* m) {
  MLFAAS_ASSIGN_OR_RETURN(const json* fs, Member(j, "features", "features", json::value_t::array));
  if (fs->empty()) return FieldError("features", "must not be empty");
  for (size_t i = 0; i < fs->size(); ++i) {
    const std::string path = "features[" + std::to_string(i) + "]";
    const json& f = (*fs)[i];
    if (!f.is_object()) return FieldError(path, "must be an object");
    MLFAAS_ASSIGN_OR_RETURN(std::string name, String(f, "name", path + ".name"));
    MLFAAS_ASSIGN_OR_RETURN(std::string type, String(f, "type", path + ".type"));
    if (type != kFeatureType) return FieldError(path + ".type", "must be \"float64\"");
    m->features.push_back(std::move(name));
  }
  return Status::Ok();
}

// preprocessing = [{"step":"transform",...}, {"step":"standardize",...}], in this order.
Status ParsePreprocessing(const json& j, model::LinearModel* m) {
  MLFAAS_ASSIGN_OR_RETURN(const json* pp,
                          Member(j, "preprocessing", "preprocessing", json::value_t::array));
  if (pp->size() != 2 || !(*pp)[0].is_object() || !(*pp)[1].is_object()) {
    return FieldError("preprocessing", "must hold two objects: transform, standardize");
  }
  const json& t = (*pp)[0];
  MLFAAS_ASSIGN_OR_RETURN(std::string step0, String(t, "step", "preprocessing[0].step"));
  if (step0 != "transform") return FieldError("preprocessing[0].step", "must be \"transform\"");
  MLFAAS_ASSIGN_OR_RETURN(std::string fn, String(t, "function", "preprocessing[0].function"));
  if (!model::ParseTransform(fn, &m->transform)) {
    return FieldError("preprocessing[0].function", "must be \"log0.1\" or \"none\"");
  }
  const json& s = (*pp)[1];
  MLFAAS_ASSIGN_OR_RETURN(std::string step1, String(s, "step", "preprocessing[1].step"));
  if (step1 != "standardize") {
    return FieldError("preprocessing[1].step", "must be \"standardize\"");
  }
  const size_t d = m->features.size();
  MLFAAS_ASSIGN_OR_RETURN(m->mean, Numbers(s, "mean", "preprocessing[1].mean", d));
  MLFAAS_ASSIGN_OR_RETURN(m->scale, Numbers(s, "scale", "preprocessing[1].scale", d));
  return Status::Ok();
}

// Another kind (model/model_kind.h): features, preprocessing = [{"step":"transform",...}],
// threshold, and the kind's "model" object, which its loader validates.
Status ParseOtherKind(const json& j, const model::ModelKind& kind, model::LinearModel* m,
                      json* params) {
  MLFAAS_RETURN_IF_ERROR(ParseFeatures(j, m));
  MLFAAS_ASSIGN_OR_RETURN(const json* pp,
                          Member(j, "preprocessing", "preprocessing", json::value_t::array));
  if (pp->size() != 1 || !(*pp)[0].is_object()) {
    return FieldError("preprocessing", "must hold one object: transform");
  }
  MLFAAS_ASSIGN_OR_RETURN(std::string step, String((*pp)[0], "step", "preprocessing[0].step"));
  if (step != "transform") return FieldError("preprocessing[0].step", "must be \"transform\"");
  MLFAAS_ASSIGN_OR_RETURN(std::string fn,
                          String((*pp)[0], "function", "preprocessing[0].function"));
  if (!model::ParseTransform(fn, &m->transform)) {
    return FieldError("preprocessing[0].function", "must be \"log0.1\" or \"none\"");
  }
  MLFAAS_ASSIGN_OR_RETURN(m->threshold, Number(j, "threshold", "threshold"));
  MLFAAS_ASSIGN_OR_RETURN(const json* p, Member(j, "model", "model", json::value_t::object));
  Status st = model::Predictor::ValidateInputs(*m);
  if (st.ok()) st = kind.load(*p, m->features.size()).status();
  if (!st.ok()) return InvalidArgument("manifest model is invalid: " + st.message());
  *params = *p;
  return Status::Ok();
}

Status ParseModel(const json& j, model::LinearModel* m) {
  MLFAAS_RETURN_IF_ERROR(ParseFeatures(j, m));
  MLFAAS_RETURN_IF_ERROR(ParsePreprocessing(j, m));
  MLFAAS_ASSIGN_OR_RETURN(m->coef, Numbers(j, "coefficients", "coefficients", m->features.size()));
  MLFAAS_ASSIGN_OR_RETURN(m->intercept, Number(j, "intercept", "intercept"));
  MLFAAS_ASSIGN_OR_RETURN(m->threshold, Number(j, "threshold", "threshold"));
  Status st = model::Predictor::Validate(*m);
  if (!st.ok()) return InvalidArgument("manifest model is invalid: " + st.message());
  return Status::Ok();
}

Status ParseRows(const json& j, json* rows) {
  MLFAAS_ASSIGN_OR_RETURN(const json* r, Member(j, "rows", "rows", json::value_t::object));
  for (const char* key : {"train", "test"}) {
    const std::string path = std::string("rows.") + key;
    MLFAAS_ASSIGN_OR_RETURN(const json* v, Member(*r, key, path, json::value_t::number_integer));
    if (v->get<int64_t>() < 0) return FieldError(path, "must be >= 0");
  }
  *rows = *r;
  return Status::Ok();
}

}  // namespace

json ToJson(const Manifest& m) {
  json features = json::array();
  for (const std::string& f : m.model.features) {
    features.push_back({{"name", f}, {"type", kFeatureType}});
  }
  const bool linear = m.kind == model::kLogisticRegression;
  json preprocessing = json::array({
      {{"step", "transform"}, {"function", model::TransformName(m.model.transform)}},
  });
  if (linear) {
    preprocessing.push_back(
        {{"step", "standardize"}, {"mean", m.model.mean}, {"scale", m.model.scale}});
  }
  json j = {
      {"format_version", m.format_version},
      {"name", m.name},
      {"kind", m.kind},
      {"features", features},
      {"preprocessing", preprocessing},
      {"threshold", m.model.threshold},
      {"metrics", m.metrics.is_null() ? json::object() : m.metrics},
      {"training_data_sha256", m.training_data_sha256},
      {"rows", m.rows.is_null() ? json::object() : m.rows},
      {"training", m.training.is_null() ? json::object() : m.training},
      {"created_at", m.created_at},
      {"producer", m.producer},
  };
  if (linear) {
    j["coefficients"] = m.model.coef;
    j["intercept"] = m.model.intercept;
  } else {
    j["model"] = m.params.is_null() ? json::object() : m.params;
  }
  if (!m.digest.empty()) j["digest"] = m.digest;
  return j;
}

StatusOr<Manifest> ManifestFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("manifest must be a JSON object");
  Manifest m;
  MLFAAS_ASSIGN_OR_RETURN(
      const json* fv, Member(j, "format_version", "format_version", json::value_t::number_integer));
  if (fv->get<int64_t>() != kFormatVersion) {
    return InvalidArgument("unsupported package format_version " + fv->dump() +
                           " (this mlfaas reads " + std::to_string(kFormatVersion) + ")");
  }
  MLFAAS_ASSIGN_OR_RETURN(m.name, String(j, "name", "name"));
  if (m.name.empty()) return FieldError("name", "must not be empty");
  MLFAAS_ASSIGN_OR_RETURN(m.kind, String(j, "kind", "kind"));
  const model::ModelKind* kind = model::FindModelKind(m.kind);
  if (!kind) {
    return FieldError("kind",
                      "must be one of " + model::ModelKindNames() + " (got \"" + m.kind + "\")");
  }
  if (kind->load) {
    MLFAAS_RETURN_IF_ERROR(ParseOtherKind(j, *kind, &m.model, &m.params));
  } else {
    MLFAAS_RETURN_IF_ERROR(ParseModel(j, &m.model));
  }
  MLFAAS_ASSIGN_OR_RETURN(const json* metrics,
                          Member(j, "metrics", "metrics", json::value_t::object));
  m.metrics = *metrics;
  MLFAAS_ASSIGN_OR_RETURN(m.training_data_sha256,
                          String(j, "training_data_sha256", "training_data_sha256"));
  MLFAAS_RETURN_IF_ERROR(ParseRows(j, &m.rows));
  MLFAAS_ASSIGN_OR_RETURN(const json* training,
                          Member(j, "training", "training", json::value_t::object));
  m.training = *training;
  MLFAAS_ASSIGN_OR_RETURN(m.created_at, String(j, "created_at", "created_at"));
  MLFAAS_ASSIGN_OR_RETURN(m.producer, String(j, "producer", "producer"));
  if (j.contains("digest")) {
    MLFAAS_ASSIGN_OR_RETURN(m.digest, String(j, "digest", "digest"));
  }
  return m;
}

std::string CanonicalContent(const json& manifest_json) {
  json j = manifest_json;
  j.erase("digest");
  j.erase("created_at");
  return j.dump();
}

std::string ComputeDigest(const json& manifest_json) {
  return Sha256Hex(CanonicalContent(manifest_json));
}

}  // namespace mlfaas::package
