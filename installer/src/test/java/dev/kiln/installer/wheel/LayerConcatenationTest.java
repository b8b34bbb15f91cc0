package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerConcatenationTest {
  private static final WheelFragments FRAGMENTS =
      new WheelFragments(TargetEnvironment.linuxX86_64("3.12.7", "2.36"));

  @TempDir Path work;

  @Test
  void layerIsTheFragmentsWithoutTheirEndMarkersAndOneAtTheEnd() throws Exception {
    Path one = fragment(RawWheel.of("one", "1.0").file("one/__init__.py", "A = 1\n"));
    Path two =
        fragment(
            RawWheel.of("two", "2.0")
                .file("two/" + "long_name_".repeat(12) + ".py", "B = 2\n")
                .file("two-2.0.data/scripts/two", "#!python\n"));

    ConcatenatedLayer layer =
        LayerConcatenation.concatenate(List.of(one, two), work.resolve("layer/deps.tar"));

    byte[] a = Files.readAllBytes(one);
    byte[] b = Files.readAllBytes(two);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.write(a, 0, a.length - 1024);
    expected.write(b, 0, b.length - 1024);
    expected.write(new byte[1024]);
    assertThat(Arrays.copyOfRange(a, a.length - 1024, a.length)).isEqualTo(new byte[1024]);
    assertThat(Files.readAllBytes(layer.tar())).isEqualTo(expected.toByteArray());
    assertThat(layer.sha256()).isEqualTo(Digest.compute(layer.tar()));
    assertThat(layer.size()).isEqualTo(expected.size());
    assertThat(layer.entries()).isEqualTo(Trees.list(one).size() + Trees.list(two).size());
    assertThat(layer.overlaps()).isEmpty();
    try (var left = Files.list(work.resolve("layer"))) {
      assertThat(left.toList()).containsExactly(work.resolve("layer/deps.tar"));
    }
  }

  @Test
  void sharedDirectoriesAreNotOverlapsButSharedFilesAreAndTheLaterWins() throws Exception {
    Path first =
        fragment(
            RawWheel.of("first", "1.0")
                .file("shared/__init__.py", "WHO = 'first'\n")
                .file("first-1.0.data/scripts/tool", "#!/bin/sh\necho first\n"));
    Path second =
        fragment(
            RawWheel.of("second", "1.0")
                .file("shared/__init__.py", "WHO = 'second'\n")
                .file("second-1.0.data/scripts/other", "#!/bin/sh\necho second\n"));

    ConcatenatedLayer layer =
        LayerConcatenation.concatenate(List.of(first, second), work.resolve("deps.tar"));
    Path extracted = work.resolve("extracted");
    Trees.extract(layer.tar(), extracted);

    assertThat(layer.overlaps())
        .containsExactly(new ConcatenatedLayer.Overlap("shared/__init__.py", 0, 1));
    assertThat(extracted.resolve("shared/__init__.py")).hasContent("WHO = 'second'");
    assertThat(extracted.resolve("bin/tool")).exists();
    assertThat(extracted.resolve("bin/other")).exists();
  }

  @Test
  void fileReplacingADirectoryIsAnOverlap() throws Exception {
    Path first = fragment(RawWheel.of("first", "1.0").file("thing/__init__.py", ""));
    Path second = fragment(RawWheel.of("second", "1.0").file("thing", "a file"));

    ConcatenatedLayer layer =
        LayerConcatenation.concatenate(List.of(first, second), work.resolve("deps.tar"));

    assertThat(layer.overlaps()).containsExactly(new ConcatenatedLayer.Overlap("thing", 0, 1));
  }

  @Test
  void noFragmentsIsAnEmptyLayer() throws Exception {
    ConcatenatedLayer layer = LayerConcatenation.concatenate(List.of(), work.resolve("deps.tar"));

    assertThat(Files.readAllBytes(layer.tar())).isEqualTo(new byte[1024]);
    assertThat(layer.entries()).isZero();
  }

  @Test
  void somethingThatIsNotAFragmentFailsAndLeavesNoLayer() throws Exception {
    Path good = fragment(RawWheel.of("one", "1.0").file("one.py", ""));
    Path garbage = work.resolve("garbage.tar");
    byte[] bytes = new byte[2048];
    Arrays.fill(bytes, 0, 512, (byte) 'x');
    Files.write(garbage, bytes);
    Path output = Files.createDirectories(work.resolve("out")).resolve("deps.tar");

    assertThatThrownBy(() -> LayerConcatenation.concatenate(List.of(good, garbage), output))
        .isInstanceOfSatisfying(
            InstallerException.class, e -> assertThat(e.code()).isEqualTo(Codes.INVALID_FRAGMENT))
        .hasMessageContaining("garbage.tar")
        .hasMessageContaining("checksum");
    try (var left = Files.list(work.resolve("out"))) {
      assertThat(left.toList()).isEmpty();
    }
  }

  @Test
  void dataAfterTheEndMarkerIsRefused() throws Exception {
    Path good = fragment(RawWheel.of("one", "1.0").file("one.py", ""));
    Path appended = work.resolve("appended.tar");
    byte[] bytes = Files.readAllBytes(good);
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 512);
    System.arraycopy("smuggled".getBytes(StandardCharsets.UTF_8), 0, longer, bytes.length, 8);
    Files.write(appended, longer);

    assertThatThrownBy(
            () -> LayerConcatenation.concatenate(List.of(appended), work.resolve("deps.tar")))
        .isInstanceOfSatisfying(
            InstallerException.class, e -> assertThat(e.code()).isEqualTo(Codes.INVALID_FRAGMENT))
        .hasMessageContaining("after its end-of-archive marker");
  }

  private Path fragment(RawWheel wheel) throws Exception {
    Path file = wheel.writeTo(work.resolve("wheels"));
    return FRAGMENTS.unpack(file, Digest.compute(file), work.resolve("fragments")).tar();
  }
}
