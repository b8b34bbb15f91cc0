package dev.kiln.worker.runtime;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.Digest;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxLimits;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.sandbox.SandboxSpec;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The runtimes this worker builds on, as verified facts rather than catalog promises. The first
 * time a worker uses a catalog entry it gets the image onto local disk (builds a {@code
 * debootstrap:} suite, pulls a registry or daemon image into a tarball, or takes a {@code tar:}
 * file as it is), reads which Python and glibc the image really has — from Kiln's labels or the
 * official images' {@code PYTHON_VERSION}, else by running its {@code python3} in the sandbox — and
 * refuses the entry with {@value #VERSION_MISMATCH} when that is not what the catalog says. The
 * plan, the build log, the report and the image labels all carry the catalog's version, so this
 * check is what makes them true.
 *
 * <p>Each image's root file system is unpacked once (per machine when the machine cache is
 * writable), shared read-only by every sandboxed step that runs on it.
 *
 * <p>Blocking; thread-safe; one instance per worker process.
 */
public final class RuntimeStore {
  public static final String UNAVAILABLE = "runtime::unavailable";
  public static final String VERSION_MISMATCH = "runtime::version-mismatch";
  public static final String BROKEN = "runtime::broken";
  public static final String DEBOOTSTRAP_PREFIX = "debootstrap:";

  static final String PYTHON_VERSION_LABEL = LocalRuntimeImage.PYTHON_VERSION_LABEL;
  static final String GLIBC_LABEL = LocalRuntimeImage.GLIBC_LABEL;

  private static final String CATALOG_HELP =
      "the runtime catalog (--runtime-catalog / KILN_RUNTIME_CATALOG; see docs/images.md)";
  private static final Pattern PROBE = Pattern.compile("(\\d+\\.\\d+\\.\\d+)\\S*\\s+(\\S*)");
  private static final Pattern GLIBC = Pattern.compile("2\\.(\\d+)");
  private static final SandboxLimits PROBE_LIMITS =
      SandboxLimits.defaults().withTime(Duration.ofMinutes(1)).withMemoryBytes(256L << 20);

  /**
   * Where runtimes are kept.
   *
   * @param directory this farm's runtime directory (pulled images, and unpacked root file systems
   *     when there is no machine cache)
   * @param machineCache a directory shared by every Kiln on the machine, used when writable:
   *     debootstrapped suites and unpacked root file systems (both immutable, named by content)
   * @param debianMirror where {@code debootstrap:} suites come from
   */
  public record Settings(Path directory, Optional<Path> machineCache, String debianMirror) {
    public Settings {
      directory = directory.toAbsolutePath().normalize();
      Objects.requireNonNull(machineCache, "machineCache");
      Objects.requireNonNull(debianMirror, "debianMirror");
    }

    /** {@code directory}, the machine cache {@code /var/cache/kiln/runtimes}, deb.debian.org. */
    public static Settings in(Path directory) {
      return new Settings(
          directory,
          Optional.of(LocalRuntimeImage.DEFAULT_MACHINE_CACHE),
          LocalRuntimeImage.DEFAULT_MIRROR);
    }

    public Settings withoutMachineCache() {
      return new Settings(directory, Optional.empty(), debianMirror);
    }

    public Settings withDebianMirror(String mirror) {
      return new Settings(directory, machineCache, mirror);
    }
  }

  /**
   * A runtime whose image this worker has on disk and has checked.
   *
   * @param entry the catalog entry
   * @param base the image for jib (a registry or daemon image stays where it is; a debootstrapped
   *     suite is its tarball)
   * @param archive the image as a {@code docker save} tarball on this worker
   * @param imageId the sha256 of its configuration
   * @param python the Python version the image has
   * @param glibc the glibc version the image has
   * @param evidence how that was learnt: {@code labels}, {@code PYTHON_VERSION} or {@code probe}
   */
  public record VerifiedRuntime(
      RuntimeCatalog.Runtime entry,
      RuntimeImageReference base,
      Path archive,
      Digest imageId,
      String python,
      String glibc,
      String evidence) {}

  private final Settings settings;
  private final RuntimeCatalog catalog;
  private final Sandbox sandbox;
  private final ExecutorService jibExecutor;
  private final Map<String, VerifiedRuntime> verified = new ConcurrentHashMap<>();
  private final Map<String, Object> locks = new ConcurrentHashMap<>();

