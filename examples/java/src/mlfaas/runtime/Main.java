package mlfaas.runtime;

import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The custom-runtime entry point (started by the bundle's `bootstrap` script): init, then the
 * invocation loop.
 *
 * <p>Init: read the environment and, unless the model loads later, load
 * $LAMBDA_TASK_ROOT/manifest.json (validated, digest-verified); on failure post
 * /runtime/init/error (InitError) and exit 1. Then loop: /invocation/next -> handler ->
 * /response, or /error with {"errorMessage","errorType"} (InvalidInput for bad events,
 * HandlerException for anything unexpected). Exits with status 1 when the Runtime API goes away.
 *
 * <p>MLFAAS_MODEL_LOADING picks when the model is loaded:
 *
 * <ul>
 *   <li>{@code init} (default; {@code eager} is a synonym): once, during init.
 *   <li>{@code lazy}: on the first invocation, then kept. A failed load is that invocation's
 *       error (type InitError) and the runtime exits 1.
 *   <li>{@code per-invoke}: read, parse, verify and build the predictor on every invocation (the
 *       study's naive baseline). A failed load is that invocation's error (type InitError).
 *   <li>{@code snapshot}: not possible for a JVM (see README.md, "Snapshots"): same as init, with
 *       one line on stderr saying so.
 * </ul>
 *
 * <p>_HANDLER is not consulted: this bundle has one handler (predict), and on AWS the handler
 * setting of a custom runtime is free text (examples/python does the same).
 */
public final class Main {
  private Main() {}

  private enum Loading {
    INIT,
    LAZY,
    PER_INVOKE
  }

  public static void main(String[] args) {
    final long start = System.nanoTime();
    int status;
    try {
      status = run(start);
    } catch (Throwable t) { // a bug in the loop itself: nothing escapes without a line on stderr
      System.err.println("bootstrap: fatal: " + t);
      status = 1;
    }
    System.out.flush();
    System.err.flush();
    System.exit(status);
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  /** Milliseconds since `start` with 3 decimals, without java.util.Formatter (slow to load). */
  private static String millisSince(long start) {
    long micros = (System.nanoTime() - start) / 1000;
    String frac = Long.toString(1000 + micros % 1000).substring(1);
    return (micros / 1000) + "." + frac;
  }

  private static int run(long start) {
    final String api = env("AWS_LAMBDA_RUNTIME_API", "");
    if (api.isEmpty()) {
      System.err.println("bootstrap: AWS_LAMBDA_RUNTIME_API is not set");
      return 1;
    }
    final RuntimeClient client;
    try {
      client = new RuntimeClient(api);
    } catch (IllegalArgumentException e) {
      System.err.println("bootstrap: AWS_LAMBDA_RUNTIME_API '" + api + "' is not host:port");
      return 1;
    }
    try {
      return serve(client, start);
    } catch (RuntimeClient.Gone e) {
      System.err.println("bootstrap: " + e.getMessage());
      return 1;
    }
  }

  /** Reports an init failure the way Lambda expects, then the runtime exits 1. */
  private static int initFailed(RuntimeClient client, String message) {
    try {
      client.postInitError("InitError", message);
    } catch (RuntimeClient.Gone ignored) {
      // Nobody to tell but stderr.
    }
    System.err.println("bootstrap: init failed: " + message);
    return 1;
  }

  private static int serve(RuntimeClient client, long start) throws RuntimeClient.Gone {
    final String function = env("AWS_LAMBDA_FUNCTION_NAME", "-");
    final String version = env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    final String setting = env("MLFAAS_MODEL_LOADING", "init");
    final Loading loading;
    switch (setting) {
      case "init":
      case "eager":
        loading = Loading.INIT;
        break;
      case "snapshot":
        System.err.println(
            "bootstrap: MLFAAS_MODEL_LOADING=snapshot: the JVM cannot be forked safely (fork copies"
                + " only the calling thread, not the GC, JIT compiler and signal threads), so"
                + " snapshot falls back to init");
        loading = Loading.INIT;
        break;
      case "lazy":
        loading = Loading.LAZY;
        break;
      case "per-invoke":
        loading = Loading.PER_INVOKE;
        break;
      default:
        return initFailed( // the built-in runtime's message
            client,
            "MLFAAS_MODEL_LOADING must be one of per-invoke | init | lazy | snapshot, not '"
                + setting
                + "'");
    }
    final Path taskRoot;
    try {
      taskRoot = Paths.get(env("LAMBDA_TASK_ROOT", "."));
    } catch (InvalidPathException e) {
      return initFailed(client, "LAMBDA_TASK_ROOT is not a valid path: " + e.getMessage());
    }

    Model model = null;
    if (loading == Loading.INIT) {
      try {
        model = Model.load(taskRoot, version);
      } catch (Model.InitError e) {
        return initFailed(client, e.getMessage());
      } catch (RuntimeException | Error e) { // a bug, or out of memory: still an init error
        return initFailed(client, e.toString());
      }
      System.out.println(
          "bootstrap (java): function " + function + " version " + version + " model "
              + model.name + " digest " + model.digest + " loaded at init (strategy "
              + setting + ") in " + millisSince(start) + " ms");
    } else {
      System.out.println(
          "bootstrap (java): function " + function + " version " + version + " ready in "
              + millisSince(start) + " ms (strategy " + setting + ": the model loads "
              + (loading == Loading.LAZY ? "on the first invocation" : "on every invocation")
              + ")");
    }
    System.out.flush();

    for (; ; ) {
      RuntimeClient.Invocation inv = client.next();
      Model m = model;
      if (m == null) {
        final long t0 = System.nanoTime();
        try {
          m = Model.load(taskRoot, version);
        } catch (Model.InitError | RuntimeException | Error e) {
          // This invocation fails with InitError. A lazy load is the instance's init: the
          // runtime exits (as the built-in one does); per-invoke tries again next time.
          String message = e instanceof Model.InitError ? e.getMessage() : e.toString();
          client.postError(inv.requestId, "InitError", message);
          System.err.println("bootstrap: loading the model failed: " + message);
          if (loading == Loading.LAZY) return 1;
          continue;
        }
        if (loading == Loading.LAZY) {
          model = m;
          System.out.println(
              "bootstrap (java): function " + function + " version " + version + " model "
                  + m.name + " digest " + m.digest + " loaded lazily in " + millisSince(t0)
                  + " ms");
          System.out.flush();
        }
      }
      byte[] result = null;
      String errorType = null, errorMessage = null;
      try {
        result = m.handle(inv.payload).getBytes(StandardCharsets.UTF_8);
      } catch (Model.InvalidInput e) {
        errorType = "InvalidInput";
        errorMessage = e.getMessage();
      } catch (Throwable t) { // a bug (or out of memory): a function error, never the loop's end
        errorType = "HandlerException";
        errorMessage = t.getClass().getSimpleName() + ": " + t.getMessage();
      }
      if (errorType != null) {
        client.postError(inv.requestId, errorType, errorMessage);
      } else {
        client.postResponse(inv.requestId, result);
      }
    }
  }
}
