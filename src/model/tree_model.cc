#include "model/tree_model.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <exception>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace mlfaas::model {
namespace {

// Names in this anonymous namespace carry an Xgb prefix: unity builds compile the files of
// mlfaas_model as one translation unit.

using XgbJson = nlohmann::json;

Status XgbError(std::string message) { return InvalidArgument("xgboost model: " + message); }

// Where a value sits in the document, as far as the reader cares. Everything else is kIgnored
// (read for well-formedness, then dropped).
enum class XgbCtx : uint8_t {
  kIgnored,
  kElement,  // an element of a number array (the array is the enclosing frame)
  kRoot,
  kVersion,
  kLearner,
  kGradientBooster,
  kBoosterName,
  kModel,
  kModelParam,
  kNumTrees,
  kNumParallelTree,
  kModelSizeLeafVector,
  kTreeInfo,
  kTrees,
  kTree,
  kLeftChildren,
  kRightChildren,
  kSplitIndices,
  kSplitConditions,
  kDefaultLeft,
  kSplitType,
  kCategories,
  kCategoriesNodes,
  kCategoriesSegments,
  kCategoriesSizes,
  kTreeParam,
  kNumNodes,
  kTreeSizeLeafVector,
  kLearnerModelParam,
  kBaseScore,
  kNumClass,
  kNumFeature,
  kNumTarget,
  kObjective,
  kObjectiveName,
  kCount,
};
static_assert(static_cast<int>(XgbCtx::kCount) <= 64, "seen-key bits fit a uint64_t");

constexpr uint64_t XgbBit(XgbCtx c) { return uint64_t{1} << static_cast<int>(c); }

bool XgbIsObject(XgbCtx c) {
  switch (c) {
    case XgbCtx::kRoot:
    case XgbCtx::kLearner:
    case XgbCtx::kGradientBooster:
    case XgbCtx::kModel:
    case XgbCtx::kModelParam:
    case XgbCtx::kTree:
    case XgbCtx::kTreeParam:
    case XgbCtx::kLearnerModelParam:
    case XgbCtx::kObjective:
      return true;
    default:
      return false;
  }
}

bool XgbIsNumberArray(XgbCtx c) {
  switch (c) {
    case XgbCtx::kVersion:
    case XgbCtx::kTreeInfo:
    case XgbCtx::kLeftChildren:
    case XgbCtx::kRightChildren:
    case XgbCtx::kSplitIndices:
    case XgbCtx::kSplitConditions:
    case XgbCtx::kDefaultLeft:
    case XgbCtx::kSplitType:
    case XgbCtx::kCategories:
    case XgbCtx::kCategoriesNodes:
    case XgbCtx::kCategoriesSegments:
    case XgbCtx::kCategoriesSizes:
      return true;
    default:
      return false;
  }
}

bool XgbIsString(XgbCtx c) {
  switch (c) {
    case XgbCtx::kBoosterName:
    case XgbCtx::kNumTrees:
    case XgbCtx::kNumParallelTree:
    case XgbCtx::kModelSizeLeafVector:
    case XgbCtx::kNumNodes:
    case XgbCtx::kTreeSizeLeafVector:
    case XgbCtx::kBaseScore:
    case XgbCtx::kNumClass:
    case XgbCtx::kNumFeature:
    case XgbCtx::kNumTarget:
    case XgbCtx::kObjectiveName:
      return true;
    default:
      return false;
  }
}

// The field's path in the document, for messages.
std::string XgbPath(XgbCtx c, size_t tree) {
  const char* name = "";
  switch (c) {
    case XgbCtx::kRoot:
      return "the document";
    case XgbCtx::kVersion:
      return "version";
    case XgbCtx::kLearner:
      return "learner";
    case XgbCtx::kGradientBooster:
      return "learner.gradient_booster";
    case XgbCtx::kBoosterName:
      return "learner.gradient_booster.name";
    case XgbCtx::kModel:
      return "learner.gradient_booster.model";
    case XgbCtx::kModelParam:
      return "learner.gradient_booster.model.gbtree_model_param";
    case XgbCtx::kNumTrees:
      return "gbtree_model_param.num_trees";
    case XgbCtx::kNumParallelTree:
      return "gbtree_model_param.num_parallel_tree";
    case XgbCtx::kModelSizeLeafVector:
      return "gbtree_model_param.size_leaf_vector";
    case XgbCtx::kTreeInfo:
      return "learner.gradient_booster.model.tree_info";
    case XgbCtx::kTrees:
      return "learner.gradient_booster.model.trees";
    case XgbCtx::kLearnerModelParam:
      return "learner.learner_model_param";
    case XgbCtx::kBaseScore:
      return "learner_model_param.base_score";
    case XgbCtx::kNumClass:
      return "learner_model_param.num_class";
    case XgbCtx::kNumFeature:
      return "learner_model_param.num_feature";
    case XgbCtx::kNumTarget:
      return "learner_model_param.num_target";
    case XgbCtx::kObjective:
      return "learner.objective";
    case XgbCtx::kObjectiveName:
      return "learner.objective.name";
    case XgbCtx::kTree:
      name = "";
      break;
    case XgbCtx::kLeftChildren:
      name = ".left_children";
      break;
    case XgbCtx::kRightChildren:
      name = ".right_children";
      break;
    case XgbCtx::kSplitIndices:
      name = ".split_indices";
      break;
    case XgbCtx::kSplitConditions:
      name = ".split_conditions";
      break;
    case XgbCtx::kDefaultLeft:
      name = ".default_left";
      break;
    case XgbCtx::kSplitType:
      name = ".split_type";
      break;
    case XgbCtx::kCategories:
      name = ".categories";
      break;
    case XgbCtx::kCategoriesNodes:
      name = ".categories_nodes";
      break;
    case XgbCtx::kCategoriesSegments:
      name = ".categories_segments";
      break;
    case XgbCtx::kCategoriesSizes:
      name = ".categories_sizes";
      break;
    case XgbCtx::kTreeParam:
      name = ".tree_param";
      break;
    case XgbCtx::kNumNodes:
      name = ".tree_param.num_nodes";
      break;
    case XgbCtx::kTreeSizeLeafVector:
      name = ".tree_param.size_leaf_vector";
      break;
    default:
      return "?";
  }
  return "trees[" + std::to_string(tree) + "]" + name;
}

// The fields the reader keeps, by their parent.
XgbCtx XgbChild(XgbCtx parent, std::string_view key) {
  struct Entry {
    XgbCtx parent;
    std::string_view key;
    XgbCtx child;
  };
  static constexpr Entry kFields[] = {
      {XgbCtx::kRoot, "version", XgbCtx::kVersion},
      {XgbCtx::kRoot, "learner", XgbCtx::kLearner},
      {XgbCtx::kLearner, "gradient_booster", XgbCtx::kGradientBooster},
      {XgbCtx::kLearner, "learner_model_param", XgbCtx::kLearnerModelParam},
      {XgbCtx::kLearner, "objective", XgbCtx::kObjective},
      {XgbCtx::kGradientBooster, "name", XgbCtx::kBoosterName},
      {XgbCtx::kGradientBooster, "model", XgbCtx::kModel},
      {XgbCtx::kModel, "gbtree_model_param", XgbCtx::kModelParam},
      {XgbCtx::kModel, "tree_info", XgbCtx::kTreeInfo},
      {XgbCtx::kModel, "trees", XgbCtx::kTrees},
      {XgbCtx::kModelParam, "num_trees", XgbCtx::kNumTrees},
      {XgbCtx::kModelParam, "num_parallel_tree", XgbCtx::kNumParallelTree},
      {XgbCtx::kModelParam, "size_leaf_vector", XgbCtx::kModelSizeLeafVector},
      {XgbCtx::kTree, "left_children", XgbCtx::kLeftChildren},
      {XgbCtx::kTree, "right_children", XgbCtx::kRightChildren},
      {XgbCtx::kTree, "split_indices", XgbCtx::kSplitIndices},
      {XgbCtx::kTree, "split_conditions", XgbCtx::kSplitConditions},
      {XgbCtx::kTree, "default_left", XgbCtx::kDefaultLeft},
      {XgbCtx::kTree, "split_type", XgbCtx::kSplitType},
      {XgbCtx::kTree, "categories", XgbCtx::kCategories},
      {XgbCtx::kTree, "categories_nodes", XgbCtx::kCategoriesNodes},
      {XgbCtx::kTree, "categories_segments", XgbCtx::kCategoriesSegments},
      {XgbCtx::kTree, "categories_sizes", XgbCtx::kCategoriesSizes},
      {XgbCtx::kTree, "tree_param", XgbCtx::kTreeParam},
      {XgbCtx::kTreeParam, "num_nodes", XgbCtx::kNumNodes},
      {XgbCtx::kTreeParam, "size_leaf_vector", XgbCtx::kTreeSizeLeafVector},
      {XgbCtx::kLearnerModelParam, "base_score", XgbCtx::kBaseScore},
      {XgbCtx::kLearnerModelParam, "num_class", XgbCtx::kNumClass},
      {XgbCtx::kLearnerModelParam, "num_feature", XgbCtx::kNumFeature},
      {XgbCtx::kLearnerModelParam, "num_target", XgbCtx::kNumTarget},
      {XgbCtx::kObjective, "name", XgbCtx::kObjectiveName},
  };
  for (const Entry& e : kFields) {
    if (e.parent == parent && e.key == key) return e.child;
  }
  return XgbCtx::kIgnored;
}

// Decimal without sign or spaces, as xgboost writes its integer parameters.
std::optional<uint64_t> XgbParseUint(const std::string& s) {
  uint64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::optional<float> XgbParseFloat(const std::string& s) {
  float v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A string from the file as messages show it: control characters (a JSON string may hold
// newlines) become '?'. Kept strings are short (kXgbMaxString), so messages stay one short line.
std::string XgbShow(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// The longest string value the reader keeps (names and numbers: xgboost's are far shorter).
constexpr size_t kXgbMaxString = 128;

// A JSON number as the SAX parser reports it.
struct XgbNumber {
  bool integral = false;
  int64_t i = 0;  // when integral (unsigned values above INT64_MAX are clamped to it)
  double d = 0;
};

// One tree's arrays while it is being read; turned into TreeNodes when its object ends.
struct XgbTreeBuffer {
  std::vector<int32_t> left, right;
  std::vector<uint32_t> split_indices;
  std::vector<float> conditions;
  std::vector<uint8_t> default_left;
  size_t split_types = 0;

  void Clear() {
    left.clear();
    right.clear();
    split_indices.clear();
    conditions.clear();
    default_left.clear();
    split_types = 0;
  }
};

// Streams the document (nlohmann's SAX interface: the parser is iterative and builds no DOM),
// keeping what scoring needs and checking types as they arrive. A handler returning false stops
// the parse; error() says why.
class XgbSaxReader {
 public:
  explicit XgbSaxReader(const XgboostParseLimits& limits) : limits_(limits) {
    // Node indices are uint32_t and depths int32_t.
    limits_.max_total_nodes = std::min<size_t>(limits_.max_total_nodes, INT32_MAX);
    ensemble_.tree_offsets.push_back(0);
  }

  const Status& error() const { return error_; }

  // --- the SAX interface ---------------------------------------------------------------------
  bool null() { return Scalar("null"); }
  bool boolean(bool v) {
    if (Skipping()) return true;
    if (Slot() == XgbCtx::kElement && stack_.back().ctx == XgbCtx::kDefaultLeft) {
      return AppendDefaultLeft(v ? 1 : 0);
    }
    return Scalar("a boolean");
  }
  bool number_integer(XgbJson::number_integer_t v) {
    return Number({true, v, static_cast<double>(v)});
  }
  bool number_unsigned(XgbJson::number_unsigned_t v) {
    const int64_t i = v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
    return Number({true, i, static_cast<double>(v)});
  }
  bool number_float(XgbJson::number_float_t v, const XgbJson::string_t& /*text*/) {
    return Number({false, 0, v});
  }
  bool string(XgbJson::string_t& v) {
    if (Skipping()) return true;
    const XgbCtx c = Slot();
    if (c == XgbCtx::kIgnored) return true;
    if (!XgbIsString(c)) return Scalar("a string");
    if (v.size() > kXgbMaxString) {
      return Fail(
          XgbError(Path(c) + " is longer than " + std::to_string(kXgbMaxString) + " bytes"));
    }
    strings_[static_cast<size_t>(c)] = std::move(v);
    return true;
  }
  bool binary(XgbJson::binary_t& /*v*/) { return Scalar("binary data"); }

  bool start_object(std::size_t /*size*/) {
    if (Skipping()) return Enter();
    const XgbCtx c = Slot();
    if (c == XgbCtx::kIgnored) return Enter();
    if (!XgbIsObject(c)) return Fail(TypeError(c, "an object"));
    if (c == XgbCtx::kTree) tree_.Clear();
    stack_.push_back({c, false, XgbCtx::kIgnored, 0});
    return true;
  }
  bool key(XgbJson::string_t& k) {
    if (Skipping()) return true;
    Frame& top = stack_.back();
    const XgbCtx c = XgbChild(top.ctx, k);
    if (c != XgbCtx::kIgnored) {
      if ((top.seen & XgbBit(c)) != 0) return Fail(XgbError("duplicate key " + Path(c)));
      top.seen |= XgbBit(c);
    }
    top.key_ctx = c;
    return true;
  }
  bool end_object() {
    if (Skipping()) return Leave();
    const Frame done = stack_.back();
    stack_.pop_back();
    if (done.ctx == XgbCtx::kTree) return FinishTree(done.seen);
    if (done.ctx == XgbCtx::kLearner) seen_learner_ = true;
    return true;
  }
  bool start_array(std::size_t /*size*/) {
    if (Skipping()) return Enter();
    const XgbCtx c = Slot();
    if (c == XgbCtx::kIgnored) return Enter();
    if (!XgbIsNumberArray(c) && c != XgbCtx::kTrees) {
      return Fail(TypeError(c, c == XgbCtx::kElement ? "a number" : "an array"));
    }
    stack_.push_back({c, true, XgbCtx::kIgnored, 0});
    if (c == XgbCtx::kTrees) seen_trees_ = true;
    if (c == XgbCtx::kTreeInfo) seen_tree_info_ = true;
    if (c == XgbCtx::kVersion) seen_version_ = true;
    return true;
  }
  bool end_array() {
    if (Skipping()) return Leave();
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." minus the tag.
    std::string_view what = e.what();
    if (auto tag = what.find("] "); what.starts_with("[json.") && tag != what.npos) {
      what.remove_prefix(tag + 2);
    }
    return Fail(XgbError("not valid JSON: " + std::string(what)));
  }

  // --- after a successful parse ----------------------------------------------------------------
  StatusOr<TreeEnsemble> Finish(size_t expected_features);

 private:
  struct Frame {
    XgbCtx ctx;
    bool is_array;
    XgbCtx key_ctx;  // objects: the field whose value comes next
    uint64_t seen;   // objects: the kept fields already read (duplicates are refused)
  };
  static constexpr size_t kMaxIgnoredDepth = 64;

  bool Fail(Status s) {
    if (error_.ok()) error_ = std::move(s);
    return false;
  }
  std::string Path(XgbCtx c) const { return XgbPath(c, ensemble_.tree_depths.size()); }
  Status TypeError(XgbCtx c, const char* want) const {
    if (c == XgbCtx::kElement) {
      return XgbError("elements of " + Path(stack_.back().ctx) + " must be numbers");
    }
    if (c == XgbCtx::kTree) return XgbError(Path(c) + " must be an object");
    const char* kind = XgbIsObject(c)        ? "an object"
                       : XgbIsNumberArray(c) ? "an array of numbers"
                       : c == XgbCtx::kTrees ? "an array of objects"
                                             : "a string";
    return XgbError(Path(c) + " must be " + kind + ", not " + want);
  }

  // Inside a container the reader does not keep.
  bool Skipping() const { return ignored_depth_ > 0; }
  bool Enter() {
    if (++ignored_depth_ > kMaxIgnoredDepth) {
      return Fail(XgbError("nested deeper than " + std::to_string(kMaxIgnoredDepth) + " levels"));
    }
    return true;
  }
  bool Leave() {
    --ignored_depth_;
    return true;
  }
  // The context of the value about to be read.
  XgbCtx Slot() const {
    if (stack_.empty()) return XgbCtx::kRoot;
    const Frame& top = stack_.back();
    if (!top.is_array) return top.key_ctx;
    return top.ctx == XgbCtx::kTrees ? XgbCtx::kTree : XgbCtx::kElement;
  }
  bool Scalar(const char* what) {
    if (Skipping()) return true;
    const XgbCtx c = Slot();
    if (c == XgbCtx::kIgnored) return true;
    return Fail(TypeError(c, what));
  }

  // Room for one more element in a per-node array of the current tree.
  bool NodeRoom(size_t current) {
    if (ensemble_.nodes.size() + current + 1 > limits_.max_total_nodes) {
      return Fail(XgbError("more than " + std::to_string(limits_.max_total_nodes) + " nodes (" +
                           Path(stack_.back().ctx) + ")"));
    }
    return true;
  }
  bool AppendDefaultLeft(int64_t v) {
    if (v != 0 && v != 1) {
      return Fail(XgbError("elements of " + Path(XgbCtx::kDefaultLeft) + " must be 0 or 1"));
    }
    if (!NodeRoom(tree_.default_left.size())) return false;
    tree_.default_left.push_back(static_cast<uint8_t>(v));
    return true;
  }

  bool Number(const XgbNumber& v) {
    if (Skipping()) return true;
    const XgbCtx c = Slot();
    if (c == XgbCtx::kIgnored) return true;
    if (c != XgbCtx::kElement) return Fail(TypeError(c, "a number"));
    const XgbCtx array = stack_.back().ctx;
    auto out_of_range = [&](const std::string& want) {
      return Fail(XgbError("elements of " + Path(array) + " must be " + want));
    };
    switch (array) {
      case XgbCtx::kVersion:
        if (!v.integral || v.i < 0 || v.i > 1'000'000) return out_of_range("small integers");
        if (version_.size() >= 3) return Fail(XgbError("version has more than 3 numbers"));
        version_.push_back(v.i);
        return true;
      case XgbCtx::kTreeInfo:
        if (!v.integral || v.i < 0) return out_of_range("non-negative integers");
        if (++tree_info_count_ > limits_.max_total_nodes) {
          return Fail(XgbError(Path(array) + " is too long"));
        }
        max_tree_info_ = std::max(max_tree_info_, v.i);
        return true;
      case XgbCtx::kLeftChildren:
      case XgbCtx::kRightChildren: {
        if (!v.integral || v.i < -1 || v.i > INT32_MAX) {
          return out_of_range("integers from -1 to 2147483647");
        }
        auto& dst = array == XgbCtx::kLeftChildren ? tree_.left : tree_.right;
        if (!NodeRoom(dst.size())) return false;
        dst.push_back(static_cast<int32_t>(v.i));
        return true;
      }
      case XgbCtx::kSplitIndices:
        if (!v.integral || v.i < 0 || v.i > UINT32_MAX) {
          return out_of_range("integers from 0 to 4294967295");
        }
        if (!NodeRoom(tree_.split_indices.size())) return false;
        tree_.split_indices.push_back(static_cast<uint32_t>(v.i));
        return true;
      case XgbCtx::kSplitConditions:
        // JSON numbers are finite (the parser refuses overflow); float32 must hold them too.
        if (!(std::fabs(v.d) <= std::numeric_limits<float>::max())) {
          return out_of_range("representable as float32");
        }
        if (!NodeRoom(tree_.conditions.size())) return false;
        tree_.conditions.push_back(static_cast<float>(v.d));
        return true;
      case XgbCtx::kDefaultLeft:
        if (!v.integral) return out_of_range("0 or 1");
        return AppendDefaultLeft(v.i);
      case XgbCtx::kSplitType:
        if (!v.integral || v.i != 0) {
          return Fail(XgbError(Path(array) + ": categorical splits are not supported"));
        }
        if (!NodeRoom(tree_.split_types)) return false;
        ++tree_.split_types;
        return true;
      case XgbCtx::kCategories:
      case XgbCtx::kCategoriesNodes:
      case XgbCtx::kCategoriesSegments:
      case XgbCtx::kCategoriesSizes:
        return Fail(XgbError(Path(array) + ": categorical splits are not supported"));
      default:
        return Fail(XgbError("internal: number in " + Path(array)));
    }
  }

  bool FinishTree(uint64_t seen);

  XgboostParseLimits limits_;
  Status error_;
  std::vector<Frame> stack_;
  size_t ignored_depth_ = 0;
  std::array<std::optional<std::string>, static_cast<size_t>(XgbCtx::kCount)> strings_;
  XgbTreeBuffer tree_;
  TreeEnsemble ensemble_;
  std::vector<int32_t> depth_scratch_;
  double max_abs_leaf_sum_ = 0;  // sum over trees of the largest |leaf value| (reachable)
  std::vector<int64_t> version_;
  size_t tree_info_count_ = 0;
  int64_t max_tree_info_ = 0;
  bool seen_learner_ = false, seen_trees_ = false, seen_tree_info_ = false, seen_version_ = false;

  std::optional<std::string>& Str(XgbCtx c) { return strings_[static_cast<size_t>(c)]; }
};

// Turns the current tree's arrays into nodes. Validation makes every walk terminate: a child's
// index is greater than its parent's and inside the tree, so each step goes strictly forward and
// the deepest path is shorter than the tree. Leaves point to themselves (see TreeNode).
bool XgbSaxReader::FinishTree(uint64_t seen) {
  const size_t t = ensemble_.tree_depths.size();
  for (XgbCtx c : {XgbCtx::kLeftChildren, XgbCtx::kRightChildren, XgbCtx::kSplitIndices,
                   XgbCtx::kSplitConditions, XgbCtx::kDefaultLeft}) {
    if ((seen & XgbBit(c)) == 0) return Fail(XgbError(XgbPath(c, t) + " is missing"));
  }
  const XgbTreeBuffer& b = tree_;
  const size_t n = b.left.size();
  if (n == 0) return Fail(XgbError(XgbPath(XgbCtx::kTree, t) + " has no nodes"));
  if (b.right.size() != n || b.split_indices.size() != n || b.conditions.size() != n ||
      b.default_left.size() != n || ((seen & XgbBit(XgbCtx::kSplitType)) && b.split_types != n)) {
    return Fail(XgbError(XgbPath(XgbCtx::kTree, t) +
                         ": left_children, right_children, split_indices, split_conditions, "
                         "default_left and split_type differ in size"));
  }
  const auto& num_nodes = strings_[static_cast<size_t>(XgbCtx::kNumNodes)];
  std::optional<uint64_t> declared = num_nodes ? XgbParseUint(*num_nodes) : std::nullopt;
  if (!declared) {
    return Fail(XgbError(XgbPath(XgbCtx::kNumNodes, t) + " is missing or not a number"));
  }
  if (*declared != n) {
    return Fail(XgbError(XgbPath(XgbCtx::kNumNodes, t) + " is " + XgbShow(*num_nodes) +
                         " but the tree has " + std::to_string(n) + " nodes"));
  }
  if (const auto& s = strings_[static_cast<size_t>(XgbCtx::kTreeSizeLeafVector)]; s) {
    auto v = XgbParseUint(*s);
    if (!v || *v > 1) {
      return Fail(XgbError(XgbPath(XgbCtx::kTreeSizeLeafVector, t) + " is '" + XgbShow(*s) +
                           "': vector leaves (multi-target trees) are not supported"));
    }
  }
  // Per-tree strings must not leak into the next tree.
  strings_[static_cast<size_t>(XgbCtx::kNumNodes)].reset();
  strings_[static_cast<size_t>(XgbCtx::kTreeSizeLeafVector)].reset();

  const size_t base = ensemble_.nodes.size();
  ensemble_.nodes.resize(base + n);
  TreeNode* nodes = ensemble_.nodes.data() + base;
  for (size_t i = 0; i < n; ++i) {
    const int32_t l = b.left[i], r = b.right[i];
    TreeNode& node = nodes[i];
    node.value = b.conditions[i];
    if (l == -1 || r == -1) {
      if (l != r) {
        return Fail(XgbError(XgbPath(XgbCtx::kTree, t) + " node " + std::to_string(i) +
                             " has one child (left " + std::to_string(l) + ", right " +
                             std::to_string(r) + ")"));
      }
      node.left = node.right = static_cast<uint32_t>(base + i);
      node.feature = 0;
      continue;
    }
    const auto child_ok = [&](int32_t c) {
      return static_cast<size_t>(c) > i && static_cast<size_t>(c) < n;
    };
    if (!child_ok(l) || !child_ok(r) || l == r) {
      return Fail(XgbError(XgbPath(XgbCtx::kTree, t) + " node " + std::to_string(i) +
                           ": children (" + std::to_string(l) + ", " + std::to_string(r) +
                           ") must be distinct, greater than the node's index and below " +
                           std::to_string(n)));
    }
    if (b.split_indices[i] >= TreeNode::kDefaultLeftBit) {
      return Fail(XgbError(XgbPath(XgbCtx::kTree, t) + " node " + std::to_string(i) +
                           ": split index " + std::to_string(b.split_indices[i]) +
                           " is out of range"));
    }
    node.left = static_cast<uint32_t>(base + static_cast<size_t>(l));
    node.right = static_cast<uint32_t>(base + static_cast<size_t>(r));
    node.feature = b.split_indices[i] | (b.default_left[i] ? TreeNode::kDefaultLeftBit : 0);
  }
  // Depth of the reachable part, in one forward pass (parents come before their children).
  depth_scratch_.assign(n, -1);
  depth_scratch_[0] = 0;
  int32_t depth = 0;
  float max_abs_leaf = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t d = depth_scratch_[i];
    if (d < 0) continue;  // unreachable (e.g. a node pruned away)
    const TreeNode& node = nodes[i];
    if (node.left == base + i) {
      depth = std::max(depth, d);
      max_abs_leaf = std::max(max_abs_leaf, std::fabs(node.value));
      continue;
    }
    for (uint32_t c : {node.left, node.right}) {
      int32_t& dc = depth_scratch_[c - base];
      dc = std::max(dc, d + 1);
    }
  }
  max_abs_leaf_sum_ += max_abs_leaf;
  ensemble_.tree_offsets.push_back(static_cast<uint32_t>(base + n));
  ensemble_.tree_depths.push_back(static_cast<uint32_t>(depth));
  return true;
}

StatusOr<TreeEnsemble> XgbSaxReader::Finish(size_t expected_features) {
  if (!seen_version_ || version_.empty()) return XgbError("'version' is missing");
  if (version_[0] != 1) {
    std::string v;
    for (size_t i = 0; i < version_.size(); ++i) v += (i ? "." : "") + std::to_string(version_[i]);
    return XgbError("version " + v + " is not supported (this reader knows xgboost 1.x models)");
  }
  if (!seen_learner_) return XgbError("'learner' is missing");

  const auto& booster = Str(XgbCtx::kBoosterName);
  if (!booster) return XgbError(XgbPath(XgbCtx::kBoosterName, 0) + " is missing");
  if (*booster != "gbtree") {
    return XgbError("booster '" + XgbShow(*booster) + "' is not supported (only gbtree)");
  }
  if (const auto& s = Str(XgbCtx::kNumClass); s) {
    auto v = XgbParseUint(*s);
    if (!v)
      return XgbError(XgbPath(XgbCtx::kNumClass, 0) + " '" + XgbShow(*s) + "' is not a number");
    if (*v > 1)
      return XgbError("multi-class models are not supported (num_class " + XgbShow(*s) + ")");
  }
  if (const auto& s = Str(XgbCtx::kNumTarget); s) {
    auto v = XgbParseUint(*s);
    if (!v || *v > 1) {
      return XgbError("multi-target models are not supported (num_target '" + XgbShow(*s) + "')");
    }
  }
  if (const auto& s = Str(XgbCtx::kModelSizeLeafVector); s) {
    auto v = XgbParseUint(*s);
    if (!v || *v > 1) {
      return XgbError("vector leaves are not supported (size_leaf_vector '" + XgbShow(*s) + "')");
    }
  }
  const auto& objective = Str(XgbCtx::kObjectiveName);
  if (!objective) return XgbError(XgbPath(XgbCtx::kObjectiveName, 0) + " is missing");
  TreeEnsemble& m = ensemble_;
  if (*objective == "binary:logistic") {
    m.objective = TreeObjective::kBinaryLogistic;
  } else if (*objective == "reg:logistic") {
    m.objective = TreeObjective::kRegLogistic;
  } else if (*objective == "binary:logitraw") {
    m.objective = TreeObjective::kBinaryLogitRaw;
  } else {
    return XgbError("objective '" + XgbShow(*objective) +
                    "' is not supported (supported: binary:logistic, reg:logistic, "
                    "binary:logitraw)");
  }

  if (!seen_trees_) return XgbError(XgbPath(XgbCtx::kTrees, 0) + " is missing");
  const size_t num_trees = m.tree_depths.size();
  const auto& declared_trees = Str(XgbCtx::kNumTrees);
  if (!declared_trees) return XgbError(XgbPath(XgbCtx::kNumTrees, 0) + " is missing");
  if (XgbParseUint(*declared_trees) != std::optional<uint64_t>(num_trees)) {
    return XgbError("num_trees is '" + XgbShow(*declared_trees) + "' but the model has " +
                    std::to_string(num_trees) + " trees");
  }
  if (const auto& s = Str(XgbCtx::kNumParallelTree); s) {
    auto v = XgbParseUint(*s);
    if (!v || *v == 0)
      return XgbError("num_parallel_tree '" + XgbShow(*s) + "' is not a positive number");
  }
  if (!seen_tree_info_ || tree_info_count_ != num_trees) {
    return XgbError("tree_info has " + std::to_string(tree_info_count_) + " entries for " +
                    std::to_string(num_trees) + " trees");
  }
  if (max_tree_info_ != 0) {
    return XgbError("tree_info names output group " + std::to_string(max_tree_info_) +
                    ": only one output group is supported");
  }

  const auto& nf = Str(XgbCtx::kNumFeature);
  if (!nf) return XgbError(XgbPath(XgbCtx::kNumFeature, 0) + " is missing");
  auto num_features = XgbParseUint(*nf);
  if (!num_features || *num_features == 0 || *num_features > limits_.max_features) {
    return XgbError("num_feature '" + XgbShow(*nf) + "' must be a number from 1 to " +
                    std::to_string(limits_.max_features));
  }
  m.num_features = static_cast<size_t>(*num_features);
  if (expected_features > 0 && m.num_features != expected_features) {
    return XgbError("the model has " + std::to_string(m.num_features) + " features, expected " +
                    std::to_string(expected_features));
  }
  for (size_t t = 0; t < num_trees; ++t) {
    for (uint32_t i = m.tree_offsets[t]; i < m.tree_offsets[t + 1]; ++i) {
      const TreeNode& node = m.nodes[i];
      if (node.left != i && node.split_feature() >= m.num_features) {
        return XgbError(XgbPath(XgbCtx::kTree, t) + " node " +
                        std::to_string(i - m.tree_offsets[t]) + " splits on feature " +
                        std::to_string(node.split_feature()) + " but num_feature is " +
                        XgbShow(*nf));
      }
    }
  }

  const auto& bs = Str(XgbCtx::kBaseScore);
  if (!bs) return XgbError(XgbPath(XgbCtx::kBaseScore, 0) + " is missing");
  auto base_score = XgbParseFloat(*bs);
  if (!base_score) return XgbError("base_score '" + XgbShow(*bs) + "' is not a finite number");
  m.base_score = *base_score;
  if (m.objective == TreeObjective::kBinaryLogitRaw) {
    m.base_margin = m.base_score;  // xgboost 1.7 uses it as a margin as is
  } else {
    if (!(m.base_score > 0.0f && m.base_score < 1.0f)) {
      return XgbError("base_score " + XgbShow(*bs) + " must be within (0, 1) for " +
                      XgbShow(*objective));
    }
    // xgboost's ProbToMargin, in float.
    m.base_margin = -std::log(1.0f / m.base_score - 1.0f);
    if (!std::isfinite(m.base_margin)) {
      return XgbError("base_score " + XgbShow(*bs) + " has no finite margin");
    }
  }
  // Every margin is base_margin plus one leaf per tree: bounded by this, so float sums (which
  // round each partial sum by at most half an ulp) cannot overflow.
  if (std::fabs(static_cast<double>(m.base_margin)) + max_abs_leaf_sum_ > 1e38) {
    return XgbError("leaf values are so large that margins could overflow float32");
  }
  m.leaf_masks = CompileLeafMasks(m);
  return std::move(m);
}

constexpr size_t kXgbRowBlock = 64;
// Double rows are converted to float a block at a time into a stack buffer of this many values
// (16 KB); models with more than this many features convert at each step instead.
constexpr size_t kXgbScratchFloats = 4096;

// One row down one tree, as xgboost walks it: go left iff float(x) < threshold, a missing (NaN)
// value goes the node's default way. Terminates within the tree's depth: validation made every
// child's index greater than its parent's, and a leaf is where a node points to itself.
template <typename R>
inline float XgbWalk(const TreeNode* nodes, uint32_t root, const R* row) {
  uint32_t c = root;
  while (nodes[c].left != c) {
    const TreeNode& node = nodes[c];
    const float v = static_cast<float>(row[node.feature & ~TreeNode::kDefaultLeftBit]);
    const bool left = v < node.value || (std::isnan(v) && node.default_left());
    c = left ? node.left : node.right;
  }
  return nodes[c].value;
}

// A value's bin among a feature's n sorted thresholds t: the number of them <= v (v not NaN).
// Branch-free halving: every element before p is <= v, every one from p + len on is > v.
inline uint16_t XgbBin(const float* t, uint32_t n, float v) {
  const float* p = t;
  while (n > 1) {
    const uint32_t half = n / 2;
    p = p[half] <= v ? p + half : p;
    n -= half;
  }
  return static_cast<uint16_t>((p - t) + (n == 1 && *p <= v ? 1 : 0));
}

// The block's rows through LeafMasks (see tree_model.h): bins per feature column, then per tree
// the AND of its tables' masks picks the leaf. Same float sums in the same order as the walk.
template <typename R>
void XgbMaskBlock(const TreeEnsemble& m, const R* block, size_t b, float* acc) {
  const LeafMasks& lm = m.leaf_masks;
  const size_t d = m.num_features;  // <= LeafMasks::kMaxFeatures when leaf_masks is set
  alignas(64) uint16_t bins[LeafMasks::kMaxFeatures][kXgbRowBlock];
  for (size_t f = 0; f < d; ++f) {
    const float* t = lm.thresholds.data() + lm.threshold_begin[f];
    const uint32_t n = lm.threshold_begin[f + 1] - lm.threshold_begin[f];
    const uint16_t missing = static_cast<uint16_t>(n + 1);
    const R* x = block + f;
    for (size_t i = 0; i < b; ++i, x += d) {
      const float v = static_cast<float>(*x);
      bins[f][i] = std::isnan(v) ? missing : XgbBin(t, n, v);
    }
  }
  alignas(64) uint64_t leaves[kXgbRowBlock];
  for (size_t t = 0; t < m.num_trees(); ++t) {
    std::fill(leaves, leaves + b, ~uint64_t{0});
    for (uint32_t k = lm.lookup_begin[t]; k < lm.lookup_begin[t + 1]; ++k) {
      const uint64_t* table = lm.masks.data() + lm.lookups[k].table;
      const uint16_t* column = bins[lm.lookups[k].feature];
      for (size_t i = 0; i < b; ++i) leaves[i] &= table[column[i]];
    }
    // Exactly one bit is left (the construction is exact); `& 63` keeps even an impossible 0
    // inside the tree's 64 slots.
    const float* values = lm.leaf_values.data() + t * LeafMasks::kMaxLeaves;
    for (size_t i = 0; i < b; ++i) acc[i] += values[std::countr_zero(leaves[i]) & 63];
  }
}

// xgboost's order: margin = base_margin, then each tree's leaf added in float, tree by tree.
// Rows go by blocks: each tree walks every row of the block before the next tree, so the
// tree's nodes stay in cache. (Lockstep walks of several rows without a leaf test were tried:
// slower on these models than this walk, whose branches predict well.)
template <typename R>
void XgbBlock(const TreeEnsemble& m, const R* block, size_t b, double* out) {
  const size_t d = m.num_features;
  const TreeNode* nodes = m.nodes.data();
  alignas(64) float acc[kXgbRowBlock];
  std::fill(acc, acc + b, m.base_margin);
  if (!m.leaf_masks.empty()) {
    XgbMaskBlock(m, block, b, acc);
  } else {
    for (size_t t = 0; t < m.num_trees(); ++t) {
      const uint32_t root = m.tree_offsets[t];
      const R* row = block;
      for (size_t i = 0; i < b; ++i, row += d) acc[i] += XgbWalk(nodes, root, row);
    }
  }
  for (size_t i = 0; i < b; ++i) out[i] = acc[i];
}

template <typename T>
void XgbMargins(const TreeEnsemble& m, std::span<const T> rows, size_t n, std::span<double> out) {
  const size_t d = m.num_features;
  if (d == 0) return;
  n = std::min({n, out.size(), rows.size() / d});
  if constexpr (std::is_same_v<T, double>) {
    if (d <= kXgbScratchFloats) {
      const size_t block = std::min(kXgbRowBlock, kXgbScratchFloats / d);
      alignas(64) float scratch[kXgbScratchFloats];
      for (size_t start = 0; start < n; start += block) {
        const size_t b = std::min(block, n - start);
        const double* src = rows.data() + start * d;
        for (size_t k = 0; k < b * d; ++k) scratch[k] = static_cast<float>(src[k]);
        XgbBlock(m, scratch, b, out.data() + start);
      }
      return;
    }
  }
  for (size_t start = 0; start < n; start += kXgbRowBlock) {
    const size_t b = std::min(kXgbRowBlock, n - start);
    XgbBlock(m, rows.data() + start * d, b, out.data() + start);
  }
}

template <typename T>
void XgbOutputs(const TreeEnsemble& m, std::span<const T> rows, size_t n, std::span<double> out) {
  XgbMargins(m, rows, n, out);
  if (!m.outputs_probability()) return;
  n = m.num_features == 0 ? 0 : std::min({n, out.size(), rows.size() / m.num_features});
  for (size_t i = 0; i < n; ++i) out[i] = XgboostSigmoid(static_cast<float>(out[i]));
}

}  // namespace

const char* TreeObjectiveName(TreeObjective objective) {
  switch (objective) {
    case TreeObjective::kBinaryLogistic:
      return "binary:logistic";
    case TreeObjective::kRegLogistic:
      return "reg:logistic";
    case TreeObjective::kBinaryLogitRaw:
      return "binary:logitraw";
  }
  return "?";
}

float XgboostSigmoid(float margin) {
  // xgboost 1.7's common::Sigmoid, operation for operation (the results match it bit for bit).
  constexpr float kEps = 1e-16f;
  const float x = std::min(-margin, 88.7f);
  const float denominator = std::exp(x) + 1.0f + kEps;
  return 1.0f / denominator;
}

StatusOr<TreeEnsemble> ParseXgboostJson(std::string_view json_text, size_t expected_features,
                                        const XgboostParseLimits& limits) {
  if (json_text.size() > limits.max_bytes) {
    return XgbError("the file has " + std::to_string(json_text.size()) + " bytes, more than " +
                    std::to_string(limits.max_bytes));
  }
  try {
    XgbSaxReader reader(limits);
    if (!XgbJson::sax_parse(json_text.begin(), json_text.end(), &reader)) {
      if (!reader.error().ok()) return reader.error();
      return XgbError("not valid JSON");
    }
    return reader.Finish(expected_features);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("xgboost model: out of memory while reading it");
  } catch (const std::exception& e) {
    return Internal(std::string("xgboost model: ") + e.what());
  }
}

LeafMasks CompileLeafMasks(const TreeEnsemble& m) {
  const size_t d = m.num_features;
  const size_t num_trees = m.num_trees();
  if (d == 0 || d > LeafMasks::kMaxFeatures || num_trees == 0) return {};
  // Reachable nodes and their one parent (kRoot for a root); a node reached twice (a DAG) or a
  // tree with too many leaves is left to the walk. Parents come before children.
  constexpr uint32_t kUnseen = ~uint32_t{0}, kRoot = kUnseen - 1;
  std::vector<uint32_t> parent(m.nodes.size(), kUnseen);
  std::vector<std::vector<float>> thresholds(d);
  for (size_t t = 0; t < num_trees; ++t) {
    parent[m.tree_offsets[t]] = kRoot;
    size_t leaves = 0;
    for (uint32_t i = m.tree_offsets[t]; i < m.tree_offsets[t + 1]; ++i) {
      if (parent[i] == kUnseen) continue;
      if (m.is_leaf(i)) {
        if (++leaves > LeafMasks::kMaxLeaves) return {};
        continue;
      }
      const TreeNode& node = m.nodes[i];
      if (std::isnan(node.value)) return {};
      thresholds[node.split_feature()].push_back(node.value);
      for (uint32_t c : {node.left, node.right}) {
        if (parent[c] != kUnseen) return {};
        parent[c] = i;
      }
    }
  }
  LeafMasks lm;
  lm.threshold_begin.push_back(0);
  for (auto& t : thresholds) {
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());  // == : -0 and +0 are one threshold
    if (t.size() + 2 > 0xFFFF) return {};
    lm.thresholds.insert(lm.thresholds.end(), t.begin(), t.end());
    lm.threshold_begin.push_back(static_cast<uint32_t>(lm.thresholds.size()));
  }
  const auto threshold_index = [&](const TreeNode& node) {
    const auto& t = thresholds[node.split_feature()];
    return static_cast<uint32_t>(std::lower_bound(t.begin(), t.end(), node.value) - t.begin());
  };
  // The features each tree splits on, and the size of their tables, checked before any is built.
  std::vector<std::vector<uint32_t>> used(num_trees);
  size_t table_entries = 0;
  for (size_t t = 0; t < num_trees; ++t) {
    for (uint32_t i = m.tree_offsets[t]; i < m.tree_offsets[t + 1]; ++i) {
      if (parent[i] != kUnseen && !m.is_leaf(i)) used[t].push_back(m.nodes[i].split_feature());
    }
    std::sort(used[t].begin(), used[t].end());
    used[t].erase(std::unique(used[t].begin(), used[t].end()), used[t].end());
    for (uint32_t f : used[t]) table_entries += thresholds[f].size() + 2;
    lm.lookups.resize(lm.lookups.size() + used[t].size());
  }
  if (table_entries > LeafMasks::kMaxTableBytes / sizeof(uint64_t) ||
      lm.lookups.size() > LeafMasks::kMaxLookupsPerTree * num_trees) {
    return {};
  }
  lm.masks.reserve(table_entries);
  lm.leaf_values.assign(num_trees * LeafMasks::kMaxLeaves, 0.0f);
  lm.lookups.clear();
  lm.lookup_begin.push_back(0);
  struct Range {
    uint32_t lo = 0, hi = 0;  // admitted bins lo..hi
    bool missing = true;      // the missing bin admitted
  };
  std::vector<Range> ranges;
  for (size_t t = 0; t < num_trees; ++t) {
    const std::vector<uint32_t>& features = used[t];
    const size_t first_table = lm.lookups.size();
    for (uint32_t f : features) {
      lm.lookups.push_back({f, static_cast<uint32_t>(lm.masks.size())});
      lm.masks.resize(lm.masks.size() + thresholds[f].size() + 2, 0);
    }
    const auto slot = [&](uint32_t f) {
      return static_cast<size_t>(std::lower_bound(features.begin(), features.end(), f) -
                                 features.begin());
    };
    uint32_t leaf = 0;
    for (uint32_t i = m.tree_offsets[t]; i < m.tree_offsets[t + 1]; ++i) {
      if (parent[i] == kUnseen || !m.is_leaf(i)) continue;
      ranges.assign(features.size(), Range{});
      for (size_t s = 0; s < features.size(); ++s) {
        ranges[s].hi = static_cast<uint32_t>(thresholds[features[s]].size());
      }
      // Up the path: left of `x < T[k]` admits bins <= k, right admits bins >= k + 1.
      for (uint32_t c = i; parent[c] != kRoot; c = parent[c]) {
        const TreeNode& p = m.nodes[parent[c]];
        Range& r = ranges[slot(p.split_feature())];
        const uint32_t k = threshold_index(p);
        if (p.left == c) {
          r.hi = std::min(r.hi, k);
          r.missing = r.missing && p.default_left();
        } else {
          r.lo = std::max(r.lo, k + 1);
          r.missing = r.missing && !p.default_left();
        }
      }
      const uint64_t bit = uint64_t{1} << leaf;
      for (size_t s = 0; s < features.size(); ++s) {
        uint64_t* table = lm.masks.data() + lm.lookups[first_table + s].table;
        for (uint32_t bin = ranges[s].lo; bin <= ranges[s].hi; ++bin) table[bin] |= bit;
        if (ranges[s].missing) table[thresholds[features[s]].size() + 1] |= bit;
      }
      lm.leaf_values[t * LeafMasks::kMaxLeaves + leaf] = m.nodes[i].value;
      ++leaf;
    }
    lm.lookup_begin.push_back(static_cast<uint32_t>(lm.lookups.size()));
  }
  return lm;
}

void PredictMargin(const TreeEnsemble& model, std::span<const double> rows, size_t n,
                   std::span<double> out) {
  XgbMargins(model, rows, n, out);
}
void PredictMargin(const TreeEnsemble& model, std::span<const float> rows, size_t n,
                   std::span<double> out) {
  XgbMargins(model, rows, n, out);
}
void Predict(const TreeEnsemble& model, std::span<const double> rows, size_t n,
             std::span<double> out) {
  XgbOutputs(model, rows, n, out);
}
void Predict(const TreeEnsemble& model, std::span<const float> rows, size_t n,
             std::span<double> out) {
  XgbOutputs(model, rows, n, out);
}

}  // namespace mlfaas::model
