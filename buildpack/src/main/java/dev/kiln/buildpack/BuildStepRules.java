package dev.kiln.buildpack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * §5: which of the app's own build steps run, in the buildpack's order — {@code bin/pre_compile}
 * before anything is installed; after the install NLTK corpora ({@code nltk.txt}), Django's {@code
 * collectstatic}, {@code bin/post_compile}; then the app spec's {@code build_command}. Pure
 * decisions on the app's files and build environment; the worker runs the steps in its sandbox.
 */
public final class BuildStepRules {
  public static final String PRE_COMPILE = "bin/pre_compile";
  public static final String POST_COMPILE = "bin/post_compile";
  public static final String NLTK_TXT = "nltk.txt";
  public static final String LEGACY_COLLECTSTATIC_DISABLED = ".heroku/collectstatic_disabled";

  private static final int MANAGE_PY_MAX_DEPTH = 3;
  private static final long NLTK_TXT_LIMIT = 64 * 1024;
  private static final Pattern CORPUS = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,99}");

  private BuildStepRules() {}

  /** One step to run in the sandbox. */
  public sealed interface Step {
    /** A stable name for codes and timings: {@code pre_compile}, {@code collectstatic}, … */
    String name();
  }

  /** {@code bin/pre_compile} or {@code bin/post_compile}: made executable and run as it is. */
  public record Hook(String name, String path) implements Step {}

  /** {@code python <manageFile> collectstatic --noinput}, from the app directory. */
  public record Collectstatic(String manageFile) implements Step {
    @Override
    public String name() {
      return "collectstatic";
    }
  }

  /** The NLTK corpora of {@code nltk.txt}, downloaded from the farm's store. */
  public record NltkDownload(List<String> corpora) implements Step {
    public NltkDownload {
      corpora = List.copyOf(corpora);
    }

    @Override
    public String name() {
      return "nltk";
    }
  }

  /** The app spec's {@code build_command}, run with {@code /bin/sh -c}. */
  public record BuildCommand(String command) implements Step {
    @Override
    public String name() {
      return "build_command";
    }
  }

  /**
   * What runs, and what the log says about what does not.
   *
   * @param preCompile {@code bin/pre_compile}, when the app has one
   * @param afterInstall the steps after the install, in order
   * @param notes lines for the build log ({@code -----> } headlines) about skipped steps
   * @param warnings coded warnings (a deprecated way of disabling a step, a missing nltk.txt)
   */
  public record Plan(
      Optional<Hook> preCompile,
      List<Step> afterInstall,
      List<String> notes,
      List<Diagnostic> warnings) {
    public Plan {
      afterInstall = List.copyOf(afterInstall);
      notes = List.copyOf(notes);
      warnings = List.copyOf(warnings);
    }

    public boolean isEmpty() {
      return preCompile.isEmpty() && afterInstall.isEmpty();
    }
  }

  /** Only {@code bin/pre_compile}: what runs before anything is installed. */
  public static Optional<Hook> preCompile(Path appRoot) {
    return hook(appRoot, "pre_compile", PRE_COMPILE);
  }

  /**
   * Decides the steps for the app in {@code appRoot}.
   *
   * @param buildEnv the app's build-time variables ({@code DISABLE_COLLECTSTATIC} is read)
   * @param installed whether a top-level module ({@code django}, {@code nltk}) is importable from
   *     the installed dependencies
   * @param buildCommand the app spec's {@code build_command}, or null
   * @throws BuildpackException {@code nltk::invalid-corpus-name} for an nltk.txt line that is not a
   *     corpus id, {@code source::*} for an unreadable file
   */
  public static Plan plan(
      Path appRoot, Map<String, String> buildEnv, Predicate<String> installed, String buildCommand)
      throws BuildpackException {
    Objects.requireNonNull(appRoot, "appRoot");
    List<Step> steps = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    List<Diagnostic> warnings = new ArrayList<>();

    if (installed.test("nltk")) {
      Path nltkTxt = appRoot.resolve(NLTK_TXT);
      if (isFileInside(appRoot, nltkTxt)) {
        List<String> corpora = corpora(nltkTxt);
        if (!corpora.isEmpty()) {
          steps.add(new NltkDownload(corpora));
        }
      } else {
        warnings.add(
            new Diagnostic(
                Codes.NLTK_NO_NLTK_TXT,
                "nltk is installed, but the app has no nltk.txt, so no NLTK corpora were"
                    + " downloaded.\n\nList the corpora the app needs, one per line, in a file named"
                    + " nltk.txt at the top level of the app (for example: stopwords), and they are"
                    + " put into the image with NLTK_DATA pointing at them."));
      }
    }

    if (isFileInside(appRoot, appRoot.resolve(LEGACY_COLLECTSTATIC_DISABLED))) {
      notes.add(
          "Skipping Django collectstatic since the file '"
              + LEGACY_COLLECTSTATIC_DISABLED
              + "' exists.");
      warnings.add(
          new Diagnostic(
              Codes.COLLECTSTATIC_DISABLED_FILE_DEPRECATED,
              "The file "
                  + LEGACY_COLLECTSTATIC_DISABLED
                  + " is deprecated.\n\nDelete it and set the build-time environment variable"
                  + " DISABLE_COLLECTSTATIC=1 in the app spec instead."));
    } else if (collectstaticDisabled(buildEnv)) {
      notes.add("Skipping Django collectstatic since the env var DISABLE_COLLECTSTATIC is set.");
    } else if (installed.test("django")) {
      Optional<String> manage = manageFile(appRoot);
      if (manage.isEmpty()) {
        notes.add("Skipping Django collectstatic since no manage.py file found.");
      } else {
        steps.add(new Collectstatic(manage.get()));
      }
    }

    hook(appRoot, "post_compile", POST_COMPILE).ifPresent(steps::add);
    if (buildCommand != null && !buildCommand.isBlank()) {
      steps.add(new BuildCommand(buildCommand.strip()));
    }
    return new Plan(preCompile(appRoot), steps, notes, warnings);
  }

  /** Anything but unset, empty or {@code 0} disables it, as on Heroku. */
  static boolean collectstaticDisabled(Map<String, String> buildEnv) {
    String value = buildEnv.get("DISABLE_COLLECTSTATIC");
    return value != null && !value.isEmpty() && !value.equals("0");
  }

  /**
   * The shallowest {@code manage.py} at most three levels down (the app directory is level one),
   * ties broken by path so every build picks the same one.
   */
  static Optional<String> manageFile(Path appRoot) throws BuildpackException {
    try (Stream<Path> files = Files.walk(appRoot, MANAGE_PY_MAX_DEPTH)) {
      return files
          .filter(
              path ->
                  path.getFileName() != null && path.getFileName().toString().equals("manage.py"))
          .filter(path -> !isUnder(appRoot.relativize(path), ".git"))
          .filter(path -> Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS))
          .map(appRoot::relativize)
          .min(Comparator.comparingInt(Path::getNameCount).thenComparing(Path::toString))
          .map(path -> path.toString().replace('\\', '/'));
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new BuildpackException(
          Codes.SOURCE_UNREADABLE,
          "The app's files could not be searched for manage.py: "
              + Text.quote(e.getMessage(), 300));
    }
  }

  private static boolean isUnder(Path relative, String top) {
    return relative.getNameCount() > 0 && relative.getName(0).toString().equals(top);
  }

  private static List<String> corpora(Path nltkTxt) throws BuildpackException {
    String text;
    try {
      if (Files.size(nltkTxt) > NLTK_TXT_LIMIT) {
        throw new BuildpackException(
            Codes.SOURCE_FILE_TOO_LARGE,
            "nltk.txt is larger than 64 KiB; it should list corpus names, one per line.");
      }
      text = Text.decode(Files.readAllBytes(nltkTxt));
    } catch (IOException e) {
      throw new BuildpackException(
          Codes.SOURCE_UNREADABLE,
          "nltk.txt could not be read: " + Text.quote(e.getMessage(), 300));
    }
    List<String> corpora = new ArrayList<>();
    for (String line : text.split("\\R")) {
      String name = line.strip();
      if (name.isEmpty() || name.startsWith("#")) {
        continue;
      }
      if (!CORPUS.matcher(name).matches()) {
        throw new BuildpackException(
            Codes.NLTK_INVALID_CORPUS_NAME,
            "nltk.txt lists '"
                + Text.quote(name, 100)
                + "', which is not an NLTK corpus id.\n\nPut one id per line, such as"
                + " stopwords or punkt (the ids nltk.download() takes), and nothing else.");
      }
      if (!corpora.contains(name)) {
        corpora.add(name);
      }
    }
    return corpora;
  }

  private static Optional<Hook> hook(Path appRoot, String name, String path) {
    return isFileInside(appRoot, appRoot.resolve(path))
        ? Optional.of(new Hook(name, path))
        : Optional.empty();
  }

  /** A regular file (links followed) that stays inside the app. */
  private static boolean isFileInside(Path appRoot, Path file) {
    try {
      return Files.isRegularFile(file) && file.toRealPath().startsWith(appRoot.toRealPath());
    } catch (IOException e) {
      return false;
    }
  }
}
