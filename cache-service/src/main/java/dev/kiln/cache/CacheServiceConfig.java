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
 * @param farmTokenSha256 lowercase hex SHA-256 of the farm token every request but {@code GET
 *     /health} must present as {@code Authorization: Bearer}; null turns authentication off (only
 *     for tests of other modules: {@code kiln up} always sets it)
 * @param maxBlobBytes the largest blob stored, by upload or from an upstream index; 0 means {@value
 *     #DEFAULT_MAX_BLOB_BYTES}
 * @param maxStoreBytes the most bytes all blobs together may take (least recently used blobs no
 *     action result names are evicted to make room); 0 means unbounded
 * @param maxIndexPageBytes the largest upstream index page (project list or project page) read; 0
 *     means {@value #DEFAULT_MAX_INDEX_PAGE_BYTES}
 * @param tenantDirectory tenants' private indexes and store quotas; null means {@link
 *     TenantDirectory#none()}
 * @param objectStore the S3-compatible bucket holding blobs and action results, shared by every
 *     replica; null keeps them on local disk under {@code root}. With one, {@code root} holds only
 *     a local cache of blobs, which {@code maxStoreBytes} bounds (least recently used go first; the
 *     bucket keeps them), and tenants' store quotas count their bytes in the bucket ({@link
 *     SharedTenantUsage})
 */
public record CacheServiceConfig(
    Path root,
    String upstreamIndexUrl,
    String host,
    int port,
    Duration projectPageTtl,
    String nltkDataUrl,
    long maxNltkPackageBytes,
    String farmTokenSha256,
    long maxBlobBytes,
    long maxStoreBytes,
    long maxIndexPageBytes,
    TenantDirectory tenantDirectory,
    ObjectStoreSettings objectStore) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final Duration DEFAULT_PROJECT_PAGE_TTL = Duration.ofMinutes(10);
  public static final String PUBLIC_PYPI_INDEX = "https://pypi.org/simple/";
  public static final String PUBLIC_NLTK_DATA_INDEX =
      "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/index.xml";
  // 1 GiB: the largest package on the public index is a few hundred MiB.
  public static final long DEFAULT_MAX_NLTK_PACKAGE_BYTES = 1L << 30;

  /** 2 GiB: larger than any wheel or dependency layer a sane build makes. */
  public static final long DEFAULT_MAX_BLOB_BYTES = 2L << 30;

  /** 256 MiB: PyPI's whole project list is a few tens of MiB. */
  public static final long DEFAULT_MAX_INDEX_PAGE_BYTES = 256L << 20;

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
    if (farmTokenSha256 != null) {
      new FarmCredential(farmTokenSha256); // validates the form
      farmTokenSha256 = farmTokenSha256.strip().toLowerCase(java.util.Locale.ROOT);
    }
    maxBlobBytes = positiveOrDefault("maxBlobBytes", maxBlobBytes, DEFAULT_MAX_BLOB_BYTES);
    maxStoreBytes = positiveOrDefault("maxStoreBytes", maxStoreBytes, Long.MAX_VALUE);
    maxIndexPageBytes =
        positiveOrDefault("maxIndexPageBytes", maxIndexPageBytes, DEFAULT_MAX_INDEX_PAGE_BYTES);
    tenantDirectory = tenantDirectory == null ? TenantDirectory.none() : tenantDirectory;
  }

  /** Authentication off, default limits, no tenant directory. */
  public CacheServiceConfig(
      Path root,
      String upstreamIndexUrl,
      String host,
      int port,
      Duration projectPageTtl,
      String nltkDataUrl,
      long maxNltkPackageBytes) {
    this(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        null,
        0,
        0,
        0,
        null,
        null);
  }

  private static long positiveOrDefault(String name, long value, long defaultValue) {
    if (value < 0) {
      throw new IllegalArgumentException(
          name + " " + value + " is negative: give a number of bytes, or 0 for the default");
    }
    return value == 0 ? defaultValue : value;
  }

  /** Whether requests must carry the farm token. */
  public boolean authenticationRequired() {
    return farmTokenSha256 != null;
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
        root,
        upstreamIndexUrl,
        host,
        newPort,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  public CacheServiceConfig withProjectPageTtl(Duration ttl) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        ttl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  /** Proxy another NLTK data index, e.g. {@code file:///srv/nltk_data/index.xml}. */
  public CacheServiceConfig withNltkDataUrl(String url) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        url,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  public CacheServiceConfig withMaxNltkPackageBytes(long maxBytes) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  /**
   * Require {@code Authorization: Bearer <farm token>} on everything but {@code GET /health}.
   *
   * @param sha256Hex lowercase hex SHA-256 of the farm token (never the token itself)
   */
  public CacheServiceConfig withFarmTokenSha256(String sha256Hex) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        sha256Hex,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  /** The SHA-256 (lowercase hex) of a token, the form {@link #withFarmTokenSha256} takes. */
  public static String sha256Hex(String token) {
    return FarmCredential.sha256Hex(token);
  }

  public CacheServiceConfig withMaxBlobBytes(long maxBytes) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  public CacheServiceConfig withMaxStoreBytes(long maxBytes) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxBytes,
        maxIndexPageBytes,
        tenantDirectory,
        objectStore);
  }

  public CacheServiceConfig withMaxIndexPageBytes(long maxBytes) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxBytes,
        tenantDirectory,
        objectStore);
  }

  /** Where tenants' private indexes and store quotas come from (e.g. the kiln.tenants topic). */
  public CacheServiceConfig withTenantDirectory(TenantDirectory directory) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        directory,
        objectStore);
  }

  /**
   * Keep blobs and action results in an S3-compatible bucket shared by several replicas; the local
   * disk under {@code root} becomes a cache bounded by {@link #withMaxStoreBytes}.
   */
  public CacheServiceConfig withObjectStore(ObjectStoreSettings settings) {
    return new CacheServiceConfig(
        root,
        upstreamIndexUrl,
        host,
        port,
        projectPageTtl,
        nltkDataUrl,
        maxNltkPackageBytes,
        farmTokenSha256,
        maxBlobBytes,
        maxStoreBytes,
        maxIndexPageBytes,
        tenantDirectory,
        settings);
  }

  /** Never prints the tenant directory's contents; the token hash is not secret but is short. */
  @Override
  public String toString() {
    return "CacheServiceConfig[root="
        + root
        + ", upstreamIndexUrl="
        + UrlRedaction.mask(upstreamIndexUrl)
        + ", host="
        + host
        + ", port="
        + port
        + ", authentication="
        + (farmTokenSha256 == null ? "off" : "farm token")
        + ", maxBlobBytes="
        + maxBlobBytes
        + (objectStore == null
            ? ", maxStoreBytes="
            : ", objectStore=" + objectStore + ", localCacheBytes=")
        + (maxStoreBytes == Long.MAX_VALUE ? "unbounded" : maxStoreBytes)
        + "]";
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
