package dev.kiln.worker.runtime;

import dev.kiln.worker.runtime.RuntimeImageException.Code;
import dev.kiln.worker.runtime.TarWriter.Owner;
import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
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
  public static final String DEFAULT_MIRROR = "http://deb.debian.org/debian";

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

  /**
   * debootstrap's script for suites it does not know by name (a newer release than the worker's own
   * Debian): every current suite bootstraps the same way.
   */
  private static final Path GENERIC_SCRIPT = Path.of("/usr/share/debootstrap/scripts/sid");

  private static final Path SCRIPTS = Path.of("/usr/share/debootstrap/scripts");
  private static final Pattern SUITE_NAME = Pattern.compile("[a-z][a-z0-9-]{1,30}");

  private static final String SYSTEM_PATH =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  private static final Duration DEBOOTSTRAP_TIMEOUT = Duration.ofMinutes(20);
  private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(1);
  private static final Duration PACKAGE_LINE_INTERVAL = Duration.ofSeconds(5);
  private static final Pattern PROBE =
      Pattern.compile("(\\d+\\.\\d+\\.\\d+)\\S* glibc (\\d+\\.\\d+)");
  private static final Object IN_PROCESS_LOCK = new Object();

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
    if (suite == null || !SUITE_NAME.matcher(suite).matches()) {
      throw new IllegalArgumentException(
          "'"
              + suite
              + "' is not a Debian suite name such as bookworm or trixie (lowercase letters,"
              + " digits and '-')");
    }
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
    if (!mirrorUrl.matches("(?i)(https?|file)://\\S+")) {
      throw new IllegalArgumentException(
          "Debian mirror '"
              + mirrorUrl
              + "' is not an http(s):// or file:// URL; e.g. "
              + DEFAULT_MIRROR);
    }
    return new LocalRuntimeImage(suite, runtimesDirectory, machineCache, progress, mirrorUrl);
  }

  /**
   * Where this instance keeps the tarball: {@code <runtimesDirectory>/debian-<suite>-python3.tar}.
   */
  public Path tarball() {
    return runtimesDirectory.resolve(tarballName());
  }

  /** The cached image, from the runtimes directory or the machine cache, without building. */
  public Optional<RuntimeImage> findCached() {
    Optional<RuntimeImage> own = readCached(tarball());
    return own.isPresent()
        ? own
        : machineCache.flatMap(cache -> readCached(cache.resolve(tarballName())));
  }

  /**
   * Returns the runtime image, building it first when neither cache has it. Safe to call from
   * several threads and processes at once: one builds, the others wait and reuse its result.
   */
  public RuntimeImage ensureAvailable() throws RuntimeImageException {
    synchronized (IN_PROCESS_LOCK) {
      try {
        Files.createDirectories(runtimesDirectory);
      } catch (IOException e) {
        throw new RuntimeImageException(
            Code.IO_FAILED,
            "Cannot create the runtimes directory "
                + runtimesDirectory
                + ": "
                + e.getMessage()
                + ". Point KILN_HOME at a writable directory.",
            e);
      }
      Optional<Path> writableMachineCache = machineCache.filter(LocalRuntimeImage::makeWritable);
      Path lockFile =
          writableMachineCache.orElse(runtimesDirectory).resolve("." + tarballName() + ".lock");
      try (FileChannel channel =
          FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        FileLock lock = lockAnnouncingWaits(channel);
        try {
          return reuseOrBuild(writableMachineCache);
        } finally {
          lock.release();
        }
      } catch (IOException e) {
        throw new RuntimeImageException(
            Code.IO_FAILED,
            "Cannot prepare the local Python runtime image in "
                + runtimesDirectory
                + ": "
                + e.getMessage(),
            e);
      }
    }
  }

  private FileLock lockAnnouncingWaits(FileChannel channel) throws IOException {
    FileLock lock = channel.tryLock();
    if (lock != null) {
      return lock;
    }
    progress.accept(
        "Another Kiln process is building the local Debian "
            + suite
            + " Python runtime; waiting for it…");
    return channel.lock();
  }

  private RuntimeImage reuseOrBuild(Optional<Path> writableMachineCache)
      throws IOException, RuntimeImageException {
    Optional<RuntimeImage> own = readCached(tarball());
    if (own.isPresent()) {
      progress.accept(reusing(own.get()));
      return own.get();
    }
    Optional<RuntimeImage> shared =
        machineCache.flatMap(cache -> readCached(cache.resolve(tarballName())));
    if (shared.isPresent()) {
      RuntimeImage image = shared.get();
      Path local = linkOrCopy(image.tarball(), tarball()) ? tarball() : image.tarball();
      RuntimeImage reused =
          new RuntimeImage(local, image.reference(), image.pythonVersion(), image.glibc(), false);
      progress.accept(reusing(image));
      return reused;
    }
    RuntimeImage built = build();
    for (Path cache : writableMachineCache.stream().toList()) {
      if (linkOrCopy(built.tarball(), cache.resolve(tarballName()))) {
        progress.accept(
            "Cached it machine-wide in " + cache + " for other Kiln homes and CI runs.");
      }
    }
    return built;
  }

  private String reusing(RuntimeImage image) {
    return "Using the local Debian "
        + suite
        + " Python runtime "
        + image.reference()
        + " (Python "
        + image.pythonVersion()
        + ") from "
        + image.tarball();
  }

  private RuntimeImage build() throws IOException, RuntimeImageException {
    progress.accept(
        "Building a local Debian "
            + suite
            + " Python runtime with debootstrap (once per machine; a minute or two)…");
    boolean root = isRoot();
    Path debootstrap = findDebootstrap(root);
    if (!root) {
      throw new RuntimeImageException(
          Code.NEEDS_ROOT,
          "Building the local Python runtime image needs root: debootstrap creates a Debian root"
              + " file system with chroot. Run Kiln once as root (e.g. sudo ./kiln demo) so the"
              + " image is built and cached in "
              + machineCache.orElse(runtimesDirectory)
              + ", or copy a runtime tarball built elsewhere to "
              + tarball()
              + ".");
    }
    removeLeftoversOfInterruptedBuilds();
    Path work = Files.createTempDirectory(runtimesDirectory, ".rootfs-");
    try {
      Path rootfs = work.resolve("rootfs");
      long started = System.nanoTime();
      bootstrap(debootstrap, rootfs);
      progress.accept(
          "debootstrap finished in "
              + Duration.ofNanos(System.nanoTime() - started).toSeconds()
              + " s; trimming the root file system.");
      Rootfs.trim(rootfs);
      Rootfs.addAppUser(rootfs);
      String[] versions = versionsIn(rootfs);
      String pythonVersion = versions[0];
      String glibc = versions[1];
      progress.accept(
          "The runtime has Python "
              + pythonVersion
              + " on glibc "
              + glibc
              + "; writing the image tarball.");
      LayerTarWriter layer =
          LayerTarWriter.keepingOwners()
              .withOwner(Rootfs.APP_HOME.substring(1), new Owner(Rootfs.APP_UID, Rootfs.APP_GID));
      DockerArchive.Written written =
          DockerArchive.write(
              rootfs, layer, imageConfig(suite, pythonVersion, glibc), reference(), tarball());
      progress.accept(
          "Built "
              + reference()
              + " (Python "
              + pythonVersion
              + ", "
              + written.archiveBytes() / (1024 * 1024)
              + " MiB, layer "
              + written.diffId()
              + ") in "
              + Duration.ofNanos(System.nanoTime() - started).toSeconds()
              + " s: "
              + tarball());
      return new RuntimeImage(tarball(), reference(), pythonVersion, glibc, true);
    } finally {
      Rootfs.removeTree(work);
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

  private void bootstrap(Path debootstrap, Path rootfs) throws RuntimeImageException {
    List<String> command =
        new ArrayList<>(
            List.of(
                debootstrap.toString(),
                "--variant=minbase",
                "--include=" + String.join(",", packages(suite)),
                suite,
                rootfs.toString(),
                mirror));
    if (!Files.exists(SCRIPTS.resolve(suite)) && Files.exists(GENERIC_SCRIPT)) {
      command.add(GENERIC_SCRIPT.toString());
    }
    long[] lastReported = {System.nanoTime()};
    Command.Outcome outcome =
        runTool(
            command,
            DEBOOTSTRAP_TIMEOUT,
            line -> {
              // Package lines come by the hundred; one every few seconds shows it is moving.
              long now = System.nanoTime();
              boolean due = now - lastReported[0] > PACKAGE_LINE_INTERVAL.toNanos();
              if (isDebootstrapMilestone(line) || (due && line.startsWith("I: "))) {
                lastReported[0] = now;
                progress.accept("debootstrap: " + line.substring(line.indexOf(':') + 1).trim());
              }
            });
    if (!outcome.succeeded()) {
      throw new RuntimeImageException(
          Code.DEBOOTSTRAP_FAILED,
          "debootstrap could not build a Debian "
              + suite
              + " root file system from "
              + mirror
              + " (exit status "
              + outcome.exitCode()
              + "). Check that the mirror is reachable and still has the suite "
              + suite
              + " (or pass another one), then retry. Its last lines:\n"
              + outcome.tailText());
    }
  }

  /** Per-package lines (hundreds of them) are left out; the phases are worth showing. */
  static boolean isDebootstrapMilestone(String line) {
    return (line.startsWith("I: ") || line.startsWith("W: ") || line.startsWith("E: "))
        && !line.matches("I: (Retrieving|Validating|Extracting|Unpacking|Configuring) .*");
  }

  /** The Python and glibc versions the root file system really has: {python, glibc}. */
  private String[] versionsIn(Path rootfs) throws RuntimeImageException {
    StringBuilder output = new StringBuilder();
    Command.Outcome outcome =
        runTool(
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

  private Path findDebootstrap(boolean root) throws RuntimeImageException {
    Optional<Path> installed = onPath("debootstrap");
    if (installed.isPresent()) {
      return installed.get();
    }
    if (!root) {
      throw new RuntimeImageException(
          Code.DEBOOTSTRAP_MISSING,
          "debootstrap is not installed, and Kiln needs it to build a local Python runtime image "
              + "when none can be pulled. Install it (sudo apt-get install -y debootstrap) and run "
              + "Kiln as root once so it can bootstrap the image.");
    }
    if (onPath("apt-get").isEmpty()) {
      throw new RuntimeImageException(
          Code.DEBOOTSTRAP_MISSING,
          "debootstrap is not installed and this machine has no apt-get to install it with. "
              + "Install debootstrap with your package manager, then retry.");
    }
    progress.accept(
        "debootstrap is not installed; installing it with apt-get install -y debootstrap…");
    List<String> install = List.of("apt-get", "install", "-y", "-q", "debootstrap");
    Command.Outcome outcome = runTool(install, APT_TIMEOUT, line -> {});
    if (!outcome.succeeded()) {
      progress.accept(
          "apt-get could not find debootstrap; updating the package lists and retrying…");
      Command.Outcome update = runTool(List.of("apt-get", "update", "-q"), APT_TIMEOUT, line -> {});
      outcome = update.succeeded() ? runTool(install, APT_TIMEOUT, line -> {}) : update;
    }
    Optional<Path> now = onPath("debootstrap");
    if (!outcome.succeeded() || now.isEmpty()) {
      throw new RuntimeImageException(
          Code.DEBOOTSTRAP_MISSING,
          "Installing debootstrap with apt-get failed (exit status "
              + outcome.exitCode()
              + "). Install it by hand (apt-get install -y debootstrap) and retry. apt-get said:\n"
              + outcome.tailText());
    }
    progress.accept("Installed debootstrap.");
    return now.get();
  }

  private Command.Outcome runTool(List<String> command, Duration timeout, Consumer<String> lines)
      throws RuntimeImageException {
    try {
      return Command.run(
          command,
          Map.of("PATH", SYSTEM_PATH, "DEBIAN_FRONTEND", "noninteractive", "LC_ALL", "C"),
          timeout,
          lines);
    } catch (IOException e) {
      throw new RuntimeImageException(
          Code.IO_FAILED, "Cannot run " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeImageException(
          Code.INTERRUPTED,
          "Interrupted while running " + command.get(0) + "; nothing was cached",
          e);
    }
  }

  private void removeLeftoversOfInterruptedBuilds() throws IOException {
    try (DirectoryStream<Path> leftovers =
        Files.newDirectoryStream(runtimesDirectory, ".rootfs-*")) {
      for (Path leftover : leftovers) {
        progress.accept("Removing " + leftover + ", left by an interrupted build.");
        Rootfs.removeTree(leftover);
      }
    }
  }

  /**
   * The image in {@code tarball} when it is a complete runtime tarball of the current format; empty
   * otherwise (missing, truncated, older format), which makes the caller rebuild it.
   */
  Optional<RuntimeImage> readCached(Path tarball) {
    if (!Files.isRegularFile(tarball)) {
      return Optional.empty();
    }
    return DockerArchive.readConfig(tarball)
        .map(ImageConfigJson::labels)
        .filter(labels -> FORMAT.equals(labels.get(FORMAT_LABEL)))
        .filter(labels -> suite.equals(labels.get("dev.kiln.runtime.debian-suite")))
        // Tarballs from before the label carry exactly the base packages.
        .filter(
            labels ->
                String.join(",", packages(suite))
                    .equals(labels.getOrDefault(PACKAGES_LABEL, String.join(",", PACKAGES))))
        .filter(labels -> labels.containsKey(PYTHON_VERSION_LABEL))
        .filter(labels -> labels.containsKey(GLIBC_LABEL))
        .map(
            labels ->
                new RuntimeImage(
                    tarball,
                    reference(),
                    labels.get(PYTHON_VERSION_LABEL),
                    labels.get(GLIBC_LABEL),
                    false));
  }

  /**
   * Makes {@code target} the same file as {@code source}: a hard link when both are on one file
   * system, else a copy; either way through a temp name and a rename. False when it cannot.
   */
  private boolean linkOrCopy(Path source, Path target) {
    Path temp =
        target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
    try {
      try {
        Files.createLink(temp, source);
      } catch (IOException | UnsupportedOperationException notLinkable) {
        Files.copy(source, temp);
      }
      DockerArchive.moveAtomically(temp, target);
      return true;
    } catch (IOException e) {
      progress.accept(
          "Could not put a copy of "
              + source
              + " at "
              + target
              + " ("
              + e.getMessage()
              + "); using it where it is.");
      return false;
    } finally {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException e) {
        progress.accept("Could not remove the temp file " + temp + ": " + e.getMessage());
      }
    }
  }

  private static boolean makeWritable(Path directory) {
    try {
      Files.createDirectories(directory);
      return Files.isWritable(directory);
    } catch (IOException | SecurityException e) {
      return false;
    }
  }

  static boolean isRoot() {
    try {
      return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException | UnsupportedOperationException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  private static Optional<Path> onPath(String program) {
    List<String> directories = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      directories.addAll(List.of(path.split(File.pathSeparator)));
    }
    directories.addAll(List.of(SYSTEM_PATH.split(":")));
    return directories.stream()
        .filter(directory -> !directory.isEmpty())
        .map(directory -> Path.of(directory, program))
        .filter(Files::isExecutable)
        .findFirst();
  }
}
