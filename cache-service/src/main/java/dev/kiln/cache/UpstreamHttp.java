package dev.kiln.cache;

import dev.kiln.events.Digest;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;

/**
 * Non-blocking HTTP reads from an upstream index, turning every failure into a {@link CacheError}
 * that names the upstream: 404 stays 404, anything else is 502.
 */
final class UpstreamHttp {
  private static final int CONNECT_TIMEOUT_MS = 10_000;
  private static final long IDLE_TIMEOUT_SECONDS = 60;

  private final Vertx vertx;
  private final String indexLocation;
  private final HttpClientAgent client;
  private final boolean ownsClient;
  // Basic credentials of a private index, sent only to its origin; null for a public index.
  private final String authorization;
  private final URI credentialOrigin;

  /**
   * @param indexLocation the configured upstream index URL, named in every error (credentials in it
   *     are masked)
   */
  UpstreamHttp(Vertx vertx, String indexLocation) {
    this.vertx = vertx;
    this.indexLocation = UrlRedaction.mask(indexLocation);
    this.client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setConnectTimeout(CONNECT_TIMEOUT_MS)
                .setDecompressionSupported(true)
                .setMaxRedirects(5));
    this.ownsClient = true;
    this.authorization = null;
    this.credentialOrigin = null;
  }

  private UpstreamHttp(
      UpstreamHttp shared, String indexLocation, String authorization, URI credentialOrigin) {
    this.vertx = shared.vertx;
    this.client = shared.client;
    this.ownsClient = false;
    this.indexLocation = UrlRedaction.mask(indexLocation);
    this.authorization = authorization;
    this.credentialOrigin = credentialOrigin;
  }

  /**
   * A view for a tenant's private index, sharing this client's connections: it sends HTTP Basic
   * credentials to the index's own origin (scheme, host and port) and nowhere else, and follows no
   * redirects, so the credentials cannot be led to another host.
   *
   * @param username null for an index without credentials
   */
  UpstreamHttp forPrivateIndex(URI index, String username, String password) {
    String basic =
        username == null
            ? null
            : "Basic "
                + java.util.Base64.getEncoder()
                    .encodeToString(
                        (username + ":" + (password == null ? "" : password))
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return new UpstreamHttp(this, index.toString(), basic, origin(index));
  }

  private static URI origin(URI url) {
    String scheme =
        url.getScheme() == null ? "" : url.getScheme().toLowerCase(java.util.Locale.ROOT);
    int port = url.getPort() != -1 ? url.getPort() : scheme.equals("https") ? 443 : 80;
    return URI.create(
        scheme
            + "://"
            + String.valueOf(url.getHost()).toLowerCase(java.util.Locale.ROOT)
            + ":"
            + port);
  }

  private boolean privateIndex() {
    return credentialOrigin != null;
  }

  /** The body of a 200 answer to GET {@code url}; {@code what} describes it for messages. */
  Future<Buffer> get(URI url, String accept, String what) {
    return send(url, accept, what).compose(response -> response.body());
  }

  /**
   * The body of a 200 answer to GET {@code url}, refused (502, connection closed) as soon as it is
   * longer than {@code maxBytes}, so an upstream cannot make the service buffer without bound.
   */
  Future<Buffer> get(URI url, String accept, String what, long maxBytes) {
    return send(url, accept, what)
        .compose(response -> withinDeclaredLength(response, url, what, maxBytes))
        .compose(
            response -> {
              Promise<Buffer> received = Promise.promise();
              Buffer body = Buffer.buffer();
              response.exceptionHandler(broken -> received.tryFail(brokeOff(url, what, broken)));
              response.handler(
                  chunk -> {
                    if (chunk.length() <= maxBytes - body.length()) {
                      body.appendBuffer(chunk);
                    } else if (received.tryFail(tooLong(url, what, maxBytes))) {
                      abandon(response);
                    }
                  });
              response.endHandler(end -> received.tryComplete(body));
              return received.future();
            });
  }

  /** Streams GET {@code url} into {@code temp}, returning the digest of what arrived. */
  Future<Digest> download(URI url, Path temp, String what) {
    return download(url, temp, what, Long.MAX_VALUE, null);
  }

  /**
   * Streams GET {@code url} into {@code temp}, returning the SHA-256 of what arrived.
   *
   * @param maxBytes the transfer is stopped (502, connection closed) as soon as the body is longer
   * @param alsoHash fed the same bytes (e.g. an MD5 to check against what upstream promised), or
   *     null
   */
  Future<Digest> download(URI url, Path temp, String what, long maxBytes, MessageDigest alsoHash) {
    return send(url, "*/*", what)
        .compose(response -> withinDeclaredLength(response, url, what, maxBytes))
        .compose(
            response -> {
              // Hold the body while the file opens: a small one would otherwise be over before the
              // pipe.
              response.pause();
              return vertx
                  .fileSystem()
                  .open(temp.toString(), new OpenOptions().setWrite(true).setTruncateExisting(true))
                  .onFailure(cannotWrite -> response.resume())
                  .compose(
                      file -> {
                        HashingWriteStream hashing =
                            new HashingWriteStream(file, maxBytes, alsoHash);
                        return response
                            .pipeTo(hashing)
                            .recover(
                                broken -> {
                                  if (broken instanceof HashingWriteStream.TooLong) {
                                    // Stop the transfer rather than drain an endless body.
                                    abandon(response);
                                    return Future.failedFuture(tooLong(url, what, maxBytes));
                                  }
                                  return Future.failedFuture(brokeOff(url, what, broken));
                                })
                            .map(done -> hashing.digest());
                      });
            });
  }

  Future<Void> close() {
    return ownsClient ? client.close() : Future.succeededFuture();
  }

  private Future<HttpClientResponse> send(URI url, String accept, String what) {
    RequestOptions options =
        new RequestOptions()
            .setMethod(HttpMethod.GET)
            .setAbsoluteURI(url.toString())
            .setFollowRedirects(!privateIndex())
            .setIdleTimeout(TimeUnit.SECONDS.toMillis(IDLE_TIMEOUT_SECONDS))
            .putHeader("Accept", accept)
            .putHeader("User-Agent", "kiln-cache-service");
    boolean credentialed = authorization != null && origin(url).equals(credentialOrigin);
    if (credentialed) {
      options.putHeader(HttpHeaders.AUTHORIZATION, authorization);
    }
    return client
        .request(options)
        .compose(request -> request.send())
        .recover(
            unreachable ->
                Future.failedFuture(
                    CacheError.badGateway(
                        (privateIndex() ? "private index " : "upstream index ")
                            + indexLocation
                            + " is unreachable while fetching "
                            + what
                            + " ("
                            + UrlRedaction.mask(url)
                            + "): "
                            + describe(unreachable),
                        unreachable)))
        .compose(
            response -> {
              if (response.statusCode() == 200) {
                return Future.succeededFuture(response);
              }
              int status = response.statusCode();
              CacheError error =
                  privateIndex() && status >= 300 && status < 400
                      ? CacheError.badGateway(
                          "private index "
                              + indexLocation
                              + " answered "
                              + status
                              + " (a redirect) for "
                              + what
                              + " ("
                              + UrlRedaction.mask(url)
                              + "); the cache-service follows no redirects of a private index, so"
                              + " its credentials go nowhere else: configure the index's final URL",
                          null)
                      : credentialed && (status == 401 || status == 403)
                          ? CacheError.badGateway(
                              "private index "
                                  + indexLocation
                                  + " refused the configured credentials ("
                                  + status
                                  + ") for "
                                  + what
                                  + "; check the index's username and password (kiln tenants …)",
                              null)
                          : response.statusCode() == 404
                              ? CacheError.notFound(
                                  what
                                      + " is not on the upstream index "
                                      + indexLocation
                                      + " ("
                                      + UrlRedaction.mask(url)
                                      + " answered 404)")
                              : CacheError.badGateway(
                                  "upstream index "
                                      + indexLocation
                                      + " answered "
                                      + response.statusCode()
                                      + " "
                                      + response.statusMessage()
                                      + " for "
                                      + what
                                      + " ("
                                      + UrlRedaction.mask(url)
                                      + "); try again later or check the upstream index URL",
                                  null);
              // Drain the unwanted body first so the connection can be reused.
              return response.end().transform(drained -> Future.failedFuture(error));
            });
  }

  /** Refuses a body whose Content-Length is already over the limit, before reading any of it. */
  private Future<HttpClientResponse> withinDeclaredLength(
      HttpClientResponse response, URI url, String what, long maxBytes) {
    String declared = response.getHeader(HttpHeaders.CONTENT_LENGTH);
    long length;
    try {
      length = declared == null ? -1 : Long.parseLong(declared.strip());
    } catch (NumberFormatException e) {
      length = -1;
    }
    if (length > maxBytes) {
      abandon(response);
      return Future.failedFuture(tooLong(url, what, maxBytes));
    }
    return Future.succeededFuture(response);
  }

  /** Closes the connection mid-body; the reset this causes is expected, not worth a log line. */
  private static void abandon(HttpClientResponse response) {
    response.exceptionHandler(reset -> {});
    response.request().reset();
  }

  private CacheError tooLong(URI url, String what, long maxBytes) {
    return CacheError.badGateway(
        "upstream index "
            + indexLocation
            + " sent more than the "
            + maxBytes
            + " bytes accepted for "
            + what
            + " ("
            + UrlRedaction.mask(url)
            + "); the transfer was stopped and nothing was stored",
        null);
  }

  private CacheError brokeOff(URI url, String what, Throwable broken) {
    return CacheError.badGateway(
        "the download of "
            + what
            + " from upstream index "
            + indexLocation
            + " ("
            + UrlRedaction.mask(url)
            + ") broke off: "
            + describe(broken),
        broken);
  }

  private static String describe(Throwable failure) {
    String message = failure.getMessage();
    // Some failures quote the URL they were given; never let its userinfo through.
    return message == null || message.isBlank()
        ? failure.getClass().getSimpleName()
        : message.replaceAll("//[^/@\\s]*@", "//****@");
  }
}
