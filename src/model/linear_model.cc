#include "model/linear_model.h"

namespace mlfaas::model {

const char* TransformName(Transform t) {
  switch (t) {
    case Transform::kNone:
      return "none";
    case Transform::kLog01:
      return "log0.1";
  }
  return "none";
}

bool ParseTransform(const std::string& name, Transform* out) {
  if (name == "none") {
    *out = Transform::kNone;
    return true;
  }
  if (name == "log0.1") {
    *out = Transform::kLog01;
    return true;
  }
  return false;
}

}  // namespace mlfaas::model
