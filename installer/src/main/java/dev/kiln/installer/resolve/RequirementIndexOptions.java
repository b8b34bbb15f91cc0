package dev.kiln.installer.resolve;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.lock.HashedRequirements;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds everything in an app's requirement files and build environment that would point pip at a
 * package source of its own instead of Kiln's cache-service: {@code -i/--index-url}, {@code
 * --extra-index-url}, {@code -f/--find-links}, {@code --trusted-host}, {@code --no-index}, a {@code
 * -r}/{@code -c} include fetched from a URL, and the {@code PIP_*} (and {@code UV_*}) variables
 * that set the same things. pip's spellings are all understood: {@code --opt value}, {@code
 * --opt=value}, {@code -ivalue}, abbreviated long options ({@code --extra}, {@code --find}:
 * optparse accepts any unambiguous prefix), {@code ${VAR}} references (expanded from the build
 * environment, as pip does) and includes followed with {@code -r}/{@code -c}.
 *
 * <p>Such an option is allowed only when the URL it names is one of the tenant's configured indexes
 * (compared without credentials, scheme and host in lower case, default port and trailing slashes
 * dropped): then the use is reported with the index's name, so the caller can route it through the
 * cache-service's proxy for that tenant. Anything else is refused with {@value #CODE}.
 *
 * <p>Pure: no I/O of its own; included files come from the given function.
 */
public final class RequirementIndexOptions {
  /** The failure code for a refused option. */
  public static final String CODE = Codes.REQUIREMENTS_INDEX_OPTION_NOT_ALLOWED;

  /** Where {@link Use#file()} says a use came from the build environment. */
  public static final String BUILD_ENVIRONMENT = "the build environment";

  private static final int MAX_FILES = 200;
  private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{([A-Z0-9_]+)\\}");
  private static final Pattern COMMENT = Pattern.compile("(^|\\s+)#.*$");
  private static final Pattern URL = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*://.*");

  /** pip's requirement-file options (long names), for resolving abbreviations as optparse does. */
  private static final List<String> LONG_OPTIONS =
      List.of(
          "--requirement",
          "--constraint",
          "--editable",
          "--index-url",
          "--extra-index-url",
          "--no-index",
          "--find-links",
          "--no-binary",
          "--only-binary",
          "--prefer-binary",
          "--require-hashes",
          "--pre",
          "--trusted-host",
          "--use-feature",
          "--hash",
          "--config-settings",
          "--global-option");

  private static final Set<String> TAKES_VALUE =
      Set.of(
          "--requirement",
          "--constraint",
          "--editable",
          "--index-url",
          "--extra-index-url",
          "--find-links",
          "--no-binary",
          "--only-binary",
          "--trusted-host",
          "--use-feature",
          "--hash",
          "--config-settings",
          "--global-option");

  private static final Map<Character, String> SHORT_OPTIONS =
      Map.of(
          'i', "--index-url",
          'f', "--find-links",
          'r', "--requirement",
          'c', "--constraint",
          'e', "--editable");

  /** Build-environment variables that choose where pip (or uv) gets packages, by their option. */
  private static final Map<String, String> ENVIRONMENT_OPTIONS =
      Map.ofEntries(
          Map.entry("PIP_INDEX_URL", "--index-url"),
          Map.entry("PIP_EXTRA_INDEX_URL", "--extra-index-url"),
          Map.entry("PIP_FIND_LINKS", "--find-links"),
          Map.entry("PIP_TRUSTED_HOST", "--trusted-host"),
          Map.entry("PIP_NO_INDEX", "--no-index"),
          Map.entry("PIP_CONFIG_FILE", "a pip configuration file"),
          Map.entry("UV_INDEX_URL", "--index-url"),
          Map.entry("UV_DEFAULT_INDEX", "--index-url"),
          Map.entry("UV_INDEX", "--extra-index-url"),
          Map.entry("UV_EXTRA_INDEX_URL", "--extra-index-url"),
          Map.entry("UV_FIND_LINKS", "--find-links"),
          Map.entry("UV_INSECURE_HOST", "--trusted-host"),
          Map.entry("UV_NO_INDEX", "--no-index"));

  /**
   * One index the tenant configured: its name and URL (credentials, if any, are ignored).
   *
   * <p>The same shape as {@code dev.kiln.events.IndexRef(name, url)}.
   */
  public record AllowedIndex(String name, String url) {
    public AllowedIndex {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(url, "url");
    }
  }

  /**
   * One place that names a package source.
   *
   * @param file the requirement file (path relative to the source directory), or {@link
   *     #BUILD_ENVIRONMENT}
   * @param line the logical line's first physical line (1-based); 0 for the build environment
   * @param option the option as pip understands it ({@code --index-url}), or the variable's name
   * @param value its value with any credentials hidden, or empty for a flag
   * @param index the name of the tenant's index the value is, or null when it is none (refused)
   */
  public record Use(String file, int line, String option, String value, String index) {
    public boolean allowed() {
      return index != null;
    }

