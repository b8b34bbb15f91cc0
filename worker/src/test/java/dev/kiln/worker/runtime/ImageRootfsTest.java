package dev.kiln.worker.runtime;

import static dev.kiln.worker.runtime.TestImageArchives.layer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import dev.kiln.events.Digest;
import dev.kiln.worker.runtime.ImageRootfs.MountPoint;
import dev.kiln.worker.runtime.ImageRootfsException.Code;
import dev.kiln.worker.runtime.TestImageArchives.Layer;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layer semantics, metadata, bounds and atomicity, on archives the tests build entry by entry. */
class ImageRootfsTest {

  @TempDir Path work;
  private Path archive;
  private Path target;
  private final List<String> progress = new ArrayList<>();

  @BeforeEach
  void paths() {
    archive = work.resolve("image.tar");
    target = work.resolve("rootfs/image");
  }

  @Test
  void unpacksFilesDirectoriesSymlinksAndHardLinksWithModesAndMtimes() throws Exception {
    TestImageArchives.write(
        archive,
        layer()
            .directory("usr/", 0755, 0, 0)
            .directory("usr/bin/", 0755, 0, 0)
            .file("usr/bin/python3.11", "#!interpreter\n", 0755, 0, 0)
            .symlink("usr/bin/python3", "python3.11")
            .hardLink("usr/bin/python", "usr/bin/python3.11")
            .symlink("etc/absolute", "/usr/bin/python3")
            .file("./etc/motd", "hello\n", 0444, 0, 0));

    ImageRootfs.Unpacked unpacked =
        ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(target.resolve("usr/bin/python3.11")).hasContent("#!interpreter");
    assertThat(mode(target.resolve("usr/bin/python3.11"))).isEqualTo(0755);
    assertThat(mode(target.resolve("etc/motd"))).isEqualTo(0444);
    assertThat(Files.readSymbolicLink(target.resolve("usr/bin/python3")))
        .isEqualTo(Path.of("python3.11"));
    assertThat(Files.readSymbolicLink(target.resolve("etc/absolute")))
        .isEqualTo(Path.of("/usr/bin/python3"));
    assertThat(Files.getAttribute(target.resolve("usr/bin/python"), "unix:ino"))
        .isEqualTo(Files.getAttribute(target.resolve("usr/bin/python3.11"), "unix:ino"));
    assertThat(Files.getLastModifiedTime(target.resolve("usr/bin/python3.11")))
        .isEqualTo(FileTime.from(TestImageArchives.MTIME));
    assertThat(
            Files.getLastModifiedTime(target.resolve("usr/bin/python3"), LinkOption.NOFOLLOW_LINKS))
        .isEqualTo(FileTime.from(TestImageArchives.MTIME));
    assertThat(Files.getLastModifiedTime(target.resolve("usr/bin")))
        .isEqualTo(FileTime.from(TestImageArchives.MTIME));
    assertThat(mode(target)).isEqualTo(0755);
    assertThat(unpacked.entries()).isEqualTo(7);
    assertThat(unpacked.bytes()).isEqualTo("#!interpreter\n".length() + "hello\n".length());
    assertThat(unpacked.skippedEntries()).isZero();
    assertThat(unpacked.configJson()).contains("\"diff_ids\"");
    assertThat(progress).anySatisfy(line -> assertThat(line).contains("layer 1 of 1"));
  }

