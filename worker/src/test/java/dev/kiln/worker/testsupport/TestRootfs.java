package dev.kiln.worker.testsupport;

import dev.kiln.worker.runtime.ImageRootfs;
import dev.kiln.worker.runtime.LocalRuntimeImage;
import dev.kiln.worker.runtime.RuntimeImage;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The real Debian bookworm runtime (Python 3.11.2) for sandbox tests: debootstrapped once per
 * machine, unpacked once per build directory.
 */
public final class TestRootfs {
  private static Path bookworm;

  private TestRootfs() {}

  public static synchronized Path bookworm() throws Exception {
    if (bookworm != null) {
      return bookworm;
    }
    RuntimeImage image =
        LocalRuntimeImage.forSuite("bookworm", Path.of("target", "kiln-runtimes").toAbsolutePath())
            .ensureAvailable();
    Path target = Path.of("target", "kiln-rootfs", "bookworm-" + image.glibc()).toAbsolutePath();
    if (!Files.isDirectory(target)) {
      ImageRootfs.withDefaults().unpack(image.tarball(), target, line -> {});
    }
    bookworm = target;
    return bookworm;
  }
}
