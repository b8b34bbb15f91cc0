package dev.kiln.worker.fetch;

import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decides whether the worker may fetch a repository URL for a tenant, and how git is to reach it.
 *
 * <ul>
 *   <li>{@code https://}, {@code http://}, {@code git://} and {@code ssh://} (also {@code
 *       user@host:path}) are fetched with git, which is allowed exactly that one protocol. Which
 *       hosts a tenant may name is the coordinator's allow-list ({@code Tenant.sources}).
 *   <li>{@code file://} URLs and plain paths only under {@code <sourceRoot>/<tenant>/}, after every
 *       symbolic link and {@code ..} is resolved; git is then given the resolved path, so nothing
 *       can be swapped in between. Without a source root no local repository may be fetched.
 *   <li>Everything else is refused: other schemes, git's remote helpers ({@code ext::}, {@code
 *       fd::}, any {@code <transport>::<address>}) which run programs, and URLs that look like
 *       command-line options.
 * </ul>
 */
public final class SourcePolicy {
  public static final String NOT_ALLOWED = "source::not-allowed";

  private static final Set<String> NETWORK_SCHEMES =
      Set.of("https", "http", "git", "ssh", "git+ssh", "ssh+git");
  private static final Pattern REMOTE_HELPER = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9+.-]*::.*");
  private static final Pattern SCHEME =
      Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*)://.*", Pattern.DOTALL);
  private static final Pattern SCP_LIKE = Pattern.compile("^(?:[^@/\\s]+@)?([^:/\\s]+):.*");

  /**
   * A repository the worker may fetch.
   *
   * @param gitUrl what git is given (for a local repository: its resolved absolute path)
   * @param protocol the one protocol git may use for it ({@code GIT_ALLOW_PROTOCOL})
   * @param identity the URL without credentials, which checkouts are keyed by
   * @param host the host and port to connect to, or null for a local repository
   */
  public record Allowed(String gitUrl, String protocol, String identity, HostAndPort host) {}

  /** Where a network repository lives; {@code port} is the scheme's default when not given. */
  public record HostAndPort(String host, int port) {}

  private final Path sourceRoot;

  /**
   * @param sourceRoot the directory holding each tenant's local repositories, or null for none
   */
  public SourcePolicy(Path sourceRoot) {
    this.sourceRoot = sourceRoot;
  }

  public Allowed check(String tenant, String repoUrl) throws StepFailure {
    if (repoUrl == null || repoUrl.isBlank()) {
      throw refused(repoUrl, "no repository URL was given");
    }
    String url = repoUrl.strip();
    if (url.startsWith("-") || url.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      throw refused(url, "it starts with '-' or holds control characters");
    }
    java.util.regex.Matcher scheme = SCHEME.matcher(url);
    if (scheme.matches()) {
      String name = scheme.group(1).toLowerCase(Locale.ROOT);
      if (name.equals("file")) {
        return local(tenant, url, fileUrlPath(url));
      }
      if (!NETWORK_SCHEMES.contains(name)) {
        throw refused(
            url,
            "Kiln fetches only https://, http://, git://, ssh:// and its own file:// repositories");
      }
      return network(url, name.startsWith("git+") || name.endsWith("+git") ? "ssh" : name);
    }
    if (REMOTE_HELPER.matcher(url).matches()) {
      throw refused(
          url,
          "'<transport>::<address>' makes git run a remote helper program (ext:: runs any command)");
    }
    java.util.regex.Matcher scp = SCP_LIKE.matcher(url);
    if (scp.matches() && !url.startsWith("/") && !url.startsWith(".")) {
      String host = scp.group(1);
      if (host.startsWith("-")) {
        throw refused(url, "the host looks like an ssh option");
      }
      return new Allowed(url, "ssh", redactUserInfo(url), new HostAndPort(host, 22));
    }
    try {
      return local(tenant, url, Path.of(url));
    } catch (InvalidPathException e) {
      throw refused(url, "it is neither a URL nor a path");
    }
  }

  private Allowed network(String url, String protocol) throws StepFailure {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw refused(url, "it is not a valid URL (" + e.getReason() + ")");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty() || host.startsWith("-")) {
      throw refused(url, "it names no host");
    }
    int port = uri.getPort();
    if (port < 0) {
      port =
          switch (protocol) {
            case "https" -> 443;
            case "http" -> 80;
            case "git" -> 9418;
            default -> 22;
          };
    }
    return new Allowed(url, protocol, redactUserInfo(url), new HostAndPort(host, port));
  }

  private static Path fileUrlPath(String url) throws StepFailure {
    try {
      URI uri = new URI(url);
      String authority = uri.getRawAuthority();
      if (authority != null && !authority.isEmpty() && !authority.equalsIgnoreCase("localhost")) {
        throw refused(url, "a file:// URL must not name a host");
      }
      if (uri.getPath() == null || uri.getPath().isEmpty()) {
        throw refused(url, "it names no path");
      }
      return Path.of(uri.getPath());
    } catch (URISyntaxException | InvalidPathException e) {
      throw refused(url, "it is not a valid file:// URL");
    }
  }

  private Allowed local(String tenant, String url, Path path) throws StepFailure {
    if (sourceRoot == null) {
      throw refused(
          url,
          "this worker fetches no local repositories (it has no source root); use an https://"
              + " or ssh:// URL");
    }
    if (!path.isAbsolute()) {
      throw refused(url, "a local repository must be given by its absolute path");
    }
    Path namespace;
    Path real;
    try {
      namespace = sourceRoot.toRealPath().resolve(tenant);
    } catch (IOException e) {
      throw refused(url, "the worker's source root " + sourceRoot + " does not exist");
    }
    try {
      // Resolves every symbolic link and '..' the way the kernel will when git opens it.
      real = realPath(path.normalize().isAbsolute() ? path : path.toAbsolutePath());
    } catch (IOException e) {
      throw refused(url, "its path cannot be read (" + e.getMessage() + ")");
    }
    if (!real.startsWith(namespace) || real.equals(namespace)) {
      throw outsideNamespace(url, tenant, namespace);
    }
    // git gets the resolved absolute path (no URL decoding to get wrong); checkouts are keyed by
    // the same resolved path, so every spelling of one repository shares them.
    return new Allowed(real.toString(), "file", "file://" + real, null);
  }

  /**
   * The path with every symbolic link and {@code ..} resolved; a part that does not exist (yet) is
   * resolved below the nearest existing directory, so a link on the way is still followed.
   */
  private static Path realPath(Path path) throws IOException {
    Path existing = path;
    java.util.Deque<Path> missing = new java.util.ArrayDeque<>();
    while (existing != null && !java.nio.file.Files.exists(existing)) {
      missing.push(existing.getFileName());
      existing = existing.getParent();
    }
    if (existing == null) {
      throw new IOException("no part of " + path + " exists");
    }
    Path real = existing.toRealPath();
    while (!missing.isEmpty()) {
      Path part = missing.pop();
      real = part.toString().equals("..") ? real.getParent() : real.resolve(part);
    }
    return real.normalize();
  }

  private static StepFailure outsideNamespace(String url, String tenant, Path namespace) {
    return refused(
        url,
        "tenant '"
            + tenant
            + "' may fetch local repositories only under "
            + namespace
            + "/ (symbolic links and '..' resolved)");
  }

  private static StepFailure refused(String url, String why) {
    return new StepFailure(
        NOT_ALLOWED,
        "the repository "
            + (url == null ? "(none)" : "'" + SourceFetcher.redact(url) + "'")
            + " may not be fetched: "
            + why
            + ". Push from a repository your tenant may use (the operator sets them with `kiln"
            + " tenants`).");
  }

  /** The URL with any {@code user:password@} removed. */
  static String redactUserInfo(String url) {
    return url.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s]+@", "$1");
  }
}