    String where() {
      return file.equals(BUILD_ENVIRONMENT)
          ? BUILD_ENVIRONMENT + " (" + option + ")"
          : file + " line " + line;
    }
  }

  /** Every use found, allowed and refused, in the order pip would read them. */
  public record Result(List<Use> uses) {
    public Result {
      uses = List.copyOf(uses);
    }

    public List<Use> refused() {
      return uses.stream().filter(use -> !use.allowed()).toList();
    }

    /** The tenant's indexes the app names, by name, without repeats. */
    public List<String> indexesUsed() {
      return uses.stream().filter(Use::allowed).map(Use::index).distinct().toList();
    }

    public boolean isAllowed() {
      return refused().isEmpty();
    }

    /**
     * @throws InstallerException {@value #CODE} naming every refused use and how to fix it
     */
    public void requireAllowed() throws InstallerException {
      List<Use> refused = refused();
      if (refused.isEmpty()) {
        return;
      }
      StringBuilder message = new StringBuilder();
      for (Use use : refused) {
        message
            .append(use.where())
            .append(" sets `")
            .append(use.option())
            .append(use.value().isEmpty() ? "" : " " + use.value())
            .append("`")
            .append(explanation(use))
            .append('\n');
      }
      message.append(
          "Kiln installs packages only through its cache-service, so an app may not name a package"
              + " index, a links page, a directory of wheels or a trusted host of its own: pip"
              + " would fetch from it directly, without the cache-service's hash checks. Remove"
              + " the option. To use a private index, configure it for the tenant (`kiln tenants"
              + " index …`, or PUT /v1/tenants/{tenant}/indexes/{name} with its URL and"
              + " credentials); the build then goes through Kiln's proxy for that index, and an"
              + " --index-url or --extra-index-url naming exactly that URL is accepted. Wheels in"
              + " the repository belong on that index too.");
      throw new InstallerException(CODE, message.toString().strip());
    }

    private static String explanation(Use use) {
      return switch (use.option()) {
        case "--no-index" -> " (pip would then install only from --find-links locations)";
        case "--trusted-host" -> " (pip would accept that host without TLS verification)";
        case "--requirement", "--constraint" -> " (a requirement file fetched from the network)";
        case "a pip configuration file" -> " (pip would read its index settings from there)";
        default -> use.file().equals(BUILD_ENVIRONMENT) ? "" : " (not an index of the tenant)";
      };
    }
  }

  private RequirementIndexOptions() {}

  /**
   * Checks a requirement file, every file it includes, and the build environment.
   *
   * @param fileName the file's path relative to the app's source directory ({@code
   *     requirements.txt}); null when the app has no requirement file (only the environment is
   *     checked)
   * @param content its bytes (ignored when {@code fileName} is null)
   * @param includes the bytes of an included file by its path relative to the source directory, or
   *     null when it does not exist (a missing include is reported elsewhere)
   * @param buildEnvironment the app's build environment ({@code buildEnv}), also used to expand
   *     {@code ${VAR}} as pip does
   * @param allowed the tenant's configured indexes
   */
  public static Result check(
      String fileName,
      byte[] content,
      Function<String, byte[]> includes,
      Map<String, String> buildEnvironment,
      List<AllowedIndex> allowed) {
    Map<String, String> env = buildEnvironment == null ? Map.of() : buildEnvironment;
    Checker checker = new Checker(includes, env, allowed == null ? List.of() : allowed);
    checker.checkEnvironment();
    if (fileName != null && content != null) {
      checker.checkFile(fileName, content);
    }
    return new Result(checker.uses);
  }

  /**
   * {@link #check} for an app's install inputs as the worker reads them: {@code requirements.txt}
   * (when there is one) with its includes from the same map (paths relative to the source
   * directory), and the build environment.
   */
  public static Result checkInputs(
      Map<String, byte[]> files, Map<String, String> buildEnvironment, List<AllowedIndex> allowed) {
    byte[] requirements = files.get("requirements.txt");
    return check(
        requirements == null ? null : "requirements.txt",
        requirements,
        files::get,
        buildEnvironment,
        allowed);
  }

  private static final class Checker {
    private final Function<String, byte[]> includes;
    private final Map<String, String> env;
    private final List<AllowedIndex> allowed;
    private final List<Use> uses = new ArrayList<>();
    private final Set<String> seen = new HashSet<>();

    Checker(
        Function<String, byte[]> includes, Map<String, String> env, List<AllowedIndex> allowed) {
      this.includes = includes == null ? path -> null : includes;
      this.env = env;
      this.allowed = allowed;
    }

