package dev.kiln.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The JDK modules Kiln's image needs: what {@code jdeps} finds the classpath using, plus the
 * modules only loaded at run time (service providers and reflection, which jdeps cannot see).
 */
public final class JreModules {

  /**
   * Loaded at run time, never named in bytecode: TLS with elliptic curves (Kafka over TLS, HTTPS to
   * registries and indexes) needs {@code jdk.crypto.ec}; Kafka's SASL/GSSAPI and JAAS login modules
   * live in {@code jdk.security.auth} and {@code java.security.sasl}; {@code jdk.naming.dns}
   * resolves names through JNDI (Kafka's {@code client.dns.lookup}); {@code jdk.zipfs} opens jars
   * and zip files as file systems; {@code jdk.charsets} has the non-UTF charsets git and pip output
   * may use; {@code jdk.management} gives Kafka's and Micrometer's OS metrics; {@code
   * jdk.unsupported} is {@code sun.misc.Unsafe} for Netty and Kafka.
   */
  static final List<String> RUNTIME_ONLY =
      List.of(
          "java.security.sasl",
          "jdk.charsets",
          "jdk.crypto.ec",
          "jdk.management",
          "jdk.naming.dns",
          "jdk.security.auth",
          "jdk.unsupported",
          "jdk.zipfs");

  /**
   * What jdeps found Kiln's code using when this was written. Always included: the base image is
   * cached by its module list, so a list that moved with every new dependency would debootstrap the
   * base again each time; jdeps only adds what a new dependency needs beyond these. Used alone
   * (with {@link #RUNTIME_ONLY}) when jdeps fails.
   */
  static final List<String> KNOWN =
      List.of(
          "java.base",
          "java.compiler",
          "java.desktop",
          "java.management",
          "java.naming",
          "java.net.http",
          "java.security.jgss",
          "java.sql",
          "jdk.jfr");

  private JreModules() {}

  /**
   * The modules for {@code classpath}: {@link #KNOWN} and {@link #RUNTIME_ONLY}, plus whatever
   * {@code jdeps --print-module-deps --recursive} finds Kiln's own entries needing through
   * everything they use (a warning to {@code progress} when jdeps fails).
   */
  public static List<String> forClasspath(KilnClasspath classpath, Consumer<String> progress) {
    TreeSet<String> modules = new TreeSet<>(RUNTIME_ONLY);
    modules.addAll(KNOWN);
    try {
      modules.addAll(jdeps(classpath.kilnEntries(), classpath.entries()));
    } catch (IOException e) {
      progress.accept(
          "jdeps could not analyse the classpath ("
              + e.getMessage()
              + "); using Kiln's known module list.");
    }
    return List.copyOf(modules);
  }

  /** What jdeps finds {@code roots} (and what they use, recursively, on {@code classpath}) need. */
  static List<String> jdeps(List<Path> roots, List<Path> classpath) throws IOException {
    Path jdeps = Path.of(System.getProperty("java.home"), "bin", "jdeps");
    String joined = classpath.stream().map(Path::toString).collect(Collectors.joining(":"));
    List<String> command = new ArrayList<>();
    command.addAll(
        List.of(
            jdeps.toString(),
            "--ignore-missing-deps",
            "--print-module-deps",
            "--multi-release",
            String.valueOf(Runtime.version().feature()),
            "-q",
            "--recursive",
            "--class-path",
            joined));
    command.addAll(roots.stream().map(Path::toString).toList());
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit;
    try {
      exit = process.waitFor();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    String last = output.strip().lines().reduce((first, second) -> second).orElse("");
    if (exit != 0 || !last.matches("[a-z][a-z0-9.]*(,[a-z][a-z0-9.]*)*")) {
      throw new IOException(
          "exit status " + exit + ": " + output.strip().lines().limit(3).toList());
    }
    return List.of(last.split(","));
  }
}
