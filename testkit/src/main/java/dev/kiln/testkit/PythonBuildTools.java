package dev.kiln.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Real pip, setuptools and wheel wheels for test indexes whose builds need a resolver and a build
 * backend: Kiln runs pip from its index to resolve unpinned requirements, and an sdist or a
 * setup.py project builds with setuptools and wheel from it.
 *
 * <pre>{@code
 * PythonBuildTools.copyTo(indexDir); // pip-23.2.1-…whl, setuptools-65.5.0-…whl, wheel-0.38.4-…whl
 * }</pre>
 *
 * <p>pip and setuptools are the upstream wheels CPython bundles for {@code ensurepip} with the
 * machine's {@code python3}. Debian's own setuptools wheel ({@code python3-setuptools-whl}) is not
 * usable here: Debian patches it to need the {@code install_layout} option of Debian's patched
 * distutils, so it fails on any other Python and on 3.12+. wheel comes from Debian's {@code
 * python3-wheel-whl} ({@code .ci/run} installs it), which is unpatched; Debian's pip wheel is the
 * fallback when the bundle has no pip.
 */
public final class PythonBuildTools {
  /** Where Debian keeps the wheels its {@code venv} installs. */
  public static final Path DEBIAN_WHEELS = Path.of("/usr/share/python-wheels");

  private PythonBuildTools() {}

  /**
   * Copies the pip, setuptools and wheel wheels into {@code directory}.
   *
   * @throws DebianPackageNotInstalledException naming the package to install when wheel is missing
   * @throws IllegalStateException when the machine's python3 bundles no upstream setuptools
   */
  public static List<Path> copyTo(Path directory) {
    List<Path> copied = new ArrayList<>();
    try {
      Files.createDirectories(directory);
      Optional<Path> bundled = ensurepipBundle();
      Path pip =
          bundled
              .flatMap(dir -> newest(dir, "pip"))
              .or(() -> newest(DEBIAN_WHEELS, "pip"))
              .orElseThrow(
                  () ->
                      new DebianPackageNotInstalledException(
                          "python3-pip-whl", "no pip wheel in " + DEBIAN_WHEELS));
      Path setuptools =
          bundled
              .flatMap(dir -> newest(dir, "setuptools"))
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "the machine's python3 bundles no setuptools wheel for ensurepip"
                              + " (looked in "
                              + bundled.map(Path::toString).orElse("its ensurepip package")
                              + "); tests need an upstream setuptools wheel, which CPython"
                              + " 3.11 and older bundle"));
      Path wheel =
          newest(DEBIAN_WHEELS, "wheel")
              .orElseThrow(
                  () ->
                      new DebianPackageNotInstalledException(
                          "python3-wheel-whl", "no wheel wheel in " + DEBIAN_WHEELS));
      for (Path source : List.of(pip, setuptools, wheel)) {
        Path target = directory.resolve(source.getFileName());
        Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        copied.add(target);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not copy the build tools to " + directory, e);
    }
    return copied;
  }

  /** The {@code ensurepip/_bundled} directory of the machine's python3, when it has one. */
  private static Optional<Path> ensurepipBundle() throws IOException {
    Process process =
        new ProcessBuilder(
                "python3",
                "-I",
                "-c",
                "import ensurepip, os; print(os.path.join(os.path.dirname(ensurepip.__file__),"
                    + " '_bundled'))")
            .redirectErrorStream(true)
            .start();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return Optional.empty();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while asking python3 for its ensurepip bundle", e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    Path dir = Path.of(output.strip());
    return process.exitValue() == 0 && Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
  }

  private static Optional<Path> newest(Path directory, String project) {
    if (!Files.isDirectory(directory)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(directory)) {
      return files
          .filter(f -> f.getFileName().toString().startsWith(project + "-"))
          .filter(f -> f.getFileName().toString().endsWith(".whl"))
          .max(Path::compareTo);
    } catch (IOException e) {
      throw new UncheckedIOException("could not list " + directory, e);
    }
  }
}