    void checkEnvironment() {
      env.keySet().stream()
          .sorted()
          .forEach(
              name -> {
                String option = ENVIRONMENT_OPTIONS.get(name.toUpperCase(Locale.ROOT));
                if (option == null) {
                  return;
                }
                String value = env.get(name) == null ? "" : env.get(name).strip();
                if (option.equals("--index-url")
                    || option.equals("--extra-index-url")
                    || option.equals("--find-links")
                    || option.equals("--trusted-host")) {
                  // pip splits list-valued variables on whitespace.
                  for (String each : value.split("\\s+")) {
                    if (!each.isEmpty()) {
                      uses.add(judge(BUILD_ENVIRONMENT, 0, name, option, each));
                    }
                  }
                } else if (option.equals("--no-index")) {
                  // A boolean for pip and uv: "0", "false", "no", "off" or empty switch it off.
                  if (!Set.of("", "0", "false", "no", "off")
                      .contains(value.toLowerCase(Locale.ROOT))) {
                    uses.add(new Use(BUILD_ENVIRONMENT, 0, name, value, null));
                  }
                } else if (!value.equals("/dev/null")) {
                  // A pip configuration file of the app's choosing could set any index.
                  uses.add(new Use(BUILD_ENVIRONMENT, 0, name, hideCredentials(value), null));
                }
              });
    }

    void checkFile(String fileName, byte[] content) {
      Deque<String[]> queue = new ArrayDeque<>();
      seen.add(fileName);
      checkLines(fileName, content, queue);
      while (!queue.isEmpty() && seen.size() < MAX_FILES) {
        String[] next = queue.removeFirst();
        byte[] included = includes.apply(next[0]);
        if (included != null) {
          checkLines(next[0], included, queue);
        }
      }
    }

    private void checkLines(String file, byte[] content, Deque<String[]> queue) {
      for (Line line : lines(file, content)) {
        List<String> tokens = tokens(expand(line.text()));
        for (int i = 0; i < tokens.size(); i++) {
          String token = tokens.get(i);
          if (!token.startsWith("-") || token.equals("-")) {
            continue;
          }
          String option;
          String value = null;
          if (token.startsWith("--")) {
            int equals = token.indexOf('=');
            String name = equals < 0 ? token : token.substring(0, equals);
            option = longOption(name);
            if (option == null) {
              continue;
            }
            if (equals >= 0) {
              value = token.substring(equals + 1);
            }
          } else {
            option = SHORT_OPTIONS.get(token.charAt(1));
            if (option == null) {
              continue;
            }
            if (token.length() > 2) {
              value = token.substring(2);
              if (value.startsWith("=")) {
                value = value.substring(1);
              }
            }
          }
          if (TAKES_VALUE.contains(option) && value == null) {
            value = i + 1 < tokens.size() ? tokens.get(++i) : "";
          }
          record(file, line.number(), option, value == null ? "" : value, queue);
        }
      }
    }

    private void record(String file, int line, String option, String value, Deque<String[]> queue) {
      switch (option) {
        case "--index-url", "--extra-index-url", "--find-links", "--trusted-host" ->
            uses.add(judge(file, line, option, option, value));
        case "--no-index" -> uses.add(new Use(file, line, option, "", null));
        case "--requirement", "--constraint" -> {
          if (URL.matcher(value).matches() && !value.toLowerCase(Locale.ROOT).startsWith("file:")) {
            uses.add(new Use(file, line, option, hideCredentials(value), null));
          } else if (!value.isEmpty()) {
            String path = resolve(file, value);
            if (seen.add(path)) {
              queue.addLast(new String[] {path});
            }
          }
        }
        default -> {
          // Options that do not choose where packages come from.
        }
      }
    }

    private Use judge(String file, int line, String shownAs, String option, String value) {
      String index = null;
      if (option.equals("--trusted-host")) {
        String host = value.toLowerCase(Locale.ROOT);
        for (AllowedIndex candidate : allowed) {
          String candidateHost = hostAndPort(candidate.url());
          if (candidateHost != null
              && (candidateHost.equals(host) || candidateHost.split(":")[0].equals(host))) {
            index = candidate.name();
            break;
          }
        }
      } else {
        String normalized = normalize(value);
        for (AllowedIndex candidate : allowed) {
          if (normalized != null && normalized.equals(normalize(candidate.url()))) {
            index = candidate.name();
            break;
          }
        }
      }
      return new Use(file, line, shownAs, hideCredentials(value), index);
    }

    /** pip expands {@code ${NAME}} from the environment and leaves unknown names as they are. */
    private String expand(String text) {
      Matcher matcher = ENV_REFERENCE.matcher(text);
      StringBuilder out = new StringBuilder();
      while (matcher.find()) {
        String value = env.get(matcher.group(1));
        matcher.appendReplacement(
            out,
            Matcher.quoteReplacement(value == null || value.isEmpty() ? matcher.group() : value));
      }
      matcher.appendTail(out);
      return out.toString();
    }
  }

