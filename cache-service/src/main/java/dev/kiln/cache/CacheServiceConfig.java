package dev.kiln.cache;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Settings of one cache-service.
 *
 * @param root directory holding the store ({@code cas/v1/…}, {@code ac/v1/…}); created if missing
 * @param upstreamIndexUrl the one PEP 503 index proxied under {@code /simple/}: {@code http(s)://…}
 *     or a {@code file://} directory
 * @param host interface to listen on; null means {@value #DEFAULT_HOST}
 * @param port port to listen on; 0 picks a free one (see {@link CacheServiceVerticle#actualPort()})
 * @param projectPageTtl how long an upstream project page (and the NLTK data index) is reused
 *     before it is fetched again; null means {@link #DEFAULT_PROJECT_PAGE_TTL}, zero disables the
 *     page cache
 * @param nltkDataUrl the NLTK data index proxied under {@code /nltk/}: the URL of an {@code
 *     index.xml} over {@code http(s)://} or {@code file://} (a URL ending in {@code /} means its
 *     {@code index.xml}); null means {@value #PUBLIC_NLTK_DATA_INDEX}
 * @param maxNltkPackageBytes the largest NLTK package zip the service fetches and stores; 0 means
 *     {@value #DEFAULT_MAX_NLTK_PACKAGE_BYTES}
 */
public record CacheServiceConfig(
    Path root,
    String upstreamIndexUrl,
    String host,
    int port,
    Duration projectPageTtl,
    String nltkDataUrl,
    long maxNltkPackageBytes) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final Duration DEFAULT_PROJECT_PAGE_TTL = Duration.ofMinutes(10);
  public static final String PUBLIC_PYPI_INDEX = "https://pypi.org/simple/";
  public static final String PUBLIC_NLTK_DATA_INDEX =
      "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/index.xml";
  // 1 GiB: the largest package on the public index is a few hundred MiB.
  public static final long DEFAULT_MAX_NLTK_PACKAGE_BYTES = 1L << 30;

  public CacheServiceConfig {
    Objects.requireNonNull(root, "root: the directory for the store is required");
    Objects.requireNonNull(upstreamIndexUrl, "upstreamIndexUrl: the index to proxy is required");
    upstreamIndexUrl = normalizeIndexUrl(upstreamIndexUrl);
    host = host == null || host.isBlank() ? DEFAULT_HOST : host;
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "port " + port + " is out of range: use 1-65535, or 0 to pick a free port");
    }
    projectPageTtl = projectPageTtl == null ? DEFAULT_PROJECT_PAGE_TTL : projectPageTtl;
    if (projectPageTtl.isNegative()) {
      throw new IllegalArgumentException(
          "projectPageTtl " + projectPageTtl + " is negative: use zero to disable the page cache");
    }
    nltkDataUrl = normalizeNltkDataUrl(nltkDataUrl == null ? PUBLIC_NLTK_DATA_INDEX : nltkDataUrl);
    maxNltkPackageBytes =
        maxNltkPackageBytes == 0 ? DEFAULT_MAX_NLTK_PACKAGE_BYTES : maxNltkPackageBytes;
    if (maxNltkPackageBytes < 0) {
      throw new IllegalArgumentException(
          "maxNltkPackageBytes "
              + maxNltkPackageBytes
              + " is negative: give the largest package zip to accept, or 0 for the default");
    }
  }

  /** The NLTK data index and package limit take their defaults. */
  public CacheServiceConfig(
      Path root, String upstreamIndexUrl, String host, int port, Duration projectPageTtl) {
    this(root, upstreamIndexUrl, host, port, projectPageTtl, null, 0);
  }

  /** Listen on {@value #DEFAULT_HOST}, a free port, with the default page TTL. */
  public static CacheServiceConfig of(Path root, String upstreamIndexUrl) {
    return new CacheServiceConfig(
        root, upstreamIndexUrl, DEFAULT_HOST, 0, DEFAULT_PROJECT_PAGE_TTL);
  }

  public CacheServiceConfig withPort(int newPort) {
    return new CacheServiceConfig(
        root, upstreamIndexUrl, host, newPort, projectPageTtl, nltkDataUrl, maxNltkPackageBytes);
  }

  public CacheServiceConfig withProjectPageTtl(Duration ttl) {
    return new CacheServiceConfig(
        root, upstreamIndexUrl, host, port, ttl, nltkDataUrl, maxNltkPackageBytes);
  }

  /** Proxy another NLTK data index, e.g. {@code file:///srv/nltk_data/index.xml}. */
  public CacheServiceConfig withNltkDataUrl(String url) {
    return new CacheServiceConfig(
        root, upstreamIndexUrl, host, port, projectPageTtl, url, maxNltkPackageBytes);
  }

  public CacheServiceConfig withMaxNltkPackageBytes(long maxBytes) {
    return new CacheServiceConfig(
        root, upstreamIndexUrl, host, port, projectPageTtl, nltkDataUrl, maxBytes);
  }

  private static String normalizeIndexUrl(String url) {
    String text =
        upstreamUrl(url, "upstream index", "file:// (a directory)", PUBLIC_PYPI_INDEX).toString();
    // Relative links on index pages resolve against the page URL, so the root must end in '/'.
    return text.endsWith("/") ? text : text + "/";
  }

  private static String normalizeNltkDataUrl(String url) {
    String text =
        upstreamUrl(url, "NLTK data index", "file:// (an index.xml)", PUBLIC_NLTK_DATA_INDEX)
            .toString();
    return text.endsWith("/") ? text + "index.xml" : text;
  }

  private static URI upstreamUrl(String url, String what, String fileForm, String example) {
    URI uri;
    try {
      uri = URI.create(url.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          what + " URL '" + url + "' is not a URL: " + e.getMessage() + "; use e.g. " + example, e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("file")) {
      throw new IllegalArgumentException(
          what
              + " URL '"
              + url
              + "' must be http://, https:// or "
              + fileForm
              + ", e.g. "
              + example);
    }
    return uri;
  }
}
