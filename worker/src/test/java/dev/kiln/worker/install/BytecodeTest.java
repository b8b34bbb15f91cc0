package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Digest;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.wheel.FragmentBytecode;
import dev.kiln.installer.wheel.WheelFragment;
import dev.kiln.installer.wheel.WheelFragments;
import dev.kiln.testkit.WheelBuilder;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxLimits;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.testsupport.TestRootfs;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bytecode compiled into a fragment by the bookworm runtime's own Python 3.11.2 in the real
 * sandbox: valid for the image's paths, and the same bytes every time.
 */
class BytecodeTest {
  @TempDir Path temp;

  private Path compiledFragment(Path wheel, String run) throws Exception {
    Path rootfs = TestRootfs.bookworm();
    WheelFragment fragment =
        new WheelFragments(TargetEnvironment.linuxX86_64("3.11.2", "2.36"))
            .unpack(wheel, Digest.compute(wheel), temp.resolve(run + "/unpack"));
    Path trees = Files.createDirectories(temp.resolve(run + "/compile"));
    FragmentBytecode.extractSources(fragment.tar(), trees.resolve("0"));
    List<String> output = new ArrayList<>();
    SandboxOutcome outcome =
        new SandboxPip(
                new Sandbox(Sandbox.Settings.defaults()),
                URI.create("http://127.0.0.1:9"),
                SandboxLimits.defaults())
            .compileAll(rootfs, trees, output::add);
    assertThat(outcome.succeeded()).as(String.join("\n", output)).isTrue();
    return FragmentBytecode.withBytecode(
            fragment.tar(), trees.resolve("0"), temp.resolve(run + "/out"))
        .tar();
  }

  @Test
  void theRuntimeCompilesTheSameBytecodeEveryTimeForTheImagesPaths() throws Exception {
    Path wheel =
        WheelBuilder.wheel("compiled-lib", "1.0")
            .module("compiled_lib/__init__.py", "from .core import answer\n")
            .module("compiled_lib/core.py", "def answer():\n    return {'x': 42, 'y': [1, 2]}\n")
            .module("compiled_lib/py2_only.py", "print 'python 2 leftovers'\n")
            .consoleScript("compiled-cli", "compiled_lib:answer")
            .writeTo(temp.resolve("wheels"));

    Path first = compiledFragment(wheel, "first");
    Path second = compiledFragment(wheel, "second");

    assertThat(Digest.compute(first)).isEqualTo(Digest.compute(second));
    Map<String, byte[]> entries = entries(first);
    assertThat(entries)
        .containsKeys(
            "compiled_lib/__pycache__/",
            "compiled_lib/__pycache__/__init__.cpython-311.pyc",
            "compiled_lib/__pycache__/core.cpython-311.pyc",
            "compiled_lib/core.py")
        .doesNotContainKey("compiled_lib/__pycache__/py2_only.cpython-311.pyc");
    assertThat(entries.keySet()).noneMatch(name -> name.startsWith("bin/__pycache__"));
    byte[] pyc = entries.get("compiled_lib/__pycache__/core.cpython-311.pyc");
    // PEP 552: flags word 1 = hash-based, unchecked (bit 1 clear).
    assertThat(pyc[4]).isEqualTo((byte) 1);
    assertThat(new String(pyc, StandardCharsets.ISO_8859_1))
        .contains("/opt/kiln/deps/compiled_lib/core.py")
        .doesNotContain(temp.toString());
    List<String> names = new ArrayList<>(entries.keySet());
    List<String> sorted = new ArrayList<>(names);
    sorted.sort(
        (a, b) ->
            java.util.Arrays.compareUnsigned(
                a.replaceAll("/$", "").getBytes(StandardCharsets.UTF_8),
                b.replaceAll("/$", "").getBytes(StandardCharsets.UTF_8)));
    assertThat(names).isEqualTo(sorted);
  }

  private static Map<String, byte[]> entries(Path tar) throws Exception {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(tar);
        TarArchiveInputStream archive = new TarArchiveInputStream(in)) {
      for (TarArchiveEntry entry; (entry = archive.getNextEntry()) != null; ) {
        entries.put(entry.getName(), entry.isFile() ? archive.readAllBytes() : new byte[0]);
      }
    }
    return entries;
  }
}
