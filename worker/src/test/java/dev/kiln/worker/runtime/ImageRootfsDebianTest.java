package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real thing: Kiln's local Debian bookworm runtime (built by debootstrap on the first run on a
 * machine, cached afterwards) unpacked once, and then used as the root of a bubblewrap sandbox.
 */
class ImageRootfsDebianTest {

  @TempDir static Path work;
  private static Path rootfs;
  private static ImageRootfs.Unpacked unpacked;
  private static final List<String> progress = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void unpackTheRuntime() throws Exception {
    RuntimeImage image = TestRuntimeImages.ensureAvailable(line -> {});
    rootfs = work.resolve("rootfs/debian-bookworm-python3");
    unpacked = ImageRootfs.withDefaults().unpack(image.tarball(), rootfs, progress::add);
  }

  /** Removed here, without following its symlinks (JUnit would warn about each of them). */
  @AfterAll
  static void removeTheTree() throws Exception {
    Rootfs.removeTree(rootfs);
  }

  @Test
  void hasPythonTheAppUserAndTheMountPoints() throws Exception {
    assertThat(Files.readSymbolicLink(rootfs.resolve("usr/bin/python3")))
        .isEqualTo(Path.of("python3.11"));
    assertThat(rootfs.resolve("usr/bin/python3.11")).isRegularFile().isExecutable();
    // bookworm is usr-merged: /bin is a symlink, kept as one.
    assertThat(Files.readSymbolicLink(rootfs.resolve("bin"))).isEqualTo(Path.of("usr/bin"));
    assertThat(Files.readAllLines(rootfs.resolve("etc/passwd")))
        .contains("app:x:1000:1000::/app:/bin/sh");
    assertThat(rootfs.resolve("etc/ssl/certs/ca-certificates.crt")).isRegularFile();
    for (ImageRootfs.MountPoint mountPoint : ImageRootfs.KILN_MOUNT_POINTS) {
      assertThat(rootfs.resolve(mountPoint.path().substring(1))).isEmptyDirectory();
    }
    assertThat(ImageRootfsTest.mode(rootfs.resolve("tmp"))).isEqualTo(01777);
    assertThat(unpacked.configJson()).contains("PYTHON_VERSION=3.11");
    assertThat(unpacked.entries()).isGreaterThan(1000);
    assertThat(unpacked.bytes()).isGreaterThan(50L << 20);
    assertThat(progress).anySatisfy(line -> assertThat(line).contains("is ready at"));
  }

  @Test
  void keepsOwnersAndDropsSetuidAndSetgid() throws Exception {
    assumeTrue(LocalRuntimeImage.isRoot(), "owners are only kept when unpacking as root");
    assertThat(ImageRootfsTest.owner(rootfs.resolve("app"))).isEqualTo("1000:1000");
    assertThat(ImageRootfsTest.owner(rootfs.resolve("usr/bin/python3.11"))).isEqualTo("0:0");
    // shadow is gid 42 in Debian; /etc/shadow and the formerly set-group-id chage belong to it.
    assertThat(ImageRootfsTest.owner(rootfs.resolve("etc/shadow"))).isEqualTo("0:42");
    assertThat(ImageRootfsTest.owner(rootfs.resolve("usr/bin/chage"))).isEqualTo("0:42");
    assertThat(ImageRootfsTest.mode(rootfs.resolve("usr/bin/chage"))).isEqualTo(0755);
    try (Stream<Path> tree = Files.walk(rootfs)) {
      assertThat(tree.filter(ImageRootfsDebianTest::isSetuidOrSetgid)).isEmpty();
    }
  }

  @Test
  void runsPythonAsTheRootOfABubblewrapSandbox() throws Exception {
    Path bwrap = Path.of("/usr/bin/bwrap");
    assumeTrue(Files.isExecutable(bwrap), "bubblewrap is not installed");
    List<String> output = new ArrayList<>();

    Command.Outcome outcome =
        Command.run(
            List.of(
                bwrap.toString(),
                "--ro-bind",
                rootfs.toString(),
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
                "--unshare-all",
                "--die-with-parent",
                "/usr/bin/python3",
                "-c",
                "import ssl, sys; print(sys.version_info[:2], ssl.OPENSSL_VERSION)"),
            Map.of(),
            Duration.ofMinutes(1),
            output::add);

    assumeTrue(
        outcome.succeeded() || !outcome.tailText().contains("bwrap:"),
        "bubblewrap cannot create a sandbox here: " + outcome.tailText());
    assertThat(outcome.exitCode()).as(outcome.tailText()).isZero();
    assertThat(output).anySatisfy(line -> assertThat(line).startsWith("(3, 11) OpenSSL"));
  }

  private static boolean isSetuidOrSetgid(Path path) {
    try {
      int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & 06000) != 0;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
