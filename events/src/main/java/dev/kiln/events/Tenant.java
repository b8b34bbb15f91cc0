package dev.kiln.events;

import dev.kiln.events.security.SecretBox;
import dev.kiln.events.security.Tokens;
import java.net.URI;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One tenant of the farm, as stored in the compacted {@code kiln.tenants} topic (key: the name).
 * Tokens are kept only as SHA-256 hashes and index passwords only sealed ({@link SecretBox}), so
 * the topic holds nothing a reader could sign in or fetch with.
 *
 * @param sources repository URL prefixes builds may fetch from; empty means the farm default,
 *     {@code file://<sourceRoot>/<tenant>/}
 * @param buildpackLevel the classic-buildpack version whose behaviour the tenant's builds get (see
 *     {@code docs/buildpack.md#behaviour-levels}); null for the farm's own rules
 * @param appBuildpackLevels a level for single apps, which wins over {@code buildpackLevel}: how an
 *     operator moves a tenant one app at a time
 */
public record Tenant(
    String name,
    List<TokenHash> tokens,
    List<String> sources,
    List<TenantIndex> indexes,
    Quotas quotas,
    Instant createdAt,
    Instant updatedAt,
    List<AppLink> apps,
    Integer buildpackLevel,
    Map<String, Integer> appBuildpackLevels)
    implements EventBody {

  public static final int MAX_TOKENS = 10;
  public static final int MAX_SOURCES = 100;
  public static final int MAX_INDEXES = 20;

  /**
   * Links live in the tenant's record, so the whole record must stay far below Kafka's 1 MB: a link
   * is about 300 bytes.
   */
  public static final int MAX_APP_LINKS = 500;

  /** Apps with a level of their own: a few bytes each, far below Kafka's record limit. */
  public static final int MAX_APP_LEVELS = 1000;

  @com.fasterxml.jackson.annotation.JsonCreator
  public Tenant {
    tokens = tokens == null ? List.of() : List.copyOf(tokens);
    sources = sources == null ? List.of() : List.copyOf(sources);
    indexes = indexes == null ? List.of() : List.copyOf(indexes);
    quotas = quotas == null ? Quotas.DEFAULTS : quotas;
    apps = apps == null ? List.of() : List.copyOf(apps);
    appBuildpackLevels =
        appBuildpackLevels == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(appBuildpackLevels));
  }

  /** A tenant on the farm's own buildpack rules (records written before levels read like this). */
  public Tenant(
      String name,
      List<TokenHash> tokens,
      List<String> sources,
      List<TenantIndex> indexes,
      Quotas quotas,
      Instant createdAt,
      Instant updatedAt,
      List<AppLink> apps) {
    this(name, tokens, sources, indexes, quotas, createdAt, updatedAt, apps, null, Map.of());
  }

  /** The level an app's builds get: its own, else the tenant's; null for the farm's own rules. */
  public Integer buildpackLevelFor(String app) {
    Integer own = appBuildpackLevels.get(app);
    return own != null ? own : buildpackLevel;
  }

  /** The same tenant with other buildpack levels. */
  public Tenant withBuildpackLevels(Integer level, Map<String, Integer> perApp, Instant at) {
    return new Tenant(name, tokens, sources, indexes, quotas, createdAt, at, apps, level, perApp);
  }

  /** A tenant without app links (records written before links existed read back like this). */
  public Tenant(
      String name,
      List<TokenHash> tokens,
      List<String> sources,
      List<TenantIndex> indexes,
      Quotas quotas,
      Instant createdAt,
      Instant updatedAt) {
    this(name, tokens, sources, indexes, quotas, createdAt, updatedAt, List.of());
  }

  /** The app's link to a forge repository and branch, if it has one. */
  public java.util.Optional<AppLink> appLink(String app) {
    return apps.stream().filter(a -> a.app().equals(app)).findFirst();
  }

  /** A token's hash, with an id to name it when it is revoked. */
  public record TokenHash(String id, String sha256, Instant createdAt) {}

  /**
   * A private package index.
   *
   * @param sealedPassword {@code v1:…} from {@link SecretBox#seal}, AAD {@link
   *     SecretBox#tenantSecretAad}; null when the index needs none
   */
  public record TenantIndex(String name, String url, String username, String sealedPassword) {
    public IndexRef ref() {
      return new IndexRef(name, url);
    }

    /**
     * The index's password, opened with the farm's secret key, or null when it has none.
     *
     * @param tenant the name of the tenant this index belongs to (part of the sealed data)
     * @throws IllegalArgumentException when it does not open (another key, another tenant's value)
     */
    public String password(SecretBox secrets, String tenant) {
      return sealedPassword == null
          ? null
          : secrets.open(SecretBox.tenantSecretAad(tenant, name), sealedPassword);
    }
  }

  /**
   * Per-tenant limits.
   *
   * @param concurrentBuilds builds running at once; more wait QUEUED
   * @param queuedBuilds builds waiting; more are refused (HTTP 429) or fail {@code
   *     quota::queued-builds}
   * @param storeBytes bytes of tenant-scoped blobs the cache-service keeps
   */
  public record Quotas(int concurrentBuilds, int queuedBuilds, long storeBytes) {
    public static final Quotas DEFAULTS = new Quotas(4, 50, 20L << 30);

    void validate() throws InvalidEventException {
      Check.positive("quotas.concurrentBuilds", concurrentBuilds);
      if (queuedBuilds < 0) {
        throw new InvalidEventException(
            "quotas.queuedBuilds", "is " + queuedBuilds + "; it must be 0 or more");
      }
      if (storeBytes < 1) {
        throw new InvalidEventException(
            "quotas.storeBytes", "is " + storeBytes + "; it must be 1 or more");
      }
    }
  }

  /** The index of this name, if the tenant configured one. */
  public java.util.Optional<TenantIndex> index(String indexName) {
    return indexes.stream().filter(i -> i.name().equals(indexName)).findFirst();
  }

  /** The indexes as a worker may see them: names and URLs, no credentials. */
  public List<IndexRef> indexRefs() {
    return indexes.stream().map(TenantIndex::ref).toList();
  }

  @Override
  public void validate() throws InvalidEventException {
    Check.name("name", name);
    if (tokens.size() > MAX_TOKENS) {
      throw new InvalidEventException(
          "tokens",
          "has " + tokens.size() + " tokens; at most " + MAX_TOKENS + " (revoke old ones first)");
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < tokens.size(); i++) {
      TokenHash t = tokens.get(i);
      Check.present("tokens[" + i + "]", t);
      Check.text("tokens[" + i + "].id", t.id());
      if (!ids.add(t.id())) {
        throw new InvalidEventException("tokens[" + i + "].id", "'" + t.id() + "' is used twice");
      }
      if (!Tokens.isSha256Hex(t.sha256())) {
        throw new InvalidEventException(
            "tokens[" + i + "].sha256",
            "is not a SHA-256 in hex; a tenant record stores token hashes, never tokens");
      }
    }
    if (sources.size() > MAX_SOURCES) {
      throw new InvalidEventException(
          "sources", "has " + sources.size() + " prefixes; at most " + MAX_SOURCES);
    }
    for (int i = 0; i < sources.size(); i++) {
      checkSourcePrefix("sources[" + i + "]", sources.get(i));
    }
    if (indexes.size() > MAX_INDEXES) {
      throw new InvalidEventException(
          "indexes", "has " + indexes.size() + " indexes; at most " + MAX_INDEXES);
    }
    Set<String> indexNames = new HashSet<>();
    for (int i = 0; i < indexes.size(); i++) {
      String field = "indexes[" + i + "]";
      TenantIndex index = indexes.get(i);
      Check.present(field, index);
      Check.name(field + ".name", index.name());
      if (!indexNames.add(index.name())) {
        throw new InvalidEventException(
            field + ".name", "'" + index.name() + "' is configured twice");
      }
      checkIndexUrl(field + ".url", index.url());
      if (index.sealedPassword() != null && !index.sealedPassword().startsWith(SecretBox.PREFIX)) {
        throw new InvalidEventException(
            field + ".sealedPassword",
            "is not sealed; passwords are stored only as " + SecretBox.PREFIX + "… values");
      }
    }
    quotas.validate();
    if (apps.size() > MAX_APP_LINKS) {
      throw new InvalidEventException(
          "apps", "has " + apps.size() + " linked apps; at most " + MAX_APP_LINKS);
    }
    Set<String> appNames = new HashSet<>();
    for (int i = 0; i < apps.size(); i++) {
      String field = "apps[" + i + "]";
      AppLink link = apps.get(i);
      Check.present(field, link);
      link.validate(field);
      if (!appNames.add(link.app())) {
        throw new InvalidEventException(field + ".app", "'" + link.app() + "' is linked twice");
      }
    }
    checkBuildpackLevel("buildpackLevel", buildpackLevel);
    if (appBuildpackLevels.size() > MAX_APP_LEVELS) {
      throw new InvalidEventException(
          "appBuildpackLevels",
          "has "
              + appBuildpackLevels.size()
              + " apps; at most "
              + MAX_APP_LEVELS
              + " (give the tenant a level instead)");
    }
    for (Map.Entry<String, Integer> e : appBuildpackLevels.entrySet()) {
      Check.name("appBuildpackLevels key", e.getKey());
      Check.present("appBuildpackLevels." + e.getKey(), e.getValue());
      checkBuildpackLevel("appBuildpackLevels." + e.getKey(), e.getValue());
    }
  }

  /**
   * A level is a classic-buildpack version number. Which ones Kiln knows is the buildpack module's
   * data ({@code BuildpackLevel.known()}), checked where a level is set; this only keeps the number
   * sane.
   */
  public static void checkBuildpackLevel(String field, Integer level) throws InvalidEventException {
    if (level != null && (level < 1 || level > 9999)) {
      throw new InvalidEventException(
          field, "is " + level + "; a buildpack level is a version number such as 289 or 351");
    }
  }

  /**
   * A repository URL prefix: a URL Kiln can fetch, ending with '/' so that {@code …/acme/} does not
   * also allow {@code …/acme-other/}.
   */
  public static void checkSourcePrefix(String field, String prefix) throws InvalidEventException {
    Check.repositoryUrl(field, prefix);
    if (!prefix.endsWith("/") && !prefix.endsWith(":")) {
      throw new InvalidEventException(
          field,
          "'"
              + Quote.safe(prefix, 120)
              + "' must end with '/' (e.g. https://git.example.com/acme/), so it cannot also match"
              + " a sibling such as …/acme-other");
    }
    if (prefix.contains("/../") || prefix.contains("/./")) {
      throw new InvalidEventException(
          field, "'" + Quote.safe(prefix, 120) + "' contains '.' or '..' path segments");
    }
    if (prefix.matches("[a-z+]+://[^/]*:[^/@]*@.*")) {
      throw new InvalidEventException(
          field, "carries a password; give the prefix without credentials");
    }
  }

  /** An index URL: http(s) with a host and no credentials (those go in username / password). */
  public static void checkIndexUrl(String field, String url) throws InvalidEventException {
    Check.text(field, url);
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new InvalidEventException(field, "'" + Quote.safe(url, 120) + "' is not a URL");
    }
    if (!("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))
        || uri.getHost() == null) {
      throw new InvalidEventException(
          field,
          "'"
              + Quote.safe(url, 120)
              + "' is not an http(s) URL with a host, e.g. https://pypi.example.com/simple/");
    }
    if (uri.getRawUserInfo() != null) {
      throw new InvalidEventException(
          field,
          "carries credentials in the URL; give the URL without them and pass username and"
              + " password separately (the password is stored sealed)");
    }
  }
}
