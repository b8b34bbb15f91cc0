package dev.kiln.images;

import dev.kiln.worker.runtime.DebootstrapImage;
import dev.kiln.worker.runtime.ImageConfig;
import dev.kiln.worker.runtime.RuntimeImageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The base of Kiln's own container image, built on this machine (no pulls): Debian bookworm
 * (minbase) with what a worker runs besides Java ({@code python3} for pip in the sandbox, {@code
 * git} for fetching, {@code bubblewrap} for the sandbox, {@code ca-certificates}), plus a JRE made
 * with {@code jlink} from the JDK running this process, at {@code /opt/java}.
 *
 * <p>It is a {@link DebootstrapImage.Recipe}: the same debootstrap, trimming, {@code docker save}
 * writer and once-per-machine cache as the offline Python runtimes. A cached tarball is reused only
 * when it was made from the same JDK build, with the same modules and packages, in the same format.
 */
public final class KilnBaseImage implements DebootstrapImage.Recipe {

  /** The machine-wide cache of Kiln's image bases and jib's layer caches. */
  public static final Path DEFAULT_CACHE = Path.of("/var/cache/kiln/images");

  /** Where the JRE goes in the image. */
  public static final String JAVA_HOME = "/opt/java";

  static final String SUITE = "bookworm";

  static final List<String> PACKAGES =
      List.of("python3", "git", "bubblewrap", "ca-certificates", "netbase", "tzdata");

  /** Bumped whenever the base's contents change meaning, so cached tarballs get rebuilt. */
  static final String FORMAT = "1";

  static final String FORMAT_LABEL = "dev.kiln.base.format";
  static final String JAVA_VERSION_LABEL = "dev.kiln.base.java-version";
  static final String MODULES_LABEL = "dev.kiln.base.jre-modules";
  static final String PACKAGES_LABEL = "dev.kiln.base.packages";

  private static final Duration JLINK_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration PROBE_TIMEOUT = Duration.ofMinutes(1);

  private final Path jdk;
  private final String javaVersion;
  private final List<String> modules;

  private KilnBaseImage(Path jdk, String javaVersion, List<String> modules) {
    this.jdk = jdk;
    this.javaVersion = javaVersion;
    this.modules = List.copyOf(new TreeSet<>(modules));
  }

  /**
   * The base with a JRE of {@code modules} linked from the JDK running this process.
   *
   * @throws IllegalStateException when this process runs on a JRE without {@code jlink} and jmods
   */
  public static KilnBaseImage fromRunningJdk(List<String> modules) {
    Path home = Path.of(System.getProperty("java.home"));
    if (!Files.isExecutable(home.resolve("bin/jlink"))
        || !Files.isDirectory(home.resolve("jmods"))) {
      throw new IllegalStateException(
          "The Java running Kiln ("
              + home
              + ") is a JRE without jlink or jmods, so it cannot make the image's JRE. Run kiln"
              + " image build on a full JDK 17 (apt-get install openjdk-17-jdk-headless).");
    }
    return new KilnBaseImage(home, Runtime.version().toString(), modules);
  }

  /** The JRE's modules, sorted. */
  public List<String> modules() {
    return modules;
  }

  /** The Java version of the JRE, as {@link Runtime#version()} says it. */
  public String javaVersion() {
    return javaVersion;
  }

  @Override
  public String suite() {
    return SUITE;
  }

  @Override
  public List<String> packages() {
    return PACKAGES;
  }

  @Override
  public String reference() {
    return "kiln/base:" + SUITE + "-jre" + Runtime.version().feature();
  }

  @Override
  public String tarballName() {
    return "kiln-base-" + SUITE + "-jre" + Runtime.version().feature() + ".tar";
  }

  @Override
  public String description() {
    return "Kiln base image (Debian " + SUITE + " with a Java " + javaVersion + " JRE)";
  }

  @Override
  public boolean reusable(Map<String, String> labels) {
    return DebootstrapImage.carrying(identity()).test(labels);
  }

  private Map<String, String> identity() {
    return Map.of(
        FORMAT_LABEL,
        FORMAT,
        JAVA_VERSION_LABEL,
        javaVersion,
        MODULES_LABEL,
        String.join(",", modules),
        PACKAGES_LABEL,
        String.join(",", PACKAGES));
  }

  @Override
  public DebootstrapImage.Finished finish(Path rootfs, Consumer<String> progress)
      throws IOException, RuntimeImageException {
    Path java = rootfs.resolve(JAVA_HOME.substring(1));
    Files.createDirectories(java.getParent());
    progress.accept("Linking a JRE of " + modules.size() + " modules with jlink: " + modules);
    List<String> jlink =
        List.of(
            jdk.resolve("bin/jlink").toString(),
            "--add-modules",
            String.join(",", modules),
            "--strip-debug",
            "--no-header-files",
            "--no-man-pages",
            "--compress=2",
            "--output",
            java.toString());
    run(jlink);
    // The JRE must really run on the image's glibc, not just on this machine's.
    String version =
        DebootstrapImage.chroot(
            rootfs, List.of(JAVA_HOME + "/bin/java", "-version"), PROBE_TIMEOUT);
    progress.accept("The image's JRE runs: " + version.lines().findFirst().orElse("").strip());
    Map<String, String> labels = new TreeMap<>(identity());
    labels.put("dev.kiln.base.debian-suite", SUITE);
    labels.put(
        "org.opencontainers.image.description",
        "Debian "
            + SUITE
            + " (minbase) with "
            + String.join(", ", PACKAGES)
            + " and a jlink'd Java "
            + javaVersion
            + " JRE at "
            + JAVA_HOME
            + ", built by Kiln");
    ImageConfig config =
        new ImageConfig(
            ImageConfig.architectureOf(System.getProperty("os.arch")),
            List.of(
                "PATH=" + JAVA_HOME + "/bin:" + DebootstrapImage.SYSTEM_PATH,
                "JAVA_HOME=" + JAVA_HOME,
                "LANG=C.UTF-8"),
            List.of(JAVA_HOME + "/bin/java", "-version"),
            "0:0",
            "/",
            labels,
            "debootstrap --variant=minbase --include="
                + String.join(",", PACKAGES)
                + " "
                + SUITE
                + "; trimmed; jlink --add-modules "
                + String.join(",", modules)
                + " --output "
                + JAVA_HOME);
    return new DebootstrapImage.Finished(config, List.of());
  }

  private static void run(List<String> command) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    Process process = builder.start();
    String output;
    try (var in = process.getInputStream()) {
      output = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    try {
      if (!process.waitFor(JLINK_TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(command.get(0) + " did not finish within " + JLINK_TIMEOUT);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while running " + command.get(0), e);
    }
    if (process.exitValue() != 0) {
      throw new IOException(
          "jlink failed (exit status "
              + process.exitValue()
              + "): "
              + output.strip()
              + ". Check that the JDK at "
              + command.get(0)
              + " has its jmods (Debian: openjdk-17-jdk-headless).");
    }
  }
}