  /**
   * The long option a (possibly abbreviated) name means to optparse, or null if none or ambiguous.
   */
  static String longOption(String name) {
    if (LONG_OPTIONS.contains(name)) {
      return name;
    }
    String found = null;
    for (String option : LONG_OPTIONS) {
      if (option.startsWith(name)) {
        if (found != null) {
          return null;
        }
        found = option;
      }
    }
    return found;
  }

  /**
   * An index URL as compared with the tenant's: credentials, query and fragment dropped, scheme and
   * host in lower case, default port and trailing slashes dropped; null when it is no URL.
   */
  static String normalize(String url) {
    if (url == null) {
      return null;
    }
    String stripped = withoutUserInfo(url.strip());
    try {
      URI uri = new URI(stripped);
      if (uri.getScheme() == null || uri.getHost() == null) {
        return null;
      }
      String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
      int port = uri.getPort();
      if ((scheme.equals("https") && port == 443) || (scheme.equals("http") && port == 80)) {
        port = -1;
      }
      String path = uri.getRawPath() == null ? "" : uri.getRawPath();
      while (path.endsWith("/")) {
        path = path.substring(0, path.length() - 1);
      }
      return scheme
          + "://"
          + uri.getHost().toLowerCase(Locale.ROOT)
          + (port < 0 ? "" : ":" + port)
          + path;
    } catch (URISyntaxException e) {
      return null;
    }
  }

  private static String hostAndPort(String url) {
    try {
      URI uri = new URI(withoutUserInfo(url.strip()));
      if (uri.getHost() == null) {
        return null;
      }
      return uri.getHost().toLowerCase(Locale.ROOT)
          + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
    } catch (URISyntaxException e) {
      return null;
    }
  }

  private static String withoutUserInfo(String url) {
    int scheme = url.indexOf("://");
    if (scheme < 0) {
      return url;
    }
    int authorityEnd = url.indexOf('/', scheme + 3);
    String authority =
        authorityEnd < 0 ? url.substring(scheme + 3) : url.substring(scheme + 3, authorityEnd);
    int at = authority.lastIndexOf('@');
    if (at < 0) {
      return url;
    }
    return url.substring(0, scheme + 3)
        + authority.substring(at + 1)
        + (authorityEnd < 0 ? "" : url.substring(authorityEnd));
  }

  /** The value as it may be shown: a URL's user and password replaced by {@code ***}. */
  static String hideCredentials(String value) {
    String stripped = withoutUserInfo(value);
    if (stripped.equals(value)) {
      return value;
    }
    int scheme = value.indexOf("://");
    return stripped.substring(0, scheme + 3) + "***@" + stripped.substring(scheme + 3);
  }

  /** An include's path relative to the source directory, {@code .} and {@code ..} resolved. */
  static String resolve(String including, String path) {
    String cleaned = path.startsWith("file://") ? path.substring("file://".length()) : path;
    return HashedRequirements.resolve(including, cleaned);
  }

  private record Line(int number, String text) {}

  /** The logical lines: continuations joined, comments and blank lines dropped (as pip does). */
  private static List<Line> lines(String file, byte[] content) {
    String text = new String(content, StandardCharsets.UTF_8);
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    String[] physical = text.split("\\r?\\n|\\r", -1);
    List<Line> lines = new ArrayList<>();
    StringBuilder joined = new StringBuilder();
    int start = -1;
    for (int i = 0; i < physical.length; i++) {
      String raw = physical[i];
      if (start < 0) {
        start = i + 1;
      }
      if (raw.endsWith("\\") && i + 1 < physical.length) {
        joined.append(raw, 0, raw.length() - 1);
        continue;
      }
      joined.append(raw);
      String logical = COMMENT.matcher(joined).replaceFirst("").strip();
      if (!logical.isEmpty()) {
        lines.add(new Line(start, logical));
      }
      joined.setLength(0);
      start = -1;
    }
    return lines;
  }

  /** Splits a line as Python's {@code shlex.split} does for the cases pip meets. */
  static List<String> tokens(String text) {
    List<String> tokens = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    boolean inToken = false;
    char quote = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\' && quote == '"' && i + 1 < text.length()) {
          current.append(text.charAt(++i));
        } else {
          current.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        inToken = true;
      } else if (c == '\\' && i + 1 < text.length()) {
        current.append(text.charAt(++i));
        inToken = true;
      } else if (Character.isWhitespace(c)) {
        if (inToken) {
          tokens.add(current.toString());
          current.setLength(0);
          inToken = false;
        }
      } else {
        current.append(c);
        inToken = true;
      }
    }
    if (inToken) {
      tokens.add(current.toString());
    }
    return tokens;
  }
}
