package dev.kiln.worker.runtime;

import dev.kiln.worker.runtime.RuntimeImageException.Code;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Debian Python runtime base image built on this machine from one Debian suite (bullseye has
 * Python 3.9, bookworm 3.11, trixie 3.13, forky 3.14), for when no base image can be pulled
 * (offline, no Docker Hub). The runtime catalog names such an image {@code debootstrap:<suite>}.
 *
 * <p>{@link #ensureAvailable()} returns a cached tarball when there is one, and otherwise builds
 * it: {@code debootstrap --variant=minbase --include=python3,ca-certificates,netbase,tzdata
 * <suite>} (bullseye adds {@code python3-distutils}, which pip needs on 3.9), trimmed of package
 * lists, manuals, translations and docs, plus a non-root user {@code app} (uid/gid 1000, home
 * {@code /app}); then written, without a Docker daemon, as a {@code docker save} tarball with one
 * layer whose labels say the Python and glibc versions it really has (read from the built root file
 * system, never assumed). The tarball works as a jib base image ({@code TarImage}) and with {@code
 * docker load}. There is no compiler in it: it is what apps run on.
 *
 * <p>Where the tarball lives: {@code <runtimesDirectory>/debian-<suite>-python3.tar}. A
 * machine-wide cache ({@code /var/cache/kiln/runtimes/} by default) is read when it has a tarball
 * and written when it is writable, so another Kiln home, another {@code kiln demo} or another CI
 * job on the same machine does not bootstrap again. One build runs at a time per machine cache
 * (file lock), and one per JVM.
 *
 * <p>Building needs root (debootstrap chroots); when debootstrap is missing and the process is root
 * it is installed with apt-get. Everything blocks: call it from a worker thread.
 */
public final class LocalRuntimeImage {

  public static final Path DEFAULT_MACHINE_CACHE = Path.of("/var/cache/kiln/runtimes");
  public static final String DEFAULT_MIRROR = DebootstrapImage.DEFAULT_MIRROR;

  /** Bumped whenever the image contents change meaning, so older cached tarballs get rebuilt. */
  static final String FORMAT = "2";

  static final String FORMAT_LABEL = "dev.kiln.runtime.format";

  /** The Python version the image's {@code python3} reported when it was built. */
  public static final String PYTHON_VERSION_LABEL = "dev.kiln.runtime.python-version";

  /** The glibc version of the image, read from it when it was built. */
  public static final String GLIBC_LABEL = "dev.kiln.runtime.glibc";

  static final List<String> PACKAGES = List.of("python3", "ca-certificates", "netbase", "tzdata");

  static final String PACKAGES_LABEL = "dev.kiln.runtime.packages";

  /**
   * Packages one suite needs beyond {@link #PACKAGES}: Debian splits distutils out of Python 3.9,
   * and pip reads its install locations through distutils before Python 3.10, so without it the
   * sandbox could not run pip (an unpinned resolution, an sdist build) on bullseye's 3.9.
   */
  private static final Map<String, List<String>> SUITE_PACKAGES =
      Map.of("bullseye", List.of("python3-distutils"));

  /** What debootstrap includes for {@code suite}. */
  static List<String> packages(String suite) {
    List<String> all = new ArrayList<>(PACKAGES);
    all.addAll(SUITE_PACKAGES.getOrDefault(suite, List.of()));
    return List.copyOf(all);
  }

  private static final String SYSTEM_PATH = DebootstrapImage.SYSTEM_PATH;
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(1);
  private static final Pattern PROBE =
      Pattern.compile("(\\d+\\.\\d+\\.\\d+)\\S* glibc (\\d+\\.\\d+)");

  private final String suite;
  private final Path runtimesDirectory;
  private final Optional<Path> machineCache;
  private final Consumer<String> progress;
  private final String mirror;

  private LocalRuntimeImage(
      String suite,
      Path runtimesDirectory,
      Optional<Path> machineCache,
      Consumer<String> progress,
      String mirror) {
    this.suite = suite;
    this.runtimesDirectory = runtimesDirectory.toAbsolutePath();
    this.machineCache = machineCache.map(Path::toAbsolutePath);
    this.progress = progress;
    this.mirror = mirror;
  }

  /**
   * The runtime of Debian {@code suite} (e.g. {@code bookworm}) cached in {@code runtimesDirectory}
   * (e.g. {@code $KILN_HOME/runtimes}), with the machine-wide cache at {@link
   * #DEFAULT_MACHINE_CACHE}, the Debian mirror {@link #DEFAULT_MIRROR}, and progress discarded.
   *
   * @throws IllegalArgumentException when {@code suite} is not a Debian suite name
   */
  public static LocalRuntimeImage forSuite(String suite, Path runtimesDirectory) {
    DebootstrapImage.requireSuiteName(suite);
    return new LocalRuntimeImage(
        suite,
        Objects.requireNonNull(runtimesDirectory, "runtimesDirectory"),
        Optional.of(DEFAULT_MACHINE_CACHE),
        line -> {},
        DEFAULT_MIRROR);
  }

  /** The Debian suite this runtime is built from. */
  public String suite() {
    return suite;
  }

  /** The reference the tarball's manifest carries: {@code kiln/python-runtime:<suite>}. */
  public String reference() {
    return "kiln/python-runtime:" + suite;
  }

  /** The tarball's file name: {@code debian-<suite>-python3.tar}. */
  public String tarballName() {
    return "debian-" + suite + "-python3.tar";
  }

  /** Progress lines (one sentence each) go to {@code progress}, from the calling thread. */
  public LocalRuntimeImage withProgress(Consumer<String> progress) {
    return new LocalRuntimeImage(
        suite,
        runtimesDirectory,
        machineCache,
        Objects.requireNonNull(progress, "progress"),
        mirror);
  }

  /** Uses {@code directory} as the machine-wide cache instead of the default. */
  public LocalRuntimeImage withMachineCache(Path directory) {
    return new LocalRuntimeImage(
        suite,
        runtimesDirectory,
        Optional.of(Objects.requireNonNull(directory, "directory")),
        progress,
        mirror);
  }

  /** Only {@code runtimesDirectory} is used; nothing is read from or written to a machine cache. */
  public LocalRuntimeImage withoutMachineCache() {
    return new LocalRuntimeImage(suite, runtimesDirectory, Optional.empty(), progress, mirror);
  }

  /** Bootstraps from this Debian mirror (e.g. a local apt proxy) instead of deb.debian.org. */
  public LocalRuntimeImage withMirror(String mirrorUrl) {
    return new LocalRuntimeImage(
        suite,
        runtimesDirectory,
        machineCache,
        progress,
        DebootstrapImage.requireMirrorUrl(mirrorUrl));
  }

  /**
   * Where this instance keeps the tarball: {@code <runtimesDirectory>/debian-<suite>-python3.tar}.
   */
  public Path tarball() {
    return image().tarball();
  }

  /** The cached image, from the runtimes directory or the machine cache, without building. */
  public Optional<RuntimeImage> findCached() {
    return image().findCached().map(LocalRuntimeImage::runtimeImage);
  }

  /**
   * Returns the runtime image, building it first when neither cache has it. Safe to call from
   * several threads and processes at once: one builds, the others wait and reuse its result.
   */
  public RuntimeImage ensureAvailable() throws RuntimeImageException {
    return runtimeImage(image().ensureAvailable());
  }

  /**
   * The image in {@code tarball} when it is a complete runtime tarball of the current format; empty
   * otherwise (missing, truncated, older format), which makes the caller rebuild it.
   */
  Optional<RuntimeImage> readCached(Path tarball) {
    return image().readCached(tarball).map(LocalRuntimeImage::runtimeImage);
  }

  private DebootstrapImage image() {
    return DebootstrapImage.of(new Recipe(), runtimesDirectory)
        .withMachineCache(machineCache)
        .withProgress(progress)
        .withMirror(mirror);
  }

  private static RuntimeImage runtimeImage(DebootstrapImage.Built built) {
    return new RuntimeImage(
        built.tarball(),
        built.reference(),
        built.labels().get(PYTHON_VERSION_LABEL),
        built.labels().get(GLIBC_LABEL),
        built.freshlyBuilt());
  }

  /** A Python runtime: python3 and the non-root user {@code app}, labelled with real versions. */
  private final class Recipe implements DebootstrapImage.Recipe {
    @Override
    public String suite() {
      return suite;
    }

    @Override
    public List<String> packages() {
      return LocalRuntimeImage.packages(suite);
    }

    @Override
    public String reference() {
      return LocalRuntimeImage.this.reference();
    }

    @Override
    public String tarballName() {
      return LocalRuntimeImage.this.tarballName();
    }

    @Override
    public String description() {
      return "local Debian " + suite + " Python runtime";
    }

    @Override
    public boolean reusable(Map<String, String> labels) {
      return FORMAT.equals(labels.get(FORMAT_LABEL))
          && suite.equals(labels.get("dev.kiln.runtime.debian-suite"))
          // Tarballs from before the label carry exactly the base packages.
          && String.join(",", LocalRuntimeImage.packages(suite))
              .equals(labels.getOrDefault(PACKAGES_LABEL, String.join(",", PACKAGES)))
          && labels.containsKey(PYTHON_VERSION_LABEL)
          && labels.containsKey(GLIBC_LABEL);
    }

    @Override
    public String describe(Map<String, String> labels) {
      return " (Python " + labels.get(PYTHON_VERSION_LABEL) + ")";
    }

    @Override
    public DebootstrapImage.Finished finish(Path rootfs, Consumer<String> progress)
        throws IOException, RuntimeImageException {
      Rootfs.addAppUser(rootfs);
      String[] versions = versionsIn(rootfs);
      progress.accept(
          "The runtime has Python "
              + versions[0]
              + " on glibc "
              + versions[1]
              + "; writing the image tarball.");
      return new DebootstrapImage.Finished(
          imageConfig(suite, versions[0], versions[1]), List.of(Rootfs.APP_HOME.substring(1)));
    }
  }

  static ImageConfig imageConfig(String suite, String pythonVersion, String glibc) {
    List<String> packages = packages(suite);
    return new ImageConfig(
        ImageConfig.architectureOf(System.getProperty("os.arch")),
        List.of("PATH=" + SYSTEM_PATH, "LANG=C.UTF-8", "PYTHON_VERSION=" + pythonVersion),
        List.of("python3"),
        Rootfs.APP_UID + ":" + Rootfs.APP_GID,
        Rootfs.APP_HOME,
        Map.of(
            FORMAT_LABEL,
            FORMAT,
            PYTHON_VERSION_LABEL,
            pythonVersion,
            GLIBC_LABEL,
            glibc,
            "dev.kiln.runtime.debian-suite",
            suite,
            PACKAGES_LABEL,
            String.join(",", packages),
            "org.opencontainers.image.description",
            "Debian "
                + suite
                + " (minbase) with "
                + String.join(", ", packages)
                + ", built by Kiln"),
        "debootstrap --variant=minbase --include="
            + String.join(",", packages)
            + " "
            + suite
            + "; trimmed; user app (1000:1000) with home /app");
  }

  /** Per-package lines (hundreds of them) are left out; the phases are worth showing. */
  static boolean isDebootstrapMilestone(String line) {
    return DebootstrapImage.isDebootstrapMilestone(line);
  }

  /** The Python and glibc versions the root file system really has: {python, glibc}. */
  private String[] versionsIn(Path rootfs) throws RuntimeImageException {
    StringBuilder output = new StringBuilder();
    Command.Outcome outcome =
        DebootstrapImage.runTool(
            List.of(
                "chroot",
                rootfs.toString(),
                "/usr/bin/python3",
                "-c",
                "import platform; print(platform.python_version(), 'glibc',"
                    + " platform.libc_ver()[1])"),
            PYTHON_TIMEOUT,
            line -> output.append(line).append('\n'));
    Matcher versions = PROBE.matcher(output);
    if (!outcome.succeeded() || !versions.find()) {
      throw new RuntimeImageException(
          Code.BROKEN_ROOTFS,
          "The bootstrapped root file system has no working /usr/bin/python3 (exit status "
              + outcome.exitCode()
              + "): "
              + outcome.tailText().strip()
              + ". Delete "
              + runtimesDirectory
              + " and retry; report it if it happens again.");
    }
    return new String[] {versions.group(1), versions.group(2)};
  }

  static boolean isRoot() {
    return DebootstrapImage.isRoot();
  }
}
