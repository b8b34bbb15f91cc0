package dev.kiln.worker.runtime;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The real runtime image for tests: built once per machine (debootstrap, about a minute) and then
 * reused from the machine-wide cache, so only the first test run on a fresh machine pays for it.
 */
final class TestRuntimeImages {

  private TestRuntimeImages() {}

  static RuntimeImage ensureAvailable(Consumer<String> progress) throws RuntimeImageException {
    return LocalRuntimeImage.forSuite("bookworm", Path.of("target", "kiln-runtimes"))
        .withProgress(progress)
        .ensureAvailable();
  }
}
