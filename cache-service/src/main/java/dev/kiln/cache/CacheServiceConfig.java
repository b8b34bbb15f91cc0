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
 * @param projectPageTtl how long an upstream project page is reused before it is fetched again;
 *     null means {@link #DEFAULT_PROJECT_PAGE_TTL}, zero disables the page cache
 */
public record CacheServiceConfig(
    Path root, String upstreamIndexUrl, String host, int port, Duration projectPageTtl) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final Duration DEFAULT_PROJECT_PAGE_TTL = Duration.ofMinutes(10);
  public static final String PUBLIC_PYPI_INDEX = "https://pypi.org/simple/";

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
  }

  /** Listen on {@value #DEFAULT_HOST}, a free port, with the default page TTL. */
  public static CacheServiceConfig of(Path root, String upstreamIndexUrl) {
    return new CacheServiceConfig(
        root, upstreamIndexUrl, DEFAULT_HOST, 0, DEFAULT_PROJECT_PAGE_TTL);
  }

  public CacheServiceConfig withPort(int newPort) {
    return new CacheServiceConfig(root, upstreamIndexUrl, host, newPort, projectPageTtl);
  }

  public CacheServiceConfig withProjectPageTtl(Duration ttl) {
    return new CacheServiceConfig(root, upstreamIndexUrl, host, port, ttl);
  }

  private static String normalizeIndexUrl(String url) {
    URI uri;
    try {
      uri = URI.create(url.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "upstream index URL '"
              + url
              + "' is not a URL: "
              + e.getMessage()
              + "; use e.g. "
              + PUBLIC_PYPI_INDEX,
          e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("file")) {
      throw new IllegalArgumentException(
          "upstream index URL '"
              + url
              + "' must be http://, https:// or file:// (a directory), e.g. "
              + PUBLIC_PYPI_INDEX);
    }
    String text = uri.toString();
    // Relative links on index pages resolve against the page URL, so the root must end in '/'.
    return text.endsWith("/") ? text : text + "/";
  }
}
