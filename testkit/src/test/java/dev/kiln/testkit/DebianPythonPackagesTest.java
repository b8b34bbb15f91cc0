package dev.kiln.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wheel-making rules, over a fake dpkg database and files in a temp directory. */
class DebianPythonPackagesTest {
  @TempDir Path root;

  private Path distPackages;
  private FakeDpkg dpkg;
  private DebianPythonPackages packages;

  @BeforeEach
  void setUp() throws IOException {
    distPackages = Files.createDirectories(root.resolve("usr/lib/python3/dist-packages"));
    dpkg = new FakeDpkg();
    packages = new DebianPythonPackages(dpkg, distPackages);
  }

  @Test
  void eggInfoPackageBecomesAWheelOfItsFilesWithMetadataFromPkgInfoRequiresTxtAndDepends()
      throws Exception {
    installDemo();

    WheelBuilder wheel = packages.wheel("python3-demo");
    Map<String, byte[]> entries = unzip(wheel.bytes());

    assertThat(wheel.filename()).isEqualTo("demo-1.0-py3-none-any.whl");
    assertThat(entries.keySet())
        .containsExactly(
            "demo/__init__.py",
            "demo/static/jquery.js",
            "demo/static/vendor/lib.js",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/WHEEL",
            "demo-1.0.dist-info/entry_points.txt",
            "demo-1.0.dist-info/RECORD");
    assertThat(text(entries, "demo/static/jquery.js")).isEqualTo("/*! jQuery */\n");
    assertThat(text(entries, "demo/static/vendor/lib.js")).isEqualTo("lib();\n");
    assertThat(text(entries, "demo-1.0.dist-info/METADATA"))
        .isEqualTo(
            "Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\nSummary: A demo\n"
                + "Provides-Extra: fast\n"
                + "Requires-Dist: helper>=1\n"
                + "Requires-Dist: speedy; extra == \"fast\"\n"
                + "Requires-Dist: backport; python_version < \"3.8\"\n"
                + "Requires-Dist: tuned; (sys_platform == \"linux\") and extra == \"fast\"\n"
                + "Requires-Dist: extra-dep\n"
                + "\nThe long description.\n");
    assertThat(text(entries, "demo-1.0.dist-info/WHEEL"))
        .contains("Root-Is-Purelib: true\nTag: py3-none-any\n");
    assertThat(text(entries, "demo-1.0.dist-info/entry_points.txt"))
        .isEqualTo("[console_scripts]\ndemo = demo.cli:main\n");
    assertRecordMatches(entries, "demo-1.0.dist-info/RECORD");
  }

  @Test
  void distInfoMetadataKeepsItsRequirementsAndGetsTheOnesDebianDependsOn() throws Exception {
    Path distInfo = Files.createDirectories(distPackages.resolve("tool-4.1.dist-info"));
    write(
        distInfo.resolve("METADATA"),
        "Metadata-Version: 2.1\nName: tool\nVersion: 4.1\n"
            + "Requires-Dist: colorama ; platform_system == \"Windows\"\n\nBody\n");
    write(distInfo.resolve("RECORD"), "debian's own record\n");
    write(distInfo.resolve("WHEEL"), "debian's own wheel\n");
    write(distPackages.resolve("tool/__init__.py"), "");
    installColorama();
    dpkg.install(
        "python3-tool",
        "python3-colorama, python3-helper",
        List.of(distInfo, distInfo.resolve("METADATA"), distInfo.resolve("RECORD")),
        List.of(distInfo.resolve("WHEEL"), distPackages.resolve("tool/__init__.py")));
    installHelper();

    Map<String, byte[]> entries = unzip(packages.wheel("python3-tool").bytes());

    assertThat(text(entries, "tool-4.1.dist-info/METADATA"))
        .isEqualTo(
            "Metadata-Version: 2.1\nName: tool\nVersion: 4.1\n"
                + "Requires-Dist: colorama ; platform_system == \"Windows\"\n"
                + "Requires-Dist: helper\n\nBody\n");
    assertThat(text(entries, "tool-4.1.dist-info/WHEEL")).startsWith("Wheel-Version: 1.0");
    assertRecordMatches(entries, "tool-4.1.dist-info/RECORD");
  }

  @Test
  void extensionModulesMakeAWheelForThatCpythonAndPlatform() throws Exception {
    byte[] elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, (byte) 0xff};
    Path egg = Files.createDirectories(distPackages.resolve("native-2022.10.31.egg-info"));
    write(egg.resolve("PKG-INFO"), "Metadata-Version: 2.1\nName: native\nVersion: 2022.10.31\n");
    Path module = distPackages.resolve("native/_native.cpython-311-x86_64-linux-gnu.so");
    Files.createDirectories(module.getParent());
    Files.write(module, elf);
    dpkg.install(
        "python3-native",
        "python3 (<< 3.12), python3 (>= 3.11~), python3:any, libc6 (>= 2.14)",
        List.of(egg, egg.resolve("PKG-INFO"), module.getParent(), module));

    WheelBuilder wheel = packages.wheel("python3-native");
    Map<String, byte[]> entries = unzip(wheel.bytes());