  @Test
  void keepsNumericOwnersWhenRunningAsRoot() throws Exception {
    assumeTrue(LocalRuntimeImage.isRoot(), "only root can give files to other users");
    TestImageArchives.write(
        archive,
        layer()
            .directory("home/app/", 0700, 1000, 1000)
            .file("etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, 0, 42)
            .symlink("home/app/link", "../../etc/shadow"));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(owner(target.resolve("home/app"))).isEqualTo("1000:1000");
    assertThat(owner(target.resolve("etc/shadow"))).isEqualTo("0:42");
    assertThat(owner(target.resolve("home/app/link"))).isEqualTo("0:0");
    assertThat(mode(target.resolve("home/app"))).isEqualTo(0700);
  }

  @Test
  void dropsSetuidAndSetgidBitsButKeepsTheStickyBit() throws Exception {
    TestImageArchives.write(
        archive,
        layer()
            .file("usr/bin/passwd", "x", 04755, 0, 0)
            .file("usr/bin/chage", "x", 02755, 0, 42)
            .directory("var/mail/", 02775, 0, 8)
            .directory("var/tmp/", 01777, 0, 0));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(mode(target.resolve("usr/bin/passwd"))).isEqualTo(0755);
    assertThat(mode(target.resolve("usr/bin/chage"))).isEqualTo(0755);
    assertThat(mode(target.resolve("var/mail"))).isEqualTo(0775);
    assertThat(mode(target.resolve("var/tmp"))).isEqualTo(01777);
  }

  @Test
  void leavesOutDevicesAndFifosAndCountsThem() throws Exception {
    TestImageArchives.write(
        archive,
        layer().file("run/initctl", "a lower layer's file"),
        layer()
            .special("dev/null", TarConstants.LF_CHR)
            .special("dev/sda", TarConstants.LF_BLK)
            .special("run/initctl", TarConstants.LF_FIFO)
            .file("etc/hostname", "kiln\n"));

    ImageRootfs.Unpacked unpacked =
        ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(unpacked.skippedEntries()).isEqualTo(3);
    assertThat(target.resolve("dev/null")).doesNotExist();
    assertThat(target.resolve("dev/sda")).doesNotExist();
    assertThat(target.resolve("run/initctl")).doesNotExist();
    assertThat(target.resolve("etc/hostname")).exists();
    assertThat(progress)
        .anySatisfy(line -> assertThat(line).contains("Left out 3 device files", "dev/null"));
  }

  @Test
  void aWhiteoutDeletesAFileAndADirectoryTreeOfALowerLayer() throws Exception {
    TestImageArchives.write(
        archive,
        layer()
            .file("etc/old.conf", "old")
            .file("etc/kept.conf", "kept")
            .file("var/cache/pkg/a/b", "deep")
            .symlink("usr/lib/alias", "/etc"),
        layer().gzipped().file("etc/.wh.old.conf", "").file("var/cache/.wh.pkg", ""),
        layer().file("usr/lib/.wh.alias", ""));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(target.resolve("etc/old.conf")).doesNotExist();
    assertThat(target.resolve("etc/kept.conf")).hasContent("kept");
    assertThat(target.resolve("var/cache/pkg")).doesNotExist();
    assertThat(target.resolve("var/cache")).isDirectory();
    assertThat(Files.exists(target.resolve("usr/lib/alias"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    assertNoWhiteoutFiles();
  }

  @Test
  void anOpaqueDirectoryHidesWhatLowerLayersPutInItButKeepsItsOwnLayer() throws Exception {
    TestImageArchives.write(
        archive,
        layer()
            .file("srv/data/old", "lower")
            .file("srv/data/sub/older", "lower")
            .file("srv/data/sub/replaced", "lower")
            .file("srv/other", "lower"),
        layer()
            .directory("srv/data/")
            // Sorts before the marker: the marker must not remove what its own layer wrote.
            .file("srv/data/-early", "upper")
            .file("srv/data/.wh..wh..opq", "")
            .file("srv/data/new", "upper")
            .file("srv/data/sub/replaced", "upper"));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(listing(target.resolve("srv/data")))
        .containsExactlyInAnyOrder("-early", "new", "sub", "sub/replaced");
    assertThat(target.resolve("srv/data/sub/replaced")).hasContent("upper");
    assertThat(target.resolve("srv/other")).hasContent("lower");
    assertNoWhiteoutFiles();
  }

  @Test
  void aWhiteoutOnlyRemovesLowerLayersNotItsOwn() throws Exception {
    TestImageArchives.write(
        archive,
        layer().file("etc/app.conf", "lower").file("etc/dir/lower", "lower"),
        layer()
            .file("etc/app.conf", "upper")
            .file("etc/dir/upper", "upper")
            .file("etc/.wh.app.conf", "")
            .file("etc/.wh.dir", ""));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(target.resolve("etc/app.conf")).hasContent("upper");
    assertThat(listing(target.resolve("etc/dir"))).containsExactly("upper");
  }

  @Test
  void laterLayersReplaceADirectoryWithAFileAndAFileOrSymlinkWithADirectory() throws Exception {
    TestImageArchives.write(
        archive,
        layer()
            .file("opt/tool/bin/run", "lower")
            .file("opt/config", "lower")
            .symlink("opt/link", "/etc")
            .file("opt/hard", "lower")
            .hardLink("opt/hard2", "opt/hard"),
        layer()
            .file("opt/tool", "now a file")
            .directory("opt/config/")
            .file("opt/config/inner", "upper")
            .directory("opt/link/")
            .file("opt/link/inside", "upper")
            .file("opt/hard2", "replaced"));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(target.resolve("opt/tool")).isRegularFile().hasContent("now a file");
    assertThat(target.resolve("opt/config")).isDirectory();
    assertThat(target.resolve("opt/config/inner")).hasContent("upper");
    assertThat(Files.isSymbolicLink(target.resolve("opt/link"))).isFalse();
    assertThat(target.resolve("opt/link/inside")).hasContent("upper");
    // The new file replaces the hard link; it is not written through it.
    assertThat(target.resolve("opt/hard2")).hasContent("replaced");
    assertThat(target.resolve("opt/hard")).hasContent("lower");
  }

  @Test
  void fillsReadOnlyDirectoriesAndAppliesTheirModeAndMtimeLast() throws Exception {
    TestImageArchives.write(
        archive,
        layer().directory("usr/share/ro/", 0555, 0, 0).file("usr/share/ro/a", "a"),
        layer().file("usr/share/ro/b", "b"));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(listing(target.resolve("usr/share/ro"))).containsExactlyInAnyOrder("a", "b");
    assertThat(mode(target.resolve("usr/share/ro"))).isEqualTo(0555);
    assertThat(Files.getLastModifiedTime(target.resolve("usr/share/ro")))
        .isEqualTo(FileTime.from(TestImageArchives.MTIME));
  }

  @Test
  void createsTheMountPointsAsEmptyDirectoriesReplacingWhatTheImageHasThere() throws Exception {
    TestImageArchives.write(
        archive,
        layer()
            .directory("var/tmp/", 01777, 0, 0)
            .symlink("tmp", "/var/tmp")
            .directory("app/", 0700, 0, 0)
            .file("app/main.py", "print('baked in')"));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    for (MountPoint mountPoint : ImageRootfs.KILN_MOUNT_POINTS) {
      Path directory = target.resolve(mountPoint.path().substring(1));
      assertThat(Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)).isTrue();
      assertThat(listing(directory)).isEmpty();
      assertThat(mode(directory)).isEqualTo(mountPoint.mode());
    }
    assertThat(mode(target.resolve("tmp"))).isEqualTo(01777);
    assertThat(mode(target.resolve("opt/kiln"))).isEqualTo(0755);
  }

  @Test
  void createsOnlyTheMountPointsTheCallerAsksFor() throws Exception {
    TestImageArchives.write(archive, layer().file("etc/hostname", "kiln"));

    ImageRootfs.withDefaults()
        .withMountPoints(List.of(new MountPoint("/work", 0700)))
        .unpack(archive, target, progress::add);

    assertThat(listing(target)).containsExactlyInAnyOrder("etc", "etc/hostname", "work");
    assertThat(mode(target.resolve("work"))).isEqualTo(0700);
  }

  @Test
  void unpacksAnImageJibBuiltOnTopOfAnotherInDockerFormat() throws Exception {
    Path base =
        TestImageArchives.write(
            work.resolve("base.tar"),
            layer().gzipped().file("usr/bin/python3", "#!interpreter\n", 0755, 0, 0));
    Path source =
        Files.writeString(Files.createDirectories(work.resolve("src")).resolve("main.py"), "hi\n");
    Jib.from(TarImage.at(base).named("kiln/test-base:1"))
        .setFormat(ImageFormat.Docker)
        .addLayer(List.of(source), AbsoluteUnixPath.get("/srv/app"))
        .containerize(
            Containerizer.to(TarImage.at(archive).named("kiln/test-app:1"))
                .setBaseImageLayersCache(work.resolve("jib-base-cache"))
                .setApplicationLayersCache(work.resolve("jib-app-cache")));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(target.resolve("usr/bin/python3")).hasContent("#!interpreter");
    assertThat(target.resolve("srv/app/main.py")).hasContent("hi");
    assertThat(progress).anySatisfy(line -> assertThat(line).contains("layer 2 of 2"));
  }

  @Test
  void aTruncatedArchiveLeavesNoTargetAndNoTemporaryDirectory() throws Exception {
    StringBuilder big = new StringBuilder();
    for (int line = 0; line < 20_000; line++) {
      big.append("line ").append(line).append('\n');
    }
    TestImageArchives.write(
        archive,
        layer().file("etc/a", big.toString()).file("etc/b", big.toString()),
        layer().gzipped().file("etc/c", big.toString()));
    try (FileChannel file = FileChannel.open(archive, StandardOpenOption.WRITE)) {
      // Inside the first layer's data: the manifest at the end is gone too.
      file.truncate(big.length() + 3000);
    }

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> assertThat(e.code()).isEqualTo(Code.MALFORMED_ARCHIVE));

    assertNothingLeftBeside(target);
  }

  @Test
  void aLayerCutShortAtAnEntryBoundaryFailsItsDigestCheck() throws Exception {
    byte[] complete = layer().file("etc/a", "a").file("etc/b", "b").tar();
    byte[] cut = java.util.Arrays.copyOf(complete, 1024); // header and block of etc/a only
    TestImageArchives.writeRaw(
        archive, List.of(cut), List.of(Digest.compute(complete).toString()), null);

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Code.MALFORMED_ARCHIVE);
              assertThat(e.getMessage()).contains("layer 1 of 1", "digest");
            });
    assertNothingLeftBeside(target);
  }

  @Test
  void removesTheLeftoversOfAnInterruptedUnpackOnTheNextCall() throws Exception {
    Path leftover = target.resolveSibling(".image.unpack-12345");
    Files.createDirectories(leftover.resolve("usr/lib"));
    Files.writeString(leftover.resolve("usr/lib/half-written"), "x");
    Path otherImage = target.resolveSibling(".other.unpack-12345");
    Files.createDirectories(otherImage);
    TestImageArchives.write(archive, layer().file("etc/hostname", "kiln"));

    ImageRootfs.withDefaults().unpack(archive, target, progress::add);

    assertThat(leftover).doesNotExist();
    assertThat(otherImage).exists();
    assertThat(target.resolve("etc/hostname")).exists();
    assertThat(progress).anySatisfy(line -> assertThat(line).contains("interrupted unpack"));
  }

  @Test
  void neverReplacesAnExistingTarget() throws Exception {
    TestImageArchives.write(archive, layer().file("etc/hostname", "kiln"));
    Files.createDirectories(target);
    Files.writeString(target.resolve("in-use"), "x");

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class, e -> assertThat(e.code()).isEqualTo(Code.TARGET_EXISTS));
    assertThat(listing(target)).containsExactly("in-use");
  }

  @Test
  void concurrentUnpacksOfOneTargetGiveOneTreeAndTargetExistsForTheOthers() throws Exception {
    Layer big = layer();
    for (int file = 0; file < 300; file++) {
      big.file("usr/lib/file" + file, "content " + file);
    }
    TestImageArchives.write(archive, big);
    ImageRootfs unpacker = ImageRootfs.withDefaults();
    Files.createDirectories(target.getParent());
    Path alias = Files.createSymbolicLink(work.resolve("alias"), target.getParent());
    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<ImageRootfs.Unpacked>> calls = new ArrayList<>();
      for (int call = 0; call < 4; call++) {
        // Half through a symlinked parent: the lock is per directory, not per spelling.
        Path spelling = call % 2 == 0 ? target : alias.resolve("image");
        calls.add(threads.submit(() -> unpacker.unpack(archive, spelling, line -> {})));
      }
      int succeeded = 0;
      for (Future<ImageRootfs.Unpacked> call : calls) {
        try {
          assertThat(call.get(1, TimeUnit.MINUTES).entries()).isEqualTo(300);
          succeeded++;
        } catch (ExecutionException e) {
          assertThat(e.getCause())
              .isInstanceOfSatisfying(
                  ImageRootfsException.class,
                  refused -> assertThat(refused.code()).isEqualTo(Code.TARGET_EXISTS));
        }
      }
      assertThat(succeeded).isEqualTo(1);
    } finally {
      threads.shutdownNow();
    }
    assertThat(listing(target.resolve("usr/lib"))).hasSize(300);
    try (Stream<Path> siblings = Files.list(target.getParent())) {
      assertThat(siblings.map(path -> path.getFileName().toString()))
          .containsExactlyInAnyOrder("image", ".image.lock");
    }
  }

  @Test
  void refusesImagesWithMoreEntriesOrBytesThanTheLimits() throws Exception {
    TestImageArchives.write(
        archive, layer().file("a", "12345"), layer().file("b", "67890").file("c", "x"));

    assertThatThrownBy(
            () ->
                ImageRootfs.withDefaults().withMaxEntries(2).unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Code.LIMIT_EXCEEDED);
              assertThat(e.getMessage()).contains("layer 2 of 2", "entry 'c'", "more than 2");
            });
    assertThatThrownBy(
            () ->
                ImageRootfs.withDefaults().withMaxBytes(10).unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Code.LIMIT_EXCEEDED);
              assertThat(e.getMessage()).contains("entry 'c'", "more than 10 bytes");
            });
    assertNothingLeftBeside(target);

    ImageRootfs.withDefaults().withMaxEntries(3).withMaxBytes(11).unpack(archive, target, l -> {});
    assertThat(target.resolve("c")).exists();
  }

  @Test
  void refusesAnArchiveOfTwoImages() throws Exception {
    byte[] tar = layer().file("a", "a").tar();
    String image = "{\"Config\":\"config.json\",\"Layers\":[\"layer0/layer.tar\"]}";
    TestImageArchives.writeRaw(
        archive,
        List.of(tar),
        List.of(Digest.compute(tar).toString()),
        "[" + image + "," + image + "]");

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Code.MALFORMED_ARCHIVE);
              assertThat(e.getMessage()).contains("image.tar", "2 images");
            });
    assertNothingLeftBeside(target);
  }

  @Test
  void refusesAManifestNamingALayerTheTarballDoesNotHold() throws Exception {
    byte[] tar = layer().file("a", "a").tar();
    TestImageArchives.writeRaw(
        archive,
        List.of(tar),
        List.of(Digest.compute(tar).toString()),
        "[{\"Config\":\"config.json\",\"Layers\":[\"missing/layer.tar\"]}]");

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> assertThat(e.getMessage()).contains("missing/layer.tar", "does not hold"));
  }

  @Test
  void refusesAFileThatIsNotATarball() throws Exception {
    Files.writeString(archive, "not a tarball at all, just text that is long enough");

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, progress::add))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> assertThat(e.code()).isEqualTo(Code.MALFORMED_ARCHIVE));
    assertNothingLeftBeside(target);
  }

  private void assertNoWhiteoutFiles() throws IOException {
    assertThat(listing(target)).noneMatch(path -> path.contains(".wh."));
  }

  /** Only the lock file may stay beside a target that was not unpacked. */
  static void assertNothingLeftBeside(Path target) throws IOException {
    assertThat(Files.exists(target, LinkOption.NOFOLLOW_LINKS)).isFalse();
    try (Stream<Path> siblings = Files.list(target.getParent())) {
      assertThat(siblings.map(path -> path.getFileName().toString()))
          .allMatch(name -> name.equals("." + target.getFileName() + ".lock"));
    }
  }

  /** Relative paths of everything under {@code directory}, symlinks not followed. */
  static List<String> listing(Path directory) throws IOException {
    try (Stream<Path> walk = Files.walk(directory)) {
      return walk.filter(path -> !path.equals(directory))
          .map(path -> directory.relativize(path).toString())
          .toList();
    }
  }

  static int mode(Path path) throws IOException {
    return (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
  }

  static String owner(Path path) throws IOException {
    return Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)
        + ":"
        + Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS);
  }
}
