package mlfaas.runtime;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The predict handler: the same model, preprocessing, event and result shapes, error types and
 * InvalidInput messages as mlfaas's built-in C++ worker (src/runtime/model_handler.cc,
 * src/model/predictor.cc) and examples/python/handler.py.
 *
 * <p>The model is read from $LAMBDA_TASK_ROOT/manifest.json (a package made by `mlfaas train`),
 * validated like src/package/manifest.cc does (same messages), and its digest verified as
 * docs/package_format.md says: sha256 of nlohmann's dump() of the manifest without "digest" and
 * "created_at" (keys sorted, no whitespace, numbers as nlohmann writes them: see Grisu2).
 */
final class Model {
  /** A model that cannot be loaded (reported as errorType InitError). */
  static final class InitError extends Exception {
    private static final long serialVersionUID = 1L;

    InitError(String message) {
      super(message, null, false, false);
    }
  }

  /** A bad event (reported as errorType InvalidInput); the message names the field. */
  static final class InvalidInput extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidInput(String message) {
      super(message, null, false, false);
    }
  }

  final String name;
  final String digest;
  private final String[] features;
  private final boolean log; // transform "log0.1": t(x) = ln(x + 0.1); "none": t(x) = x
  private final double[] w; // coef_j / scale_j
  private final double b; // intercept - sum_j coef_j * mean_j / scale_j
  private final double threshold;
  private final String suffix; // ],"model":{"name":...,"version":...,"digest":...}}

  private Model(
      String name,
      String digest,
      String version,
      String[] features,
      boolean log,
      double[] mean,
      double[] scale,
      double[] coef,
      double intercept,
      double threshold) {
    this.name = name;
    this.digest = digest;
    this.features = features;
    this.log = log;
    this.threshold = threshold;
    // Folded like model::Predictor: one affine map per feature.
    final int d = features.length;
    w = new double[d];
    double bias = intercept;
    for (int j = 0; j < d; ++j) {
      w[j] = coef[j] / scale[j];
      bias -= coef[j] * mean[j] / scale[j];
    }
    b = bias;
    StringBuilder sb = new StringBuilder("],\"model\":{\"name\":");
    Json.appendString(sb, name);
    sb.append(",\"version\":");
    Json.appendString(sb, version);
    sb.append(",\"digest\":");
    Json.appendString(sb, digest);
    suffix = sb.append("}}").toString();
  }

  // ---------------------------------------------------------------------------------------
  // Loading (src/package/manifest_file.cc ReadManifestFile, manifest.cc ManifestFromJson)

  /** Reads, validates and digest-checks `taskRoot`/manifest.json. */
  static Model load(Path taskRoot, String version) throws InitError {
    Path path = taskRoot.resolve("manifest.json");
    byte[] bytes;
    if (!Files.isRegularFile(path)) throw new InitError("cannot read " + path + ": no such file");
    try {
      bytes = Files.readAllBytes(path);
    } catch (IOException | OutOfMemoryError e) {
      throw new InitError("cannot read " + path + ": " + e.getMessage());
    }
    try {
      return fromJson(bytes, version);
    } catch (InitError e) {
      throw new InitError(path + ": " + e.getMessage());
    }
  }

  /** The manifest's text to a model; messages as ParseManifestText's. */
  static Model fromJson(byte[] text, String version) throws InitError {
    Object parsed;
    try {
      parsed = Json.parse(text);
    } catch (Json.ParseException e) {
      throw new InitError("manifest.json is " + e.getMessage());
    }
    if (!(parsed instanceof TreeMap)) throw new InitError("manifest must be a JSON object");
    @SuppressWarnings("unchecked")
    TreeMap<String, Object> j = (TreeMap<String, Object>) parsed;

    Json.Num fv = (Json.Num) member(j, "format_version", "format_version", Kind.INTEGER);
    if (fv.asInt64() != 1) {
      throw new InitError(
          "unsupported package format_version " + fv.text() + " (this mlfaas reads 1)");
    }
    String name = string(j, "name", "name");
    if (name.isEmpty()) throw fieldError("name", "must not be empty");
    String kind = string(j, "kind", "kind");
    if (!kind.equals("logistic_regression")) {
      throw fieldError("kind", "must be \"logistic_regression\" (got \"" + kind + "\")");
    }

    // features
    List<?> fs = (List<?>) member(j, "features", "features", Kind.ARRAY);
    if (fs.isEmpty()) throw fieldError("features", "must not be empty");
    String[] features = new String[fs.size()];
    for (int i = 0; i < fs.size(); ++i) {
      String path = "features[" + i + "]";
      if (!(fs.get(i) instanceof TreeMap)) throw fieldError(path, "must be an object");
      Map<?, ?> f = (Map<?, ?>) fs.get(i);
      features[i] = string(f, "name", path + ".name");
      String type = string(f, "type", path + ".type");
      if (!type.equals("float64")) throw fieldError(path + ".type", "must be \"float64\"");
    }
    final int d = features.length;

    // preprocessing = [{"step":"transform",...}, {"step":"standardize",...}]
    List<?> pp = (List<?>) member(j, "preprocessing", "preprocessing", Kind.ARRAY);
    if (pp.size() != 2 || !(pp.get(0) instanceof TreeMap) || !(pp.get(1) instanceof TreeMap)) {
      throw fieldError("preprocessing", "must hold two objects: transform, standardize");
    }
    Map<?, ?> t = (Map<?, ?>) pp.get(0);
    if (!string(t, "step", "preprocessing[0].step").equals("transform")) {
      throw fieldError("preprocessing[0].step", "must be \"transform\"");
    }
    String fn = string(t, "function", "preprocessing[0].function");
    if (!fn.equals("log0.1") && !fn.equals("none")) {
      throw fieldError("preprocessing[0].function", "must be \"log0.1\" or \"none\"");
    }
    Map<?, ?> s = (Map<?, ?>) pp.get(1);
    if (!string(s, "step", "preprocessing[1].step").equals("standardize")) {
      throw fieldError("preprocessing[1].step", "must be \"standardize\"");
    }
    double[] mean = numbers(s, "mean", "preprocessing[1].mean", d);
    double[] scale = numbers(s, "scale", "preprocessing[1].scale", d);
    double[] coef = numbers(j, "coefficients", "coefficients", d);
    double intercept = number(j, "intercept", "intercept");
    double threshold = number(j, "threshold", "threshold");
    String invalid = validate(features, mean, scale, coef, intercept, threshold);
    if (invalid != null) throw new InitError("manifest model is invalid: " + invalid);

    member(j, "metrics", "metrics", Kind.OBJECT);
    string(j, "training_data_sha256", "training_data_sha256");
    Map<?, ?> rows = (Map<?, ?>) member(j, "rows", "rows", Kind.OBJECT);
    for (String key : new String[] {"train", "test"}) {
      Json.Num v = (Json.Num) member(rows, key, "rows." + key, Kind.INTEGER);
      if (v.asInt64() < 0) throw fieldError("rows." + key, "must be >= 0");
    }
    member(j, "training", "training", Kind.OBJECT);
    string(j, "created_at", "created_at");
    string(j, "producer", "producer");
    String declared = j.containsKey("digest") ? string(j, "digest", "digest") : "";
    if (declared.isEmpty()) throw new InitError("manifest field 'digest' is missing");

    String actual = computeDigest(j);
    if (!actual.equals(declared)) {
      throw new InitError(
          "digest mismatch: manifest declares "
              + declared
              + " but its content hashes to "
              + actual
              + " (package was modified)");
    }
    return new Model(
        name, declared, version, features, fn.equals("log0.1"), mean, scale, coef, intercept,
        threshold);
  }

  /** sha256 hex of the canonical manifest: without "digest" and "created_at". */
  static String computeDigest(TreeMap<String, Object> manifest) {
    TreeMap<String, Object> content = new TreeMap<>(manifest);
    content.remove("digest");
    content.remove("created_at");
    byte[] canonical = Json.canonical(content).getBytes(StandardCharsets.UTF_8);
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(canonical);
      StringBuilder hex = new StringBuilder(64);
      for (byte x : hash) {
        hex.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** model::Predictor::Validate, for a model whose sizes already agree. */
  private static String validate(
      String[] features,
      double[] mean,
      double[] scale,
      double[] coef,
      double intercept,
      double threshold) {
    HashSet<String> seen = new HashSet<>();
    for (String f : features) {
      if (f.isEmpty()) return "model has an empty feature name";
      if (!seen.add(f)) return "duplicate feature '" + f + "'";
    }
    for (int j = 0; j < features.length; ++j) {
      if (!Double.isFinite(mean[j]) || !Double.isFinite(coef[j])) {
        return "non-finite mean or coefficient for '" + features[j] + "'";
      }
      if (!Double.isFinite(scale[j]) || scale[j] <= 0) {
        return "scale for '" + features[j] + "' must be finite and > 0";
      }
    }
    if (!Double.isFinite(intercept)) return "intercept must be finite";
    double bias = intercept;
    for (int j = 0; j < features.length; ++j) {
      bias -= coef[j] * mean[j] / scale[j];
      if (!Double.isFinite(coef[j] / scale[j])) {
        return "coefficient / scale of '" + features[j] + "' overflows";
      }
    }
    if (!Double.isFinite(bias)) return "folded intercept overflows";
    if (!(threshold >= 0.0 && threshold <= 1.0)) return "threshold must be within [0, 1]";
    return null;
  }

  private enum Kind {
    STRING("a string"),
    OBJECT("an object"),
    ARRAY("an array"),
    NUMBER("a number"),
    INTEGER("an integer");

    final String want;

    Kind(String want) {
      this.want = want;
    }
  }

  private static InitError fieldError(String field, String what) {
    return new InitError("manifest field '" + field + "' " + what);
  }

  /** The member `key` of `obj` (named `path` in errors), present and of the wanted kind. */
  private static Object member(Map<?, ?> obj, String key, String path, Kind kind)
      throws InitError {
    if (!obj.containsKey(key)) throw fieldError(path, "is missing");
    Object v = obj.get(key);
    boolean ok;
    switch (kind) {
      case STRING:
        ok = v instanceof String;
        break;
      case OBJECT:
        ok = v instanceof TreeMap;
        break;
      case ARRAY:
        ok = v instanceof ArrayList;
        break;
      case NUMBER:
        ok = v instanceof Json.Num;
        break;
      default:
        ok = v instanceof Json.Num && ((Json.Num) v).integer;
        break;
    }
    if (!ok) throw fieldError(path, "must be " + kind.want);
    return v;
  }

  private static String string(Map<?, ?> obj, String key, String path) throws InitError {
    return (String) member(obj, key, path, Kind.STRING);
  }

  private static double number(Map<?, ?> obj, String key, String path) throws InitError {
    double v = ((Json.Num) member(obj, key, path, Kind.NUMBER)).value;
    if (!Double.isFinite(v)) throw fieldError(path, "must be finite");
    return v;
  }

  private static double[] numbers(Map<?, ?> obj, String key, String path, int n)
      throws InitError {
    List<?> v = (List<?>) member(obj, key, path, Kind.ARRAY);
    if (v.size() != n) {
      throw fieldError(path, "must hold " + n + " numbers (one per feature)");
    }
    double[] out = new double[n];
    for (int i = 0; i < n; ++i) {
      Object e = v.get(i);
      if (!(e instanceof Json.Num) || !Double.isFinite(((Json.Num) e).value)) {
        throw fieldError(path, "must hold finite numbers");
      }
      out[i] = ((Json.Num) e).value;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // Serving (src/runtime/model_handler.cc)

  /** The event's rows scored: the result JSON, or InvalidInput naming the field. */
  String handle(byte[] payload) throws InvalidInput {
    Object event;
    try {
      event = Json.parse(payload);
    } catch (Json.ParseException e) {
      throw new InvalidInput("event is " + e.getMessage());
    }
    if (!(event instanceof TreeMap)) throw new InvalidInput("event must be a JSON object");
    TreeMap<?, ?> obj = (TreeMap<?, ?>) event;
    final int d = features.length;
    double[] rows;
    if (!obj.containsKey("instances")) {
      rows = new double[d];
      String error = parseRow(obj, rows, 0);
      if (error != null) throw new InvalidInput(error);
    } else {
      for (Object key : obj.keySet()) {
        if (!key.equals("instances")) {
          throw new InvalidInput("field '" + key + "' is not allowed next to 'instances'");
        }
      }
      Object instances = obj.get("instances");
      if (!(instances instanceof ArrayList) || ((List<?>) instances).isEmpty()) {
        throw new InvalidInput("field 'instances' must be a non-empty array");
      }
      List<?> list = (List<?>) instances;
      rows = new double[list.size() * d];
      for (int i = 0; i < list.size(); ++i) {
        Object row = list.get(i);
        if (!(row instanceof TreeMap)) {
          throw new InvalidInput("instances[" + i + "]: must be a JSON object");
        }
        String error = parseRow((TreeMap<?, ?>) row, rows, i * d);
        if (error != null) throw new InvalidInput("instances[" + i + "]: " + error);
      }
    }
    return render(rows, rows.length / d);
  }

  /** Predictor::ParseRow: unknown keys first (in key order), then each feature in order. */
  private String parseRow(TreeMap<?, ?> object, double[] out, int at) {
    for (Object key : object.keySet()) {
      boolean known = false;
      for (String f : features) known = known || f.equals(key);
      if (!known) return "field '" + key + "' is not a model feature";
    }
    for (int j = 0; j < features.length; ++j) {
      String f = features[j];
      if (!object.containsKey(f)) return "field '" + f + "' is missing";
      Object v = object.get(f);
      if (!(v instanceof Json.Num)) return "field '" + f + "' must be a number";
      double x = ((Json.Num) v).value;
      if (!Double.isFinite(x)) return "field '" + f + "' must be finite";
      if (log && x < 0) return "field '" + f + "' must be >= 0 (log transform)";
      out[at + j] = x;
    }
    return null;
  }

  /** p = sigmoid(b + sum_j w_j * t(x_j)), in PredictKernel's order. */
  double probability(double[] rows, int at) {
    double z = b;
    for (int j = 0; j < w.length; ++j) {
      double x = rows[at + j];
      z += w[j] * (log ? Math.log(x + 0.1) : x);
    }
    if (Double.isNaN(z)) z = exactScore(rows, at);
    z = Math.min(Math.max(z, -700.0), 700.0);
    return 1.0 / (1.0 + Math.exp(-z));
  }

  /**
   * The score when a weight times a (finite, valid) value overflowed and terms of both signs
   * added up to inf - inf = NaN (Predictor::RepairOverflows rescores in long double): exact
   * decimal arithmetic, clamped to the same [-700, 700].
   */
  private double exactScore(double[] rows, int at) {
    BigDecimal z = new BigDecimal(b);
    for (int j = 0; j < w.length; ++j) {
      double x = rows[at + j];
      z = z.add(new BigDecimal(w[j]).multiply(new BigDecimal(log ? Math.log(x + 0.1) : x)));
    }
    return z.max(BigDecimal.valueOf(-700)).min(BigDecimal.valueOf(700)).doubleValue();
  }

  private String render(double[] rows, int n) {
    StringBuilder out = new StringBuilder(16 + n * 48 + suffix.length());
    out.append("{\"predictions\":[");
    for (int i = 0; i < n; ++i) {
      double p = probability(rows, i * w.length);
      if (i > 0) out.append(',');
      out.append(
          p >= threshold
              ? "{\"anomaly\":true,\"probability\":"
              : "{\"anomaly\":false,\"probability\":");
      out.append(ShortestDouble.toChars(p)).append('}');
    }
    return out.append(suffix).toString();
  }
}
