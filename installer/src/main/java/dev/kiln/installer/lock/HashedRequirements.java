package dev.kiln.installer.lock;

import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.MarkerEvaluator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a pip requirements file that pins everything ({@code name[extras]==version} with {@code
 * --hash=sha256:…} on every line, as {@code pip-compile --generate-hashes} or {@code uv export}
 * write it) into a {@link LockedSet}, so it installs without running pip's resolver.
 *
 * <p>Inputs: the file's bytes and its path relative to the app's source directory ({@code
 * requirements.txt}), a function that returns the bytes of an included file ({@code -r}/{@code -c})
 * given its path relative to the source directory (the include's own path resolved against the
 * including file's directory), or null when there is no such file, and a {@link MarkerEvaluator}
 * for the target.
 *
 * <ul>
 *   <li>Comments, blank lines, {@code \} continuations, {@code -r}/{@code --requirement} and {@code
 *       -c}/{@code --constraint} includes and markers after {@code ;} are understood; requirements
 *       whose marker does not hold for the target are left out.
 *   <li>{@code --require-hashes}, {@code --pre} and {@code --prefer-binary} change nothing here;
 *       other options ({@code --index-url}, {@code --find-links}, {@code --no-binary}, …) fail with
 *       {@link Codes#REQUIREMENTS_UNSUPPORTED_OPTION}, because Kiln's package index is fixed.
 *   <li>{@code .}, {@code ./path}, {@code -e .} and {@code -e ./path} are {@link LocalProject}s
 *       (paths as written, relative to the source directory where pip runs).
 *   <li>A requirement that is not one exact {@code ==} pin, has no sha256 {@code --hash}, is a URL
 *       or VCS reference, or is constrained by a range makes the file not fully locked: {@link
 *       Result#unlocked()} says which and why, and the engine resolves such a file with pip.
 * </ul>
 */
public final class HashedRequirements {
  private static final Pattern OPTION_START = Pattern.compile("(?:^|\\s)(--?[A-Za-z])");
  private static final Pattern COMMENT = Pattern.compile("(^|\\s+)#.*$");
  private static final Set<String> HARMLESS =
      Set.of("--require-hashes", "--pre", "--prefer-binary");
  private static final Pattern URL =
      Pattern.compile("(?i)^[a-z][a-z0-9+.-]*://.*|^(git|hg|svn|bzr)\\+\\S+");

  /** A requirement that keeps the file from being fully locked. */
  public record Unlocked(String file, int line, String requirement, String reason) {
    public Unlocked {
      Objects.requireNonNull(file, "file");
      Objects.requireNonNull(requirement, "requirement");
      Objects.requireNonNull(reason, "reason");
    }
  }

  /**
   * What the file pins.
   *
   * @param lockedSet the pinned distributions and local projects; complete only when {@link
   *     #isFullyHashed()}
   * @param unlocked the requirements that are not pinned with hashes, in file order
   */
  public record Result(LockedSet lockedSet, List<Unlocked> unlocked) {
    public Result {
      Objects.requireNonNull(lockedSet, "lockedSet");
      unlocked = List.copyOf(unlocked);
    }

    /** Whether every requirement is an exact pin with sha256 hashes, so no resolver is needed. */
    public boolean isFullyHashed() {
      return unlocked.isEmpty();
    }
  }

  /** One physical or joined line. */
  private record Line(String file, int number, String text) {}

  /** A pin on its way to the set. */
  private static final class Pin {
    final String name;
    final String version;
    final Set<Digest> hashes;
    final Line line;

    Pin(String name, String version, Set<Digest> hashes, Line line) {
      this.name = name;
      this.version = version;
      this.hashes = hashes;
      this.line = line;
    }
  }

  private HashedRequirements() {}

  /**
   * Reads {@code requirementsTxt} and everything it includes.
   *
   * @param requirementsTxt the file's bytes
   * @param fileName its path relative to the app's source directory
   * @param includes the bytes of an included file by its path relative to the source directory, or
   *     null when it does not exist
   * @param markers decides markers for the target
   */
  public static Result read(
      byte[] requirementsTxt,
      String fileName,
      Function<String, byte[]> includes,
      MarkerEvaluator markers)
      throws InstallerException {
    Reader reader = new Reader(includes, markers);
    reader.readFile(fileName, requirementsTxt, false);
    return reader.result();
  }

  /**
   * Reads several requirements files into one set, as {@code pip install -r a -r b} reads them (a
   * CI build's {@code requirements.txt} and {@code requirements-test.txt}): the same pin in two
   * files is one distribution, two versions of one name fail with {@link
   * Codes#REQUIREMENTS_CONFLICTING_PINS}.
   *
   * @param fileNames the files' paths relative to the app's source directory, in pip's order
   * @param files the bytes of a file (named or included) by its path relative to the source
   *     directory, or null when it does not exist
   * @param markers decides markers for the target
   */
  public static Result read(
      List<String> fileNames, Function<String, byte[]> files, MarkerEvaluator markers)
      throws InstallerException {
    Reader reader = new Reader(files, markers);
    for (String fileName : fileNames) {
      byte[] content = files.apply(fileName);
      if (content == null) {
        throw new InstallerException(
            Codes.REQUIREMENTS_INCLUDE_NOT_FOUND,
            fileName + " was named for the install but was not read. Commit it, then push again.");
      }
      reader.readFile(fileName, content, false);
    }
    return reader.result();
  }

  private static final class Reader {
    private final Function<String, byte[]> includes;
    private final MarkerEvaluator markers;
    private final Deque<String> stack = new ArrayDeque<>();
    private final Map<String, Pin> pins = new LinkedHashMap<>();
    private final Map<String, Pin> constraints = new LinkedHashMap<>();
    private final Set<LocalProject> localProjects = new LinkedHashSet<>();
    private final List<Unlocked> unlocked = new ArrayList<>();

    Reader(Function<String, byte[]> includes, MarkerEvaluator markers) {
      this.includes = includes;
      this.markers = markers;
    }

    void readFile(String file, byte[] content, boolean constraint) throws InstallerException {
      checkCycle(file);
      stack.addLast(file);
      for (Line line : lines(file, content)) {
        readLine(line, constraint);
      }
      stack.removeLast();
    }

    private void readLine(Line line, boolean constraint) throws InstallerException {
      String text = line.text();
      if (text.startsWith("-")) {
        readOption(line, constraint);
        return;
      }
      Matcher options = OPTION_START.matcher(text);
      String requirementText = text;
      String optionText = "";
      if (options.find()) {
        requirementText = text.substring(0, options.start()).strip();
        optionText = text.substring(options.start()).strip();
      }
      Set<Digest> hashes = new LinkedHashSet<>();
      boolean otherHashes = hashes(line, optionText, hashes);
      readRequirement(line, requirementText, hashes, otherHashes, constraint, false);
    }

    private void readOption(Line line, boolean constraint) throws InstallerException {
      String text = line.text();
      String[] split = text.split("[\\s=]", 2);
      String option = split[0];
      String argument = split.length > 1 ? split[1].strip() : "";
      if (option.startsWith("-r") && !option.equals("-r") && !option.startsWith("--")) {
        argument = option.substring(2) + (argument.isEmpty() ? "" : " " + argument);
        option = "-r";
      } else if (option.startsWith("-c") && !option.equals("-c") && !option.startsWith("--")) {
        argument = option.substring(2) + (argument.isEmpty() ? "" : " " + argument);
        option = "-c";
      } else if (option.startsWith("-e") && !option.equals("-e") && !option.startsWith("--")) {
        argument = option.substring(2) + (argument.isEmpty() ? "" : " " + argument);
        option = "-e";
      }
      switch (option) {
        case "-r", "--requirement" -> include(line, argument.strip(), constraint);
        case "-c", "--constraint" -> include(line, argument.strip(), true);
        case "-e", "--editable" -> {
          if (constraint) {
            throw invalidLine(line, "an editable requirement cannot be a constraint");
          }
          readRequirement(line, argument.strip(), Set.of(), false, false, true);
        }
        default -> {
          if (HARMLESS.contains(option)) {
            return;
          }
          throw new InstallerException(
              Codes.REQUIREMENTS_UNSUPPORTED_OPTION,
              line.file()
                  + " line "
                  + line.number()
                  + " sets `"
                  + option
                  + "`. Kiln installs from its own package index with the files it chose, so"
                  + " index and download options in requirement files cannot be honoured. Remove"
                  + " the line; a private index goes into the app's PIP_EXTRA_INDEX_URL build"
                  + " variable instead.");
        }
      }
    }

    private void checkCycle(String file) throws InstallerException {
      if (stack.contains(file)) {
        throw new InstallerException(
            Codes.REQUIREMENTS_INCLUDE_CYCLE,
            file
                + " includes itself through "
                + String.join(" -> ", stack)
                + " -> "
                + file
                + ". Remove one of the -r/-c lines that close the loop.");
      }
    }

    private void include(Line line, String path, boolean constraint) throws InstallerException {
      if (path.isEmpty()) {
        throw invalidLine(line, "an include names no file");
      }
      if (URL.matcher(path).matches()
          || path.startsWith("/")
          || path.matches("^[A-Za-z]:[\\\\/].*")) {
        throw new InstallerException(
            Codes.REQUIREMENTS_INCLUDE_NOT_FOUND,
            line.file()
                + " line "
                + line.number()
                + " includes '"
                + Documents.shorten(path, 120)
                + "', which is not a relative path inside the app. Kiln reads includes from the"
                + " app's own files only: commit the file and include it by a relative path.");
      }
      String resolved = resolve(line.file(), path);
      checkCycle(resolved);
      byte[] content = includes.apply(resolved);
      if (content == null) {
        throw new InstallerException(
            Codes.REQUIREMENTS_INCLUDE_NOT_FOUND,
            line.file()
                + " line "
                + line.number()
                + " includes '"
                + path
                + "' ("
                + resolved
                + " in the app), which does not exist. Commit that file, or fix the path.");
      }
      readFile(resolved, content, constraint);
    }

    private void readRequirement(
        Line line,
        String text,
        Set<Digest> hashes,
        boolean otherHashes,
        boolean constraint,
        boolean editable)
        throws InstallerException {
      if (text.isEmpty()) {
        throw invalidLine(line, "options without a requirement");
      }
      if (text.contains("${")) {
        unlock(line, text, "it uses an environment variable");
        return;
      }
      if (URL.matcher(text).matches()) {
        unlock(line, text, "it is a URL or version-control reference, not a pinned version");
        return;
      }
      String path = localPath(text);
      if (path != null) {
        if (constraint) {
          throw invalidLine(line, "a local path cannot be a constraint");
        }
        localProjects.add(new LocalProject(LockedFiles.localPath(path), editable));
        return;
      }
      Requirement requirement = Requirement.parse(text);
      if (requirement == null) {
        throw invalidLine(line, "'" + Documents.shorten(text, 120) + "' is not a requirement");
      }
      if (!markers.applies(requirement.marker(), Set.of())) {
        return;
      }
      if (editable) {
        unlock(line, text, "it is an editable requirement that is not a local path");
        return;
      }
      if (requirement.url() != null) {
        unlock(line, text, "it is a direct URL reference, not a pinned version");
        return;
      }
      String version = requirement.pinnedVersion();
      if (version == null) {
        unlock(
            line,
            text,
            constraint
                ? "it constrains a range, which only a resolver can check"
                : "it is not pinned to one version with ==");
        return;
      }
      if (constraint) {
        addPin(constraints, new Pin(requirement.name(), version, hashes, line));
        return;
      }
      if (hashes.isEmpty()) {
        unlock(
            line,
            text,
            otherHashes ? "it has no sha256 --hash (only other algorithms)" : "it has no --hash");
        return;
      }
      addPin(pins, new Pin(requirement.name(), version, hashes, line));
    }

    private void addPin(Map<String, Pin> into, Pin pin) throws InstallerException {
      String key = LockedDistribution.normalize(pin.name);
      Pin previous = into.get(key);
      if (previous == null) {
        into.put(key, pin);
        return;
      }
      if (!sameVersion(previous.version, pin.version)) {
        throw conflict(previous, pin);
      }
      if (!previous.hashes.isEmpty() && !pin.hashes.isEmpty()) {
        Set<Digest> both = new LinkedHashSet<>(previous.hashes);
        both.retainAll(pin.hashes);
        if (both.isEmpty()) {
          throw new InstallerException(
              Codes.REQUIREMENTS_CONFLICTING_PINS,
              "'"
                  + pin.name
                  + "' is pinned with hashes at "
                  + where(previous.line)
                  + " and at "
                  + where(pin.line)
                  + ", and no file has a hash from both lists. Keep one line.");
        }
        into.put(key, new Pin(previous.name, previous.version, both, previous.line));
      }
    }

    Result result() throws InstallerException {
      List<LockedDistribution> distributions = new ArrayList<>();
      for (Map.Entry<String, Pin> entry : pins.entrySet()) {
        Pin pin = entry.getValue();
        Pin constraint = constraints.get(entry.getKey());
        if (constraint != null && !sameVersion(constraint.version, pin.version)) {
          throw conflict(constraint, pin);
        }
        distributions.add(new LockedDistribution(pin.name, pin.version, List.of(), pin.hashes));
      }
      return new Result(new LockedSet(distributions, new ArrayList<>(localProjects)), unlocked);
    }

    private void unlock(Line line, String requirement, String reason) {
      unlocked.add(new Unlocked(line.file(), line.number(), requirement, reason));
    }
  }

  /** Reads the {@code --hash} options; returns whether non-sha256 hashes were seen. */
  private static boolean hashes(Line line, String options, Set<Digest> into)
      throws InstallerException {
    boolean other = false;
    String[] tokens = options.isEmpty() ? new String[0] : options.split("\\s+");
    for (int i = 0; i < tokens.length; i++) {
      String token = tokens[i];
      String value;
      if (token.startsWith("--hash=")) {
        value = token.substring("--hash=".length());
      } else if (token.equals("--hash") && i + 1 < tokens.length) {
        value = tokens[++i];
      } else {
        String option = token.split("=", 2)[0];
        throw new InstallerException(
            Codes.REQUIREMENTS_UNSUPPORTED_OPTION,
            line.file()
                + " line "
                + line.number()
                + " gives the requirement the option `"
                + option
                + "`; Kiln takes only --hash on a requirement line. Remove the option.");
      }
      int colon = value.indexOf(':');
      String algorithm = colon < 0 ? "" : value.substring(0, colon).toLowerCase(Locale.ROOT);
      String hex = colon < 0 ? "" : value.substring(colon + 1).toLowerCase(Locale.ROOT);
      if (algorithm.equals("sha256") && Digest.isHex(hex)) {
        into.add(Digest.ofHex(hex));
      } else if (!algorithm.isEmpty() && !hex.isEmpty() && !algorithm.equals("sha256")) {
        other = true;
      } else {
        throw new InstallerException(
            Codes.REQUIREMENTS_INVALID_LINE,
            line.file()
                + " line "
                + line.number()
                + " has `--hash="
                + Documents.shorten(value, 80)
                + "`, which is not algorithm:hexdigest. Generate the hashes again (pip-compile"
                + " --generate-hashes, or uv export).");
      }
    }
    return other;
  }

  /**
   * The path of a local-directory requirement, or null: pip takes a line for a path when it starts
   * with {@code .} or holds a path separator ({@code ./x}, {@code ../x}, {@code sub/dir}), or is a
   * relative {@code file:} URL.
   */
  private static String localPath(String text) {
    if (text.startsWith("file:") && !text.startsWith("file://")) {
      return text.substring("file:".length());
    }
    if (text.contains("@") || text.contains(";")) {
      return null;
    }
    if (text.startsWith(".") || text.contains("/") || text.contains("\\")) {
      return text.replace('\\', '/');
    }
    return null;
  }

  private static boolean sameVersion(String a, String b) {
    return a.strip().equalsIgnoreCase(b.strip());
  }

  private static InstallerException conflict(Pin first, Pin second) {
    return new InstallerException(
        Codes.REQUIREMENTS_CONFLICTING_PINS,
        "'"
            + second.name
            + "' is pinned to "
            + first.version
            + " at "
            + where(first.line)
            + " and to "
            + second.version
            + " at "
            + where(second.line)
            + "; pip refuses both at once. Keep one version.");
  }

  private static String where(Line line) {
    return line.file() + " line " + line.number();
  }

  private static InstallerException invalidLine(Line line, String what) {
    return new InstallerException(
        Codes.REQUIREMENTS_INVALID_LINE,
        where(line)
            + " cannot be read: "
            + what
            + ". Fix the line (see pip's requirements file format).");
  }

  /** The include's path relative to the source directory, {@code ..} and {@code .} resolved. */
  public static String resolve(String including, String path) {
    int slash = including.lastIndexOf('/');
    String base = slash < 0 ? "" : including.substring(0, slash + 1);
    Deque<String> parts = new ArrayDeque<>();
    for (String part : (base + path.replace('\\', '/')).split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..") && !parts.isEmpty() && !parts.peekLast().equals("..")) {
        parts.removeLast();
      } else {
        parts.addLast(part);
      }
    }
    return String.join("/", parts);
  }

  /** The logical lines: continuations joined, comments and blank lines dropped. */
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
      boolean comment = COMMENT.matcher(raw).lookingAt() && raw.strip().startsWith("#");
      if (raw.endsWith("\\") && !comment) {
        joined.append(raw, 0, raw.length() - 1);
        if (i + 1 < physical.length) {
          continue;
        }
      } else {
        joined.append(comment ? " " : "").append(raw);
      }
      String logical = COMMENT.matcher(joined).replaceFirst("").strip();
      if (!logical.isEmpty()) {
        lines.add(new Line(file, start, logical));
      }
      joined.setLength(0);
      start = -1;
    }
    return lines;
  }
}
