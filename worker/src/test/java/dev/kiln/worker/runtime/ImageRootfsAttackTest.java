package dev.kiln.worker.runtime;

import static dev.kiln.worker.runtime.TestImageArchives.layer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.worker.runtime.ImageRootfsException.Code;
import dev.kiln.worker.runtime.TestImageArchives.Layer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Archives built to write outside the target. Each test fails if its attack works: the file system
 * outside the target (a directory with a canary file, and the target's own parent) must be exactly
 * as before, and the unpack must be refused, naming the archive, layer and entry.
 *
 * <p>The layout: {@code work/outside/canary}, and the target {@code work/images/rootfs}, unpacked
 * in {@code work/images/.rootfs.unpack-*}; so {@code ../../outside} from the tree's root is the
 * outside directory.
 */
class ImageRootfsAttackTest {

  @TempDir Path work;
  private Path outside;
  private Path archive;
  private Path target;
  private Path neighbour;

  @BeforeEach
  void layout() throws IOException {
    outside = Files.createDirectories(work.resolve("outside"));
    Files.writeString(outside.resolve("canary"), "original");
    archive = work.resolve("evil.tar");
    target = work.resolve("images/rootfs");
    neighbour = Files.createDirectories(work.resolve("images/other-image"));
    Files.writeString(neighbour.resolve("file"), "neighbour");
  }

  @AfterEach
  void nothingOutsideTheTargetChanged() throws IOException {
    assertThat(ImageRootfsTest.listing(outside)).containsExactly("canary");
    assertThat(outside.resolve("canary")).hasContent("original");
    assertThat(Files.getAttribute(outside.resolve("canary"), "unix:nlink")).isEqualTo(1);
    assertThat(ImageRootfsTest.listing(neighbour)).containsExactly("file");
    assertThat(neighbour.resolve("file")).hasContent("neighbour");
  }

  @Test
  void dotDotEntryIsRefused() throws Exception {
    assertRefused("../../outside/pwned", layer().file("../../outside/pwned", "pwned"));
    assertRefused(
        "etc/../../../outside/pwned", layer().file("etc/../../../outside/pwned", "pwned"));
  }

  @Test
  void absoluteEntryIsRefused() throws Exception {
    String absolute = outside.resolve("pwned").toString();
    assertRefused(absolute, layer().file(absolute, "pwned"));
  }

  @Test
  void writeThroughASymlinkToOutsideIsRefused() throws Exception {
    assertRefused(
        "evil/canary",
        layer().symlink("evil", outside.toString()).file("evil/canary", "overwritten"));
    assertRefused(
        "evil/pwned", layer().symlink("evil", "../../outside").file("evil/pwned", "pwned"));
  }

  @Test
  void writeThroughASymlinkFromALowerLayerIsRefused() throws Exception {
    assertRefused(
        "evil/sub/pwned",
        "layer 2 of 2",
        layer().symlink("evil", outside.toString()),
        layer().file("evil/sub/pwned", "pwned"));
  }

  @Test
  void writeThroughAChainOfSymlinksIsRefused() throws Exception {
    assertRefused(
        "a/pwned",
        layer().symlink("b", outside.toString()).symlink("a", "b").file("a/pwned", "pwned"));
  }

  @Test
  void directoryEntryThroughASymlinkIsRefused() throws Exception {
    assertRefused(
        "evil/newdir/", layer().symlink("evil", outside.toString()).directory("evil/newdir/"));
  }

  @Test
  void hardLinkToAPathOutsideTheTreeIsRefused() throws Exception {
    assertRefused("stolen", layer().hardLink("stolen", "../../outside/canary"));
    assertRefused("stolen", layer().hardLink("stolen", outside.resolve("canary").toString()));
  }

  @Test
  void hardLinkThroughASymlinkToOutsideIsRefused() throws Exception {
    // Had it worked, the second entry would have overwritten the canary through the link.
    assertRefused(
        "stolen",
        layer()
            .symlink("evil", outside.toString())
            .hardLink("stolen", "evil/canary")
            .file("stolen", "overwritten"));
  }

  @Test
  void hardLinkToAnEntryNotYetExtractedIsRefused() throws Exception {
    assertRefused("early", layer().hardLink("early", "later").file("later", "content"));
  }

  @Test
  void whiteoutNamedDotDotIsRefused() throws Exception {
    // ".wh..." would delete "..": the directory holding the tree, and the neighbour image in it.
    assertRefused(".wh...", layer().file("etc/hostname", "x").file(".wh...", ""));
    assertRefused("etc/.wh...", layer().file("etc/hostname", "x").file("etc/.wh...", ""));
    assertRefused("etc/.wh..", layer().file("etc/hostname", "x").file("etc/.wh..", ""));
  }

  @Test
  void whiteoutThroughASymlinkToOutsideIsRefused() throws Exception {
    assertRefused(
        "evil/.wh.canary",
        "layer 2 of 2",
        layer().symlink("evil", outside.toString()),
        layer().file("evil/.wh.canary", ""));
  }

  @Test
  void opaqueMarkerThroughASymlinkToOutsideIsRefused() throws Exception {
    assertRefused(
        "evil/.wh..wh..opq",
        "layer 2 of 2",
        layer().symlink("evil", outside.toString()),
        layer().file("evil/.wh..wh..opq", ""));
  }

  @Test
  void symlinkedMountPointParentIsRefused() throws Exception {
    // /opt/kiln/deps must be created inside the tree, not in the directory /opt points to.
    assertRefused("/opt/kiln/deps", "mount points", layer().symlink("opt", outside.toString()));
  }

  @Test
  void aSymlinkAtAMountPointIsReplacedNotFollowed() throws Exception {
    TestImageArchives.write(archive, layer().symlink("tmp", outside.toString()));

    ImageRootfs.withDefaults().unpack(archive, target, line -> {});

    assertThat(Files.isSymbolicLink(target.resolve("tmp"))).isFalse();
    assertThat(target.resolve("tmp")).isEmptyDirectory();
  }

  private void assertRefused(String entry, Layer layer) throws IOException {
    assertRefused(entry, "layer 1 of 1", layer);
  }

  private void assertRefused(String entry, String where, Layer... layers) throws IOException {
    TestImageArchives.write(archive, layers);

    assertThatThrownBy(() -> ImageRootfs.withDefaults().unpack(archive, target, line -> {}))
        .isInstanceOfSatisfying(
            ImageRootfsException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Code.UNSAFE_ENTRY);
              assertThat(e.getMessage())
                  .contains(archive.toString(), where, "entry '" + entry + "'");
              assertThat(e.entry()).hasValue(entry);
            });
    assertThat(Files.exists(target)).isFalse();
    try (var siblings = Files.list(target.getParent())) {
      assertThat(siblings.map(path -> path.getFileName().toString()).toList())
          .containsExactlyInAnyOrderElementsOf(List.of("other-image", ".rootfs.lock"));
    }
  }
}
