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
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A single-layer Debian image built on this machine with debootstrap, written as a {@code docker
 * save} tarball (usable as a jib {@code TarImage} base and with {@code docker load}) and cached so
 * it is built once per machine. The Python runtimes ({@link LocalRuntimeImage}) and the base image
 * of Kiln's own container image are both made this way; what differs between them is a {@link
 * Recipe}.
 *
 * <p>Building: {@code debootstrap --variant=minbase --include=<packages> <suite>}, trimmed of
 * package lists, manuals, translations and docs ({@link Rootfs#trim}); then the recipe's {@link
 * Recipe#finish} adds what it needs and returns the image configuration, whose labels say what the
 * image really has.
 *
 * <p>Caching: the tarball lives at {@code <directory>/<tarballName>}. A machine-wide cache ({@code
 * /var/cache/kiln/...}) is read when it has a tarball and written when it is writable. A cached
 * tarball is reused only when its labels pass the recipe's {@link Recipe#reusable} check (so a
 * format bump or another package list rebuilds it). One build runs at a time per machine cache
 * (file lock), and one per JVM.
 *
 * <p>Building needs root (debootstrap chroots); when debootstrap is missing and the process is root
 * it is installed with apt-get. Everything blocks: call it from a worker thread.
 */
public final class DebootstrapImage {

  public static final String DEFAULT_MIRROR = "http://deb.debian.org/debian";

  /** The PATH every tool runs with, and images get. */
  public static final String SYSTEM_PATH =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  /** What one image is: its suite and packages, its names, and what is done to its rootfs. */
  public interface Recipe {
    /** The Debian suite, e.g. {@code bookworm}. */
    String suite();

    /** What debootstrap includes. */
    List<String> packages();

    /** The reference the tarball's manifest carries, e.g. {@code kiln/base:bookworm-jre17}. */
    String reference();

    /** The tarball's file name in the cache directories. */
    String tarballName();

    /** How progress lines name the image, e.g. {@code "local Debian bookworm Python runtime"}. */
    String description();

    /** Whether a cached tarball with these labels is this image (same format, same contents). */
    boolean reusable(Map<String, String> labels);

    /** What progress lines add after the reference, e.g. {@code " (Python 3.11.2)"}. */
    default String describe(Map<String, String> labels) {
      return "";
    }

    /**
     * Finishes the bootstrapped, trimmed root file system (adds users, files, probes versions) and
     * returns the image configuration; runs as root, from the calling thread.
     */
    Finished finish(Path rootfs, Consumer<String> progress)
        throws IOException, RuntimeImageException;
  }

  /**
   * What {@link Recipe#finish} decided.
   *
   * @param config the image configuration (its labels are what {@link Recipe#reusable} reads back)
   * @param ownedByAppUser paths relative to the rootfs (e.g. {@code "app"}) stored as owned by the
   *     non-root user {@code app} (1000:1000), whatever the disk says
   */
  public record Finished(ImageConfig config, List<String> ownedByAppUser) {
    public Finished {
      Objects.requireNonNull(config, "config");
      ownedByAppUser = List.copyOf(ownedByAppUser);
    }
  }

  /**
   * A tarball of the image.
   *
   * @param tarball where it is (this instance's directory, or the machine cache)
   * @param reference the reference its manifest carries
   * @param labels its configuration's labels
   * @param freshlyBuilt whether this call built it (false when a cached tarball was reused)
   */
  public record Built(
      Path tarball, String reference, Map<String, String> labels, boolean freshlyBuilt) {
    public Built {
      Objects.requireNonNull(tarball, "tarball");
      Objects.requireNonNull(reference, "reference");
      labels = Map.copyOf(labels);
    }
  }

  private static final Path GENERIC_SCRIPT = Path.of("/usr/share/debootstrap/scripts/sid");
  private static final Path SCRIPTS = Path.of("/usr/share/debootstrap/scripts");
  private static final Duration DEBOOTSTRAP_TIMEOUT = Duration.ofMinutes(20);
  private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration PACKAGE_LINE_INTERVAL = Duration.ofSeconds(5);
  private static final Pattern SUITE_NAME = Pattern.compile("[a-z][a-z0-9-]{1,30}");
  private static final Object IN_PROCESS_LOCK = new Object();

  private final Recipe recipe;
  private final Path directory;
  private final Optional<Path> machineCache;
  private final Consumer<String> progress;
  private final String mirror;

  private DebootstrapImage(
      Recipe recipe,
      Path directory,
      Optional<Path> machineCache,
      Consumer<String> progress,
      String mirror) {
    this.recipe = recipe;
    this.directory = directory.toAbsolutePath();
    this.machineCache = machineCache.map(Path::toAbsolutePath);
    this.progress = progress;
    this.mirror = mirror;
  }

  /**
   * The image {@code recipe} describes, cached in {@code directory}, with no machine-wide cache,
   * the mirror {@link #DEFAULT_MIRROR} and progress discarded.
   *
   * @throws IllegalArgumentException when the recipe's suite is not a Debian suite name
   */
  public static DebootstrapImage of(Recipe recipe, Path directory) {
    requireSuiteName(recipe.suite());
    return new DebootstrapImage(
        recipe,
        Objects.requireNonNull(directory, "directory"),
        Optional.empty(),
        line -> {},
        DEFAULT_MIRROR);
  }

  /** Throws when {@code suite} is not a Debian suite name such as bookworm. */
  public static String requireSuiteName(String suite) {
    if (suite == null || !SUITE_NAME.matcher(suite).matches()) {
      throw new IllegalArgumentException(
          "'"
              + suite
              + "' is not a Debian suite name such as bookworm or trixie (lowercase letters,"
              + " digits and '-')");
    }
    return suite;
  }

  /** Throws when {@code mirrorUrl} is not an http(s):// or file:// URL. */
  public static String requireMirrorUrl(String mirrorUrl) {
    if (mirrorUrl == null || !mirrorUrl.matches("(?i)(https?|file)://\\S+")) {
      throw new IllegalArgumentException(
          "Debian mirror '"
              + mirrorUrl
              + "' is not an http(s):// or file:// URL; e.g. "
              + DEFAULT_MIRROR);
    }
    return mirrorUrl;
  }

  /** Progress lines (one sentence each) go to {@code progress}, from the calling thread. */
  public DebootstrapImage withProgress(Consumer<String> progress) {
    return new DebootstrapImage(
        recipe, directory, machineCache, Objects.requireNonNull(progress, "progress"), mirror);
  }

  /** Reads and writes this machine-wide cache directory too; empty for none. */
  public DebootstrapImage withMachineCache(Optional<Path> machineCache) {
    return new DebootstrapImage(recipe, directory, machineCache, progress, mirror);
  }

  /** Bootstraps from this Debian mirror (e.g. a local apt proxy) instead of deb.debian.org. */
  public DebootstrapImage withMirror(String mirrorUrl) {
    return new DebootstrapImage(
        recipe, directory, machineCache, progress, requireMirrorUrl(mirrorUrl));
  }

  /** Where this instance keeps the tarball: {@code <directory>/<tarballName>}. */
  public Path tarball() {
    return directory.resolve(recipe.tarballName());
  }

  /** The cached image, from this directory or the machine cache, without building. */
  public Optional<Built> findCached() {
    Optional<Built> own = readCached(tarball());
    return own.isPresent()
        ? own
        : machineCache.flatMap(cache -> readCached(cache.resolve(recipe.tarballName())));
  }

  /**
   * The image in {@code tarball} when it is a complete tarball the recipe accepts; empty otherwise
   * (missing, truncated, another format), which makes {@link #ensureAvailable} rebuild it.
   */
  public Optional<Built> readCached(Path tarball) {
    if (!Files.isRegularFile(tarball)) {
      return Optional.empty();
    }
    return DockerArchive.readConfig(tarball)
        .map(ImageConfigJson::labels)
        .filter(recipe::reusable)
        .map(labels -> new Built(tarball, recipe.reference(), labels, false));
  }

  /**
   * Returns the image, building it first when neither cache has it. Safe to call from several
   * threads and processes at once: one builds, the others wait and reuse its result.
   */
  public Built ensureAvailable() throws RuntimeImageException {
    synchronized (IN_PROCESS_LOCK) {
      try {
        Files.createDirectories(directory);
      } catch (IOException e) {
        throw new RuntimeImageException(
            Code.IO_FAILED,
            "Cannot create the directory "
                + directory
                + " for the "
                + recipe.description()
                + ": "
                + e.getMessage()
                + ". Point KILN_HOME at a writable directory.",
            e);
      }
      Optional<Path> writableMachineCache = machineCache.filter(DebootstrapImage::makeWritable);
      Path lockFile =
          writableMachineCache.orElse(directory).resolve("." + recipe.tarballName() + ".lock");
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
            "Cannot prepare the "
                + recipe.description()
                + " in "
                + directory
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
        "Another Kiln process is building the " + recipe.description() + "; waiting for it…");
    return channel.lock();
  }

  private Built reuseOrBuild(Optional<Path> writableMachineCache)
      throws IOException, RuntimeImageException {
    Optional<Built> own = readCached(tarball());
    if (own.isPresent()) {
      progress.accept(reusing(own.get()));
      return own.get();
    }
    Optional<Built> shared =
        machineCache.flatMap(cache -> readCached(cache.resolve(recipe.tarballName())));
    if (shared.isPresent()) {
      Built image = shared.get();
      Path local = linkOrCopy(image.tarball(), tarball()) ? tarball() : image.tarball();
      progress.accept(reusing(image));
      return new Built(local, image.reference(), image.labels(), false);
    }
    Built built = build();
    for (Path cache : writableMachineCache.stream().toList()) {
      if (linkOrCopy(built.tarball(), cache.resolve(recipe.tarballName()))) {
        progress.accept(
            "Cached it machine-wide in " + cache + " for other Kiln homes and CI runs.");
      }
    }
    return built;
  }

  private String reusing(Built image) {
    return "Using the "
        + recipe.description()
        + " "
        + image.reference()
        + recipe.describe(image.labels())
        + " from "
        + image.tarball();
  }

  private Built build() throws IOException, RuntimeImageException {
    progress.accept(
        "Building the "
            + recipe.description()
            + " with debootstrap (once per machine; a minute or two)…");
    boolean root = isRoot();
    Path debootstrap = findDebootstrap(root);
    if (!root) {
      throw new RuntimeImageException(
          Code.NEEDS_ROOT,
          "Building the "
              + recipe.description()
              + " needs root: debootstrap creates a Debian root file system with chroot. Run"
              + " Kiln once as root (e.g. sudo ./kiln demo) so the image is built and cached in "
              + machineCache.orElse(directory)
              + ", or copy a tarball built elsewhere to "
              + tarball()
              + ".");
    }
    removeLeftoversOfInterruptedBuilds();
    Path work = Files.createTempDirectory(directory, ".rootfs-");
    try {
      Path rootfs = work.resolve("rootfs");
      long started = System.nanoTime();
      bootstrap(debootstrap, rootfs);
      progress.accept(
          "debootstrap finished in "
              + Duration.ofNanos(System.nanoTime() - started).toSeconds()
              + " s; trimming the root file system.");
      Rootfs.trim(rootfs);
      Finished finished = recipe.finish(rootfs, progress);
      LayerTarWriter layer = LayerTarWriter.keepingOwners();
      for (String path : finished.ownedByAppUser()) {
        layer = layer.withOwner(path, new Owner(Rootfs.APP_UID, Rootfs.APP_GID));
      }
      DockerArchive.Written written =
          DockerArchive.write(rootfs, layer, finished.config(), recipe.reference(), tarball());
      progress.accept(
          "Built "
              + recipe.reference()
              + recipe.describe(finished.config().labels())
              + ", "
              + written.archiveBytes() / (1024 * 1024)
              + " MiB, layer "
              + written.diffId()
              + ", in "
              + Duration.ofNanos(System.nanoTime() - started).toSeconds()
              + " s: "
              + tarball());
      return new Built(tarball(), recipe.reference(), finished.config().labels(), true);
    } finally {
      Rootfs.removeTree(work);
    }
  }

  private void bootstrap(Path debootstrap, Path rootfs) throws RuntimeImageException {
    String suite = recipe.suite();
    List<String> command =
        new ArrayList<>(
            List.of(
                debootstrap.toString(),
                "--variant=minbase",
                "--include=" + String.join(",", recipe.packages()),
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

  private Path findDebootstrap(boolean root) throws RuntimeImageException {
    Optional<Path> installed = onPath("debootstrap");
    if (installed.isPresent()) {
      return installed.get();
    }
    if (!root) {
      throw new RuntimeImageException(
          Code.DEBOOTSTRAP_MISSING,
          "debootstrap is not installed, and Kiln needs it to build the "
              + recipe.description()
              + ". Install it (sudo apt-get install -y debootstrap) and run Kiln as root once so"
              + " it can bootstrap the image.");
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

  /**
   * Runs {@code command} with the {@link #SYSTEM_PATH}, a C locale and no terminal, passing each
   * output line to {@code lines}; fails with a message naming the tool when it cannot start.
   */
  static Command.Outcome runTool(List<String> command, Duration timeout, Consumer<String> lines)
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

  /**
   * Runs {@code command} in {@code rootfs} with chroot, with its own {@code /proc} mounted as in a
   * container (in a private mount and PID namespace, so nothing is left mounted: a JVM finds its
   * libraries through {@code $ORIGIN}, which glibc reads from {@code /proc/self/exe}), and returns
   * its output; fails with {@link Code#BROKEN_ROOTFS} and the output's last lines when it exits
   * non-zero.
   */
  public static String chroot(Path rootfs, List<String> command, Duration timeout)
      throws RuntimeImageException {
    List<String> full =
        new ArrayList<>(
            List.of(
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc=" + rootfs.resolve("proc"),
                "chroot",
                rootfs.toString()));
    full.addAll(command);
    StringBuilder output = new StringBuilder();
    Command.Outcome outcome = runTool(full, timeout, line -> output.append(line).append('\n'));
    if (!outcome.succeeded()) {
      throw new RuntimeImageException(
          Code.BROKEN_ROOTFS,
          "'"
              + String.join(" ", command)
              + "' does not run in the bootstrapped root file system (exit status "
              + outcome.exitCode()
              + "): "
              + outcome.tailText().strip());
    }
    return output.toString();
  }

  private void removeLeftoversOfInterruptedBuilds() throws IOException {
    try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(directory, ".rootfs-*")) {
      for (Path leftover : leftovers) {
        progress.accept("Removing " + leftover + ", left by an interrupted build.");
        Rootfs.removeTree(leftover);
      }
    }
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

  /** Whether this process runs as root. */
  public static boolean isRoot() {
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
        .filter(entry -> !entry.isEmpty())
        .map(entry -> Path.of(entry, program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  /** A label check for {@link Recipe#reusable}: every entry of {@code expected} is present. */
  public static Predicate<Map<String, String>> carrying(Map<String, String> expected) {
    return labels ->
        expected.entrySet().stream()
            .allMatch(entry -> entry.getValue().equals(labels.get(entry.getKey())));
  }
}