  /**
   * @param sandbox runs the probe when an image does not say what it has
   * @param jibExecutor threads for pulling images (unbounded; shared with ASSEMBLE)
   */
  public RuntimeStore(
      Settings settings, RuntimeCatalog catalog, Sandbox sandbox, ExecutorService jibExecutor) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    this.sandbox = Objects.requireNonNull(sandbox, "sandbox");
    this.jibExecutor = Objects.requireNonNull(jibExecutor, "jibExecutor");
    Registries.boundTimeouts();
  }

  /** The catalog this worker builds with. */
  public RuntimeCatalog catalog() {
    return catalog;
  }

  /**
   * The verified runtime of an exact Python version of the plan.
   *
   * @throws StepFailure {@value #UNAVAILABLE} when this worker's catalog has no such version (the
   *     worker that planned the build has another catalog), or see {@link #verify}
   */
  public VerifiedRuntime forPython(String pythonVersion, LogSink log) throws StepFailure {
    if (pythonVersion == null || pythonVersion.isBlank()) {
      throw new StepFailure(
          UNAVAILABLE,
          "The build plan names no Python version, so no runtime image can be chosen. This is a"
              + " bug in the DETECT step; push again, and report it if it happens again.");
    }
    RuntimeCatalog.Runtime entry =
        catalog
            .runtimeFor(pythonVersion)
            .orElseThrow(
                () ->
                    new StepFailure(
                        UNAVAILABLE,
                        "This worker's runtime catalog has no runtime for Python "
                            + pythonVersion
                            + " (it has "
                            + String.join(
                                ", ",
                                catalog.runtimes().stream()
                                    .map(RuntimeCatalog.Runtime::python)
                                    .toList())
                            + "), although the build was planned with it: the farm's workers have"
                            + " different catalogs. Give every worker the same "
                            + CATALOG_HELP
                            + ", then push again."));
    return verify(entry, log);
  }

  /**
   * The verified runtime for a catalog entry: on disk and checked the first time, from memory after
   * that.
   *
   * @throws StepFailure {@value #UNAVAILABLE} when the image cannot be had, {@value
   *     #VERSION_MISMATCH} when it is not what the catalog says, {@value #BROKEN} when it has no
   *     working {@code python3}
   */
  public VerifiedRuntime verify(RuntimeCatalog.Runtime entry, LogSink log) throws StepFailure {
    VerifiedRuntime known = verified.get(entry.image());
    if (known != null) {
      check(entry, known);
      return known;
    }
    synchronized (locks.computeIfAbsent("verify " + entry.image(), k -> new Object())) {
      known = verified.get(entry.image());
      if (known == null) {
        known = materializeAndInspect(entry, log);
        verified.put(entry.image(), known);
      }
    }
    check(entry, known);
    return known;
  }

  /**
   * The runtime's root file system, unpacked once and shared read-only: what the sandbox mounts as
   * {@code /}.
   */
  public Path rootfs(VerifiedRuntime runtime, LogSink log) throws StepFailure {
    return unpacked(runtime.archive(), runtime.imageId(), runtime.entry(), log);
  }

  private VerifiedRuntime materializeAndInspect(RuntimeCatalog.Runtime entry, LogSink log)
      throws StepFailure {
    String reference = entry.image().strip();
    RuntimeImageReference base;
    Path archive;
    if (reference.startsWith(DEBOOTSTRAP_PREFIX)) {
      RuntimeImage image =
          debootstrapped(reference.substring(DEBOOTSTRAP_PREFIX.length()), entry, log);
      archive = image.tarball();
      base = new RuntimeImageReference.Tarball(archive);
    } else {
      try {
        base = RuntimeImageReference.parse(reference);
      } catch (IllegalArgumentException e) {
        throw unavailable(
            entry, "the catalog entry is not an image reference: " + e.getMessage(), e);
      }
      archive =
          base instanceof RuntimeImageReference.Tarball tarball
              ? tarball.path()
              : pulled(base, entry, log);
    }
    String config;
    try (DockerArchive.Reader reader = DockerArchive.Reader.open(archive)) {
      config = reader.configJson();
    } catch (IOException e) {
      throw unavailable(entry, "the image at " + archive + " cannot be read: " + e.getMessage(), e);
    }
    Digest imageId = Digest.compute(config.getBytes(StandardCharsets.UTF_8));
    Map<String, String> labels = ImageConfigJson.labels(config);
    Map<String, String> env = ImageConfigJson.env(config);
    String python = labels.getOrDefault(PYTHON_VERSION_LABEL, env.get("PYTHON_VERSION"));
    String glibc = labels.get(GLIBC_LABEL);
    String evidence = labels.containsKey(PYTHON_VERSION_LABEL) ? "labels" : "PYTHON_VERSION";
    if (python == null || glibc == null) {
      String[] probed = probe(archive, imageId, entry, log);
      python = probed[0];
      glibc = probed[1];
      evidence = "probe";
    }
    log.info(
        "       Runtime "
            + base
            + ": Python "
            + python
            + ", glibc "
            + (glibc.isEmpty() ? "none" : glibc)
            + " (checked: "
            + evidence
            + ")");
    return new VerifiedRuntime(entry, base, archive, imageId, python, glibc, evidence);
  }

  private static void check(RuntimeCatalog.Runtime entry, VerifiedRuntime found)
      throws StepFailure {
    boolean pythonMatches = entry.python().equals(found.python());
    boolean glibcEnough = glibcMinor(found.glibc()) >= glibcMinor(entry.glibc());
    if (pythonMatches && glibcEnough) {
      return;
    }
    StringBuilder message =
        new StringBuilder("The runtime catalog says ")
            .append(entry.image())
            .append(" has Python ")
            .append(entry.python())
            .append(" on glibc ")
            .append(entry.glibc())
            .append(", but the image has Python ")
            .append(found.python())
            .append(" on ")
            .append(
                found.glibc().isEmpty()
                    ? "no glibc at all (musl images such as Alpine cannot run manylinux wheels)"
                    : "glibc " + found.glibc())
            .append(". Kiln refuses to build with it: the build report, the image labels and the")
            .append(" wheels chosen for it would be wrong.\n\nFix the entry for Python ")
            .append(entry.python())
            .append(" in ")
            .append(CATALOG_HELP)
            .append(": say what the image really has (\"python\": \"")
            .append(found.python())
            .append("\"")
            .append(found.glibc().isEmpty() ? "" : ", \"glibc\": \"" + found.glibc() + "\"")
            .append("), or point it at an image that has Python ")
            .append(entry.python())
            .append(".");
    throw new StepFailure(VERSION_MISMATCH, message.toString());
  }

  private static int glibcMinor(String glibc) {
    Matcher matcher = GLIBC.matcher(glibc == null ? "" : glibc.strip());
    return matcher.matches() ? Integer.parseInt(matcher.group(1)) : -1;
  }

  private RuntimeImage debootstrapped(String suite, RuntimeCatalog.Runtime entry, LogSink log)
      throws StepFailure {
    LocalRuntimeImage local;
    try {
      local =
          LocalRuntimeImage.forSuite(suite, settings.directory().resolve("debian"))
              .withMirror(settings.debianMirror())
              .withProgress(line -> log.info("       " + line));
    } catch (IllegalArgumentException e) {
      throw unavailable(entry, e.getMessage(), e);
    }
    local =
        settings.machineCache().isPresent()
            ? local.withMachineCache(settings.machineCache().get())
            : local.withoutMachineCache();
    try {
      return local.ensureAvailable();
    } catch (RuntimeImageException e) {
      throw unavailable(entry, e.getMessage(), e);
    }
  }

  /** A registry or daemon image as a tarball of its own on this worker, pulled once. */
  private Path pulled(RuntimeImageReference base, RuntimeCatalog.Runtime entry, LogSink log)
      throws StepFailure {
    String name = Digest.compute(base.toString().getBytes(StandardCharsets.UTF_8)).hex();
    Path images = settings.directory().resolve("images");
    Path archive = images.resolve(name + ".tar");
    synchronized (locks.computeIfAbsent("pull " + name, k -> new Object())) {
      if (Files.isRegularFile(archive)) {
        return archive;
      }
      log.info("       Pulling the runtime image " + base + " (once per worker)…");
      Path temp = images.resolve("." + name + "." + UUID.randomUUID() + ".tmp");
      try {
        if (base instanceof RuntimeImageReference.Registry registry) {
          try {
            Registries.checkReachable(registry.image());
          } catch (IOException unreachable) {
            throw unavailable(entry, unreachable.getMessage(), unreachable);
          }
        }
        Files.createDirectories(images);
        base.jibBase()
            .setFormat(ImageFormat.Docker)
            .containerize(
                Containerizer.to(
                        TarImage.at(temp)
                            .named(
                                ImageReference.of(
                                    null, "kiln/runtime-pull", name.substring(0, 12))))
                    .setBaseImageLayersCache(settings.directory().resolve("jib/base"))
                    .setApplicationLayersCache(settings.directory().resolve("jib/app"))
                    .setAllowInsecureRegistries(base.usesPlainHttp())
                    .setExecutorService(jibExecutor)
                    .setToolName("kiln"));
        DockerArchive.moveAtomically(temp, archive);
        return archive;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw unavailable(entry, "the worker stopped while pulling it", e);
      } catch (ExecutionException
          | IOException
          | RuntimeException
          | com.google.cloud.tools.jib.api.RegistryException
          | com.google.cloud.tools.jib.api.CacheDirectoryCreationException e) {
        throw unavailable(entry, rootMessage(e), e);
      } finally {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException e) {
          log.warn("       Could not remove " + temp + ": " + e.getMessage());
        }
      }
    }
  }

  private Path unpacked(Path archive, Digest imageId, RuntimeCatalog.Runtime entry, LogSink log)
      throws StepFailure {
    Path target = rootfsParent().resolve(imageId.hex());
    if (Files.isDirectory(target)) {
      return target;
    }
    try {
      log.info("       Unpacking the runtime's root file system for the build sandbox (once)…");
      ImageRootfs.withDefaults().unpack(archive, target, line -> log.info("       " + line));
      return target;
    } catch (ImageRootfsException e) {
      if (e.code() == ImageRootfsException.Code.TARGET_EXISTS) {
        return target; // another worker unpacked it first; the tree is complete
      }
      throw unavailable(
          entry,
          "its root file system could not be unpacked into " + target + ": " + e.getMessage(),
          e);
    }
  }

  private Path rootfsParent() {
    Optional<Path> shared =
        settings
            .machineCache()
            .map(cache -> cache.resolve("rootfs"))
            .filter(RuntimeStore::writable);
    return shared.orElse(settings.directory().resolve("rootfs"));
  }

  private static boolean writable(Path directory) {
    try {
      Files.createDirectories(directory);
      return Files.isWritable(directory);
    } catch (IOException | SecurityException e) {
      return false;
    }
  }

  /** Runs the image's python3 in the sandbox: {python, glibc}, remembered next to its rootfs. */
  private String[] probe(Path archive, Digest imageId, RuntimeCatalog.Runtime entry, LogSink log)
      throws StepFailure {
    Path rootfs = unpacked(archive, imageId, entry, log);
    Path remembered = rootfs.resolveSibling(imageId.hex() + ".probe");
    try {
      if (Files.isRegularFile(remembered)) {
        Matcher matcher = PROBE.matcher(Files.readString(remembered));
        if (matcher.find()) {
          return new String[] {matcher.group(1), matcher.group(2)};
        }
      }
    } catch (IOException e) {
      // Probe again below.
    }
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome;
    try {
      outcome =
          sandbox.run(
              SandboxSpec.of(
                      rootfs,
                      List.of(
                          "python3",
                          "-c",
                          "import platform; print(platform.python_version(), platform.libc_ver()[1])"))
                  .withWorkingDirectory("/tmp")
                  .withEnvironment(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin"))
                  .withLimits(PROBE_LIMITS),
              output::add);
    } catch (SandboxException e) {
      throw new StepFailure(
          "sandbox::unavailable",
          "Kiln could not run the runtime image's python3 to check its version: " + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable(entry, "the worker stopped while checking it", e);
    }
    Matcher matcher = PROBE.matcher(String.join("\n", output));
    if (!outcome.succeeded() || !matcher.find()) {
      throw new StepFailure(
          BROKEN,
          "The runtime image "
              + entry.image()
              + " for Python "
              + entry.python()
              + " has no working python3 on its PATH (it printed: "
              + String.join(" / ", output)
              + "). Point the catalog entry in "
              + CATALOG_HELP
              + " at a Python image.");
    }
    try {
      Files.writeString(remembered, matcher.group(1) + " " + matcher.group(2) + "\n");
    } catch (IOException e) {
      log.warn(
          "       Could not remember the probe result in " + remembered + ": " + e.getMessage());
    }
    return new String[] {matcher.group(1), matcher.group(2)};
  }

  private static StepFailure unavailable(
      RuntimeCatalog.Runtime entry, String reason, Throwable cause) {
    return new StepFailure(
        UNAVAILABLE,
        "The runtime image for Python "
            + entry.python()
            + ", "
            + entry.image()
            + ", is not available to this worker: "
            + reason
            + "\n\nMake it reachable (push it to that registry, load it into the Docker daemon, create"
            + " the tarball, or let the worker reach the Debian mirror), or point the entry for Python "
            + entry.python()
            + " in "
            + CATALOG_HELP
            + " at an image that exists.",
        cause);
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? root.toString() : root.getMessage();
    return root == e ? message : e.getClass().getSimpleName() + ": " + message;
  }
}
