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
 * A Debian bookworm Python runtime base image built on this machine, for when no base image can be
 * pulled (offline, no Docker Hub).
 *
 * <p>{@link #ensureAvailable()} returns a cached tarball when there is one, and otherwise builds
 * it: {@code debootstrap --variant=minbase --include=python3,ca-certificates bookworm}, trimmed of
 * package lists, manuals, translations and docs, plus a non-root user {@code app} (uid/gid 1000,
 * home {@code /app}); then written, without a Docker daemon, as a {@code docker save} tarball with
 * one layer. The tarball works as a jib base image ({@code TarImage}) and with {@code docker load}.
 *
 * <p>Where the tarball lives: {@code <runtimesDirectory>/debian-bookworm-python3.tar}. A
 * machine-wide cache ({@code /var/cache/kiln/runtimes/} by default) is read when it has a tarball
 * and written when it is writable, so another Kiln home, another {@code kiln demo} or another CI
 * job on the same machine does not bootstrap again. One build runs at a time per machine cache
 * (file lock), and one per JVM.
 *
 * <p>Building needs root (debootstrap chroots); when debootstrap is missing and the process is root
 * it is installed with apt-get. Everything blocks: call it from a worker thread.
 */
public final class LocalRuntimeImage {

  /** The reference the tarball's manifest carries (bookworm's python3 is 3.11). */
  public static final String IMAGE_REFERENCE = "kiln/python-runtime:3.11-bookworm";

  public static final String TARBALL_NAME = "debian-bookworm-python3.tar";
  public static final Path DEFAULT_MACHINE_CACHE = Path.of("/var/cache/kiln/runtimes");
  public static final String DEFAULT_MIRROR = "http://deb.debian.org/debian";

  /** Bumped whenever the image contents change meaning, so older cached tarballs get rebuilt. */
  static final String FORMAT = "1";

  static final String FORMAT_LABEL = "dev.kiln.runtime.format";
  static final String PYTHON_VERSION_LABEL = "dev.kiln.runtime.python-version";
  static final String SUITE = "bookworm";
  static final List<String> PACKAGES = List.of("python3", "ca-certificates");

  private static final String SYSTEM_PATH =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  private static final Duration DEBOOTSTRAP_TIMEOUT = Duration.ofMinutes(20);
  private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(1);
  private static final Duration PACKAGE_LINE_INTERVAL = Duration.ofSeconds(5);
  private static final Pattern PYTHON_VERSION_ENV =
      Pattern.compile("\"PYTHON_VERSION=([0-9][0-9A-Za-z.+~-]*)\"");
  private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+\\.\\d+\\S*");
  private static final Object IN_PROCESS_LOCK = new Object();

  private final Path runtimesDirectory;
  private final Optional<Path> machineCache;
  private final Consumer<String> progress;
  private final String mirror;

  private LocalRuntimeImage(
      Path runtimesDirectory,
      Optional<Path> machineCache,
      Consumer<String> progress,
      String mirror) {
    this.runtimesDirectory = runtimesDirectory.toAbsolutePath();
    this.machineCache = machineCache.map(Path::toAbsolutePath);
    this.progress = progress;
    this.mirror = mirror;
  }

  /**
   * The runtime image cached in {@code runtimesDirectory} (e.g. {@code $KILN_HOME/runtimes}), with
   * the machine-wide cache at {@link #DEFAULT_MACHINE_CACHE}, the Debian mirror {@link
   * #DEFAULT_MIRROR}, and progress discarded.
   */
  public static LocalRuntimeImage in(Path runtimesDirectory) {
    return new LocalRuntimeImage(
        Objects.requireNonNull(runtimesDirectory, "runtimesDirectory"),
        Optional.of(DEFAULT_MACHINE_CACHE),
        line -> {},
        DEFAULT_MIRROR);
  }

  /** Progress lines (one sentence each) go to {@code progress}, from the calling thread. */
  public LocalRuntimeImage withProgress(Consumer<String> progress) {
    return new LocalRuntimeImage(
        runtimesDirectory, machineCache, Objects.requireNonNull(progress, "progress"), mirror);
  }

  /** Uses {@code directory} as the machine-wide cache instead of the default. */
  public LocalRuntimeImage withMachineCache(Path directory) {
    return new LocalRuntimeImage(
        runtimesDirectory,
        Optional.of(Objects.requireNonNull(directory, "directory")),
        progress,
        mirror);
  }

  /** Only {@code runtimesDirectory} is used; nothing is read from or written to a machine cache. */
  public LocalRuntimeImage withoutMachineCache() {
    return new LocalRuntimeImage(runtimesDirectory, Optional.empty(), progress, mirror);
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
    return new LocalRuntimeImage(runtimesDirectory, machineCache, progress, mirrorUrl);
  }

  /**
   * Where this instance keeps the tarball: {@code <runtimesDirectory>/debian-bookworm-python3.tar}.
   */
  public Path tarball() {
    return runtimesDirectory.resolve(TARBALL_NAME);
  }

  /** The cached image, from the runtimes directory or the machine cache, without building. */
  public Optional<RuntimeImage> findCached() {
    Optional<RuntimeImage> own = readCached(tarball());
    return own.isPresent()
        ? own
        : machineCache.flatMap(cache -> readCached(cache.resolve(TARBALL_NAME)));
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
          writableMachineCache.orElse(runtimesDirectory).resolve("." + TARBALL_NAME + ".lock");
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
    progress.accept("Another Kiln process is building the local Python runtime; waiting for it…");
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
        machineCache.flatMap(cache -> readCached(cache.resolve(TARBALL_NAME)));
    if (shared.isPresent()) {
      RuntimeImage image = shared.get();
      Path local = linkOrCopy(image.tarball(), tarball()) ? tarball() : image.tarball();
      RuntimeImage reused =
          new RuntimeImage(local, image.reference(), image.pythonVersion(), false);
      progress.accept(reusing(image));
      return reused;
    }
    RuntimeImage built = build();
    for (Path cache : writableMachineCache.stream().toList()) {
      if (linkOrCopy(built.tarball(), cache.resolve(TARBALL_NAME))) {
        progress.accept(
            "Cached it machine-wide in " + cache + " for other Kiln homes and CI runs.");
      }
    }
    return built;
  }

  private static String reusing(RuntimeImage image) {
    return "Using the local Debian bookworm Python runtime "
        + image.reference()
        + " (Python "
        + image.pythonVersion()
        + ") from "
        + image.tarball();
  }

  private RuntimeImage build() throws IOException, RuntimeImageException {
    progress.accept(
        "Building a local Debian bookworm Python runtime with debootstrap (offline mode)…");
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
      String pythonVersion = pythonVersionIn(rootfs);
      progress.accept("The runtime has Python " + pythonVersion + "; writing the image tarball.");
      LayerTarWriter layer =
          LayerTarWriter.keepingOwners()
              .withOwner(Rootfs.APP_HOME.substring(1), new Owner(Rootfs.APP_UID, Rootfs.APP_GID));
      DockerArchive.Written written =
          DockerArchive.write(
              rootfs, layer, imageConfig(pythonVersion), IMAGE_REFERENCE, tarball());
      progress.accept(
          "Built "
              + IMAGE_REFERENCE
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
      return new RuntimeImage(tarball(), IMAGE_REFERENCE, pythonVersion, true);
    } finally {
      Rootfs.removeTree(work);
    }
  }

  static ImageConfig imageConfig(String pythonVersion) {
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
            "org.opencontainers.image.description",
            "Debian " + SUITE + " (minbase) with python3 and ca-certificates, built by Kiln"),
        "debootstrap --variant=minbase --include="
            + String.join(",", PACKAGES)
            + " "
            + SUITE
            + "; trimmed; user app (1000:1000) with home /app");
  }

  private void bootstrap(Path debootstrap, Path rootfs) throws RuntimeImageException {
    List<String> command =
        List.of(
            debootstrap.toString(),
            "--variant=minbase",
            "--include=" + String.join(",", PACKAGES),
            SUITE,
            rootfs.toString(),
            mirror);
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
              + SUITE
              + " root file system from "
              + mirror
              + " (exit status "
              + outcome.exitCode()
              + "). Check that the mirror is reachable "
              + "(or pass another one), then retry. Its last lines:\n"
              + outcome.tailText());
    }
  }

  /** Per-package lines (hundreds of them) are left out; the phases are worth showing. */
  static boolean isDebootstrapMilestone(String line) {
    return (line.startsWith("I: ") || line.startsWith("W: ") || line.startsWith("E: "))
        && !line.matches("I: (Retrieving|Validating|Extracting|Unpacking|Configuring) .*");
  }

  private String pythonVersionIn(Path rootfs) throws RuntimeImageException {
    StringBuilder output = new StringBuilder();
    Command.Outcome outcome =
        runTool(
            List.of(
                "chroot",
                rootfs.toString(),
                "/usr/bin/python3",
                "-c",
                "import platform; print(platform.python_version())"),
            PYTHON_TIMEOUT,
            line -> output.append(line).append('\n'));
    Matcher version = VERSION.matcher(output);
    if (!outcome.succeeded() || !version.find()) {
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
    return version.group();
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
  static Optional<RuntimeImage> readCached(Path tarball) {
    if (!Files.isRegularFile(tarball)) {
      return Optional.empty();
    }
    return DockerArchive.readConfig(tarball)
        .filter(config -> config.contains("\"" + FORMAT_LABEL + "\":\"" + FORMAT + "\""))
        .map(PYTHON_VERSION_ENV::matcher)
        .filter(Matcher::find)
        .map(version -> new RuntimeImage(tarball, IMAGE_REFERENCE, version.group(1), false));
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
