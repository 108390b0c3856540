package mlfaas.runtime;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * A client of the AWS Lambda Runtime API (2018-06-01), java.net.http only.
 *
 * <p>Works unchanged on AWS Lambda (provided.al2023) and on mlfaas: every URL is
 * http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/... over HTTP/1.1 (the client's default,
 * HTTP/2, would offer an h2c upgrade on every request). The client keeps its connection alive
 * between calls. Any connection failure raises {@link Gone}, after which the bootstrap exits (the
 * platform replaces the instance).
 *
 * <p>Two settings make the client cheaper, which matters under a small CPU quota (0.145 vCPU at
 * 256 MB):
 *
 * <ul>
 *   <li>The Runtime API is plain HTTP, so the client gets a TLS context that cannot do TLS
 *       ({@link NoTls}): HttpClient.newBuilder().build() otherwise calls SSLContext.getDefault(),
 *       which loads the JSSE provider and parses the CA trust store, about 250 ms of CPU at every
 *       cold start.
 *   <li>Its internal tasks run on the thread that triggers them (a direct executor) instead of
 *       hopping to a thread pool: about 0.3 of the 0.8 ms of CPU a warm invocation costs. The
 *       body handlers only collect bytes, so nothing blocks the client's selector thread.
 * </ul>
 *
 * <p>On a pooled connection that the server closed, the client retries a GET once on a new
 * connection; when that is refused, {@link Gone} is raised as usual.
 */
final class RuntimeClient {
  /** The Runtime API is unreachable or closed the connection: the runtime must exit. */
  static final class Gone extends Exception {
    private static final long serialVersionUID = 1L;

    Gone(String message) {
      super(message, null, false, false);
    }
  }

  /** What GET /invocation/next returned: the event and its Lambda-Runtime-* headers. */
  static final class Invocation {
    final String requestId;
    final long deadlineMs;
    final String functionArn;
    final String traceId;
    final String clientContext;
    final String cognitoIdentity;
    final byte[] payload; // the event, as sent

    Invocation(HttpResponse<byte[]> r) {
      requestId = header(r, "Lambda-Runtime-Aws-Request-Id");
      long deadline = 0;
      try {
        deadline = Long.parseLong(header(r, "Lambda-Runtime-Deadline-Ms"));
      } catch (NumberFormatException absent) {
        // 0: no deadline given
      }
      deadlineMs = deadline;
      functionArn = header(r, "Lambda-Runtime-Invoked-Function-Arn");
      traceId = header(r, "Lambda-Runtime-Trace-Id");
      clientContext = header(r, "Lambda-Runtime-Client-Context");
      cognitoIdentity = header(r, "Lambda-Runtime-Cognito-Identity");
      payload = r.body();
    }

    private static String header(HttpResponse<?> r, String name) {
      return r.headers().firstValue(name).orElse("");
    }
  }

  private final String base;
  private final HttpClient http;
  private final HttpRequest next; // immutable, sent again and again

  /** `endpoint`: host:port ("127.0.0.1:9001", "[::1]:9001"). */
  RuntimeClient(String endpoint) {
    base = "http://" + endpoint + "/2018-06-01/runtime";
    URI.create(base); // IllegalArgumentException now rather than on the first call
    http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(new SSLContext(new NoTls(), null, "none") {})
            .sslParameters(new SSLParameters())
            .executor(Runnable::run)
            .build();
    next = HttpRequest.newBuilder(URI.create(base + "/invocation/next")).GET().build();
  }

  /** A TLS implementation that refuses to work: the Runtime API is never https. */
  private static final class NoTls extends SSLContextSpi {
    private static UnsupportedOperationException refuse() {
      return new UnsupportedOperationException("the Lambda Runtime API client speaks plain HTTP");
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) {}

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      throw refuse();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
      throw refuse();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
      throw refuse();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
      throw refuse();
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
      throw refuse();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
      throw refuse();
    }
  }

  /** Long poll for the next event (no client timeout). */
  Invocation next() throws Gone {
    HttpResponse<byte[]> r = send(next, "/invocation/next");
    if (r.statusCode() != 200) {
      throw new Gone("runtime API answered " + r.statusCode() + " to /invocation/next");
    }
    return new Invocation(r);
  }

  void postResponse(String requestId, byte[] payload) throws Gone {
    post("/invocation/" + requestId + "/response", payload, null);
  }

  void postError(String requestId, String errorType, String message) throws Gone {
    post("/invocation/" + requestId + "/error", errorBody(errorType, message), errorType);
  }

  void postInitError(String errorType, String message) throws Gone {
    post("/init/error", errorBody(errorType, message), errorType);
  }

  /** {"errorMessage": message, "errorType": type}, as the C++ runtime writes it. */
  static byte[] errorBody(String errorType, String message) {
    StringBuilder sb = new StringBuilder("{\"errorMessage\":");
    Json.appendString(sb, message);
    sb.append(",\"errorType\":");
    Json.appendString(sb, errorType);
    return sb.append('}').toString().getBytes(StandardCharsets.UTF_8);
  }

  private void post(String path, byte[] body, String errorType) throws Gone {
    URI uri;
    try {
      uri = URI.create(base + path);
    } catch (IllegalArgumentException e) { // a request id that is not a valid path segment
      System.out.println("bootstrap: cannot post to " + path + ": " + e.getMessage());
      return;
    }
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (errorType != null) b.header("Lambda-Runtime-Function-Error-Type", errorType);
    HttpResponse<byte[]> r;
    try {
      r = send(b.build(), path);
    } catch (RuntimeException e) { // e.g. a header value HttpClient refuses: this call only
      System.out.println("bootstrap: cannot post to " + path + ": " + e);
      return;
    }
    if (r.statusCode() < 200 || r.statusCode() > 299) {
      // Concerns this call only (e.g. 413 for an oversized response): report and go on.
      byte[] data = r.body();
      String text = new String(data, 0, Math.min(data.length, 200), StandardCharsets.UTF_8);
      System.out.println(
          "bootstrap: runtime API answered " + r.statusCode() + " to " + path + ": " + text);
    }
  }

  private HttpResponse<byte[]> send(HttpRequest request, String path) throws Gone {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new Gone("runtime API connection lost (" + path + "): " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Gone("interrupted while calling the runtime API (" + path + ")");
    }
  }
}