    assertThat(wheel.filename()).isEqualTo("native-2022.10.31-cp311-cp311-linux_x86_64.whl");
    assertThat(text(entries, "native-2022.10.31.dist-info/WHEEL"))
        .contains("Root-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n");
    assertThat(entries.get("native/_native.cpython-311-x86_64-linux-gnu.so")).isEqualTo(elf);
  }

  @Test
  void wheelsWithDependenciesWritesThePackageAndEveryPythonPackageItNeedsOnce() throws Exception {
    installDemo();
    Path wheels = root.resolve("wheels");

    List<Path> written = packages.wheelsWithDependencies("python3-demo", wheels);

    assertThat(written)
        .extracting(path -> path.getFileName().toString())
        .containsExactly(
            "demo-1.0-py3-none-any.whl",
            "helper-2.0-py3-none-any.whl",
            "extra_dep-0.5-py3-none-any.whl");
    try (var listing = Files.list(wheels)) {
      assertThat(listing).hasSize(3);
    }
  }

  @Test
  void theSameInstalledFilesGiveTheSameBytes() throws Exception {
    installDemo();

    byte[] first = packages.wheel("python3-demo").bytes();
    byte[] second = new DebianPythonPackages(dpkg, distPackages).wheel("python3-demo").bytes();

    assertThat(first).isEqualTo(second);
  }

  @Test
  void aPackageThatIsNotInstalledSaysWhichAptGetCommandInstallsIt() {
    assertThatThrownBy(() -> packages.wheelsWithDependencies("python3-django", root))
        .isInstanceOf(DebianPackageNotInstalledException.class)
        .hasMessageContaining("python3-django is not installed")
        .hasMessageContaining("apt-get install -y --no-install-recommends python3-django")
        .satisfies(
            e ->
                assertThat(((DebianPackageNotInstalledException) e).installCommand())
                    .isEqualTo("apt-get install -y --no-install-recommends python3-django"));
  }

  @Test
  void aPackageWithoutPythonMetadataIsRefusedWithTheReason() throws Exception {
    installPkgResources();

    assertThatThrownBy(() -> packages.wheel("python3-pkg-resources"))
        .hasMessageContaining("python3-pkg-resources ships no Python distribution");
  }

  @Test
  void nativeCodeWithoutAPythonVersionIsRefusedRatherThanTaggedWrongly() throws Exception {
    Path egg = Files.createDirectories(distPackages.resolve("stable-1.0.egg-info"));
    write(egg.resolve("PKG-INFO"), "Metadata-Version: 2.1\nName: stable\nVersion: 1.0\n");
    Path module = write(distPackages.resolve("stable/_rust.abi3.so"), "ELF");
    dpkg.install("python3-stable", "", List.of(egg, egg.resolve("PKG-INFO"), module));

    assertThatThrownBy(() -> packages.wheel("python3-stable"))
        .hasMessageContaining("stable/_rust.abi3.so")
        .hasMessageContaining("only *.cpython-3XY-<arch>-linux-gnu.so extension modules");
  }

  @Test
  void requiresTxtSectionsBecomeMarkers() {
    assertThat(
            DebianPythonPackages.fromRequiresTxt(
                "a>=1\n\n[x]\nb\n\n[:os_name == \"nt\"]\nc\n\n[y:python_version < \"3.8\"]\nd\n"))
        .containsExactly(
            "Provides-Extra: x",
            "Provides-Extra: y",
            "Requires-Dist: a>=1",
            "Requires-Dist: b; extra == \"x\"",
            "Requires-Dist: c; os_name == \"nt\"",
            "Requires-Dist: d; (python_version < \"3.8\") and extra == \"y\"");
  }

  /**
   * python3-demo: an egg-info package with a symlink into /usr/share/javascript, a symlinked
   * directory, a dangling symlink, bytecode and a script outside dist-packages.
   */
  private void installDemo() throws IOException {
    Path egg = Files.createDirectories(distPackages.resolve("Demo-1.0.egg-info"));
    write(
        egg.resolve("PKG-INFO"),
        "Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\nSummary: A demo\n"
            + "Provides-Extra: fast\n\nThe long description.\n");
    write(
        egg.resolve("requires.txt"),
        "helper>=1\n\n[fast]\nspeedy\n\n[:python_version < \"3.8\"]\nbackport\n\n"
            + "[fast:sys_platform == \"linux\"]\ntuned\n");
    write(egg.resolve("entry_points.txt"), "[console_scripts]\ndemo = demo.cli:main\n");
    write(egg.resolve("top_level.txt"), "demo\n");
    Path init = write(distPackages.resolve("demo/__init__.py"), "VERSION = '1.0'\n");
    Path bytecode =
        write(distPackages.resolve("demo/__pycache__/__init__.cpython-311.pyc"), "bytecode");
    Path jquery = write(root.resolve("usr/share/javascript/jquery/jquery.js"), "/*! jQuery */\n");
    write(root.resolve("usr/share/javascript/vendor/lib.js"), "lib();\n");
    Path static1 = Files.createDirectories(distPackages.resolve("demo/static"));
    Path jqueryLink = Files.createSymbolicLink(static1.resolve("jquery.js"), jquery);
    Path vendorLink =
        Files.createSymbolicLink(
            static1.resolve("vendor"), Path.of("../../../../../share/javascript/vendor"));
    Path dangling =
        Files.createSymbolicLink(
            static1.resolve("gone.js"), root.resolve("usr/share/javascript/gone/gone.js"));
    Path script = write(root.resolve("usr/bin/demo"), "#!/usr/bin/python3\n");
    dpkg.install(
        "python3-demo",
        "python3-helper, python3-extra-dep (>= 0.5), python3-typing-extensions | python3 (>> 3.8),"
            + " python3-pkg-resources, python3-virtual-abi1, python3:any, libc6 (>= 2.14), tzdata",
        List.of(
            root.resolve("usr"),
            distPackages,
            egg,
            egg.resolve("PKG-INFO"),
            egg.resolve("requires.txt"),
            egg.resolve("entry_points.txt"),
            egg.resolve("top_level.txt")),
        List.of(
            init.getParent(),
            init,
            bytecode.getParent(),
            bytecode,
            static1,
            jqueryLink,
            vendorLink,
            dangling,
            script));
    installHelper();
    Path extraEgg = Files.createDirectories(distPackages.resolve("extra_dep-0.5.egg-info"));
    write(extraEgg.resolve("PKG-INFO"), "Metadata-Version: 2.1\nName: extra-dep\nVersion: 0.5\n");
    Path extra = write(distPackages.resolve("extra_dep.py"), "");
    dpkg.install("python3-extra-dep", "python3-helper", List.of(extraEgg.resolve("PKG-INFO")));
    dpkg.files.get("python3-extra-dep").addAll(List.of(extraEgg, extra));
    installPkgResources();
  }

  private void installHelper() throws IOException {
    Path distInfo = Files.createDirectories(distPackages.resolve("helper-2.0.dist-info"));
    write(distInfo.resolve("METADATA"), "Metadata-Version: 2.1\nName: helper\nVersion: 2.0\n");
    Path module = write(distPackages.resolve("helper.py"), "HELP = 1\n");
    dpkg.install("python3-helper", "python3:any", List.of(distInfo, distInfo.resolve("METADATA")));
    dpkg.files.get("python3-helper").add(module);
  }

  private void installColorama() throws IOException {
    Path distInfo = Files.createDirectories(distPackages.resolve("colorama-0.4.6.dist-info"));
    write(distInfo.resolve("METADATA"), "Metadata-Version: 2.1\nName: colorama\nVersion: 0.4.6\n");
    dpkg.install(
        "python3-colorama", "python3:any", List.of(distInfo, distInfo.resolve("METADATA")));
  }

  private void installPkgResources() throws IOException {
    Path module = write(distPackages.resolve("pkg_resources/__init__.py"), "");
    dpkg.install("python3-pkg-resources", "python3:any", List.of(module.getParent(), module));
  }

  private static Path write(Path file, String content) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, content, StandardCharsets.UTF_8);
  }

  private static String text(Map<String, byte[]> entries, String name) {
    assertThat(entries).containsKey(name);
    return new String(entries.get(name), StandardCharsets.UTF_8);
  }

  private static void assertRecordMatches(Map<String, byte[]> entries, String record)
      throws Exception {
    List<String> recorded = new ArrayList<>();
    for (String line : text(entries, record).split("\n")) {
      String[] fields = line.split(",", -1);
      recorded.add(fields[0]);
      if (fields[0].equals(record)) {
        assertThat(fields[1]).isEmpty();
        continue;
      }
      byte[] content = entries.get(fields[0]);
      assertThat(content).as(fields[0]).isNotNull();
      String hash =
          Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(MessageDigest.getInstance("SHA-256").digest(content));
      assertThat(fields[1]).as(fields[0]).isEqualTo("sha256=" + hash);
      assertThat(fields[2]).as(fields[0]).isEqualTo(Integer.toString(content.length));
    }
    assertThat(recorded).containsExactlyInAnyOrderElementsOf(entries.keySet());
  }

  private static Map<String, byte[]> unzip(byte[] wheel) throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(wheel))) {
      for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
        entries.put(entry.getName(), zip.readAllBytes());
      }
    }
    return entries;
  }

  /** Installed packages: the paths each owns (as dpkg -L lists them) and its Depends. */
  private static final class FakeDpkg implements Dpkg {
    final Map<String, List<Path>> files = new HashMap<>();
    final Map<String, String> depends = new HashMap<>();

    @SafeVarargs
    final void install(String debianPackage, String dependsField, List<Path>... owned) {
      List<Path> all = new ArrayList<>();
      for (List<Path> paths : owned) {
        all.addAll(paths);
      }
      files.put(debianPackage, all);
      depends.put(debianPackage, dependsField);
    }

    @Override
    public boolean isInstalled(String debianPackage) {
      return files.containsKey(debianPackage);
    }

    @Override
    public List<Path> files(String debianPackage) {
      return files.get(debianPackage);
    }

    @Override
    public String depends(String debianPackage) {
      return depends.get(debianPackage);
    }
  }
}
