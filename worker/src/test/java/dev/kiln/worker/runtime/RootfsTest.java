package dev.kiln.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootfsTest {

  @TempDir Path rootfs;

  @Test
  void addsTheAppUserOnceWithHomeApp() throws IOException {
    writeAccountFiles();

    Rootfs.addAppUser(rootfs);
    Rootfs.addAppUser(rootfs);

    assertThat(Files.readAllLines(rootfs.resolve("etc/passwd")))
        .containsExactly("root:x:0:0:root:/root:/bin/bash", "app:x:1000:1000::/app:/bin/sh");
    assertThat(Files.readAllLines(rootfs.resolve("etc/group")))
        .containsExactly("root:x:0:", "app:x:1000:");
    assertThat(Files.readAllLines(rootfs.resolve("etc/shadow"))).endsWith("app:!:0:0:99999:7:::");
    assertThat(Files.readAllLines(rootfs.resolve("etc/gshadow"))).endsWith("app:!::");
    assertThat(rootfs.resolve("app")).isDirectory();
  }

  @Test
  void aRootfsWithoutAccountFilesIsRejectedByName() {
    assertThatThrownBy(() -> Rootfs.addAppUser(rootfs))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("etc/group is missing");
  }

  @Test
  void trimmingRemovesPackageListsArchivesManualsLogsAndDocsButKeepsCopyrights()
      throws IOException {
    touch("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages");
    Files.createDirectories(rootfs.resolve("var/lib/apt/lists/partial"));
    touch("var/cache/apt/archives/python3_3.11.2-1+b1_amd64.deb");
    touch("var/cache/apt/pkgcache.bin");
    touch("usr/share/man/man1/python3.1.gz");
    touch("usr/share/locale/de/LC_MESSAGES/dpkg.mo");
    touch("usr/share/locale/locale.alias");
    touch("usr/share/doc/python3/copyright");
    touch("usr/share/doc/python3/changelog.Debian.gz");
    touch("var/log/dpkg.log");
    Files.createFile(rootfs.resolve("var/log/wtmp"));
    touch("etc/hostname");
    touch("etc/resolv.conf");

    Rootfs.trim(rootfs);

    assertThat(rootfs.resolve("var/lib/apt/lists"))
        .isDirectoryContaining(path -> path.endsWith("partial"));
    assertThat(
            rootfs.resolve(
                "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"))
        .doesNotExist();
    assertThat(rootfs.resolve("var/cache/apt/archives/python3_3.11.2-1+b1_amd64.deb"))
        .doesNotExist();
    assertThat(rootfs.resolve("var/cache/apt/pkgcache.bin")).doesNotExist();
    assertThat(rootfs.resolve("usr/share/man")).isEmptyDirectory();
    assertThat(rootfs.resolve("usr/share/locale/de")).doesNotExist();
    assertThat(rootfs.resolve("usr/share/locale/locale.alias")).exists();
    assertThat(rootfs.resolve("usr/share/doc/python3/copyright")).exists();
    assertThat(rootfs.resolve("usr/share/doc/python3/changelog.Debian.gz")).doesNotExist();
    assertThat(rootfs.resolve("var/log/dpkg.log")).doesNotExist();
    assertThat(rootfs.resolve("var/log/wtmp")).exists();
    assertThat(rootfs.resolve("etc/hostname")).doesNotExist();
    assertThat(rootfs.resolve("etc/resolv.conf")).doesNotExist();
    assertThat(rootfs.resolve("etc/dpkg/dpkg.cfg.d/kiln-slim"))
        .content()
        .contains("path-exclude=/usr/share/doc/*");
  }

  @Test
  void removingATreeLeavesWhatItsSymlinksPointAt(@TempDir Path outside) throws IOException {
    Path precious = Files.writeString(outside.resolve("precious"), "keep me");
    Files.createDirectories(rootfs.resolve("tree/etc"));
    Files.createSymbolicLink(rootfs.resolve("tree/etc/link-to-file"), precious);
    Files.createSymbolicLink(rootfs.resolve("tree/link-to-dir"), outside);

    Rootfs.removeTree(rootfs.resolve("tree"));

    assertThat(rootfs.resolve("tree")).doesNotExist();
    assertThat(precious).hasContent("keep me");
  }

  private void writeAccountFiles() throws IOException {
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    Files.writeString(rootfs.resolve("etc/group"), "root:x:0:");
    Files.writeString(rootfs.resolve("etc/shadow"), "root:*:19000:0:99999:7:::\n");
    Files.writeString(rootfs.resolve("etc/gshadow"), "root:*::\n");
  }

  private void touch(String relative) throws IOException {
    Path file = rootfs.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, "content of " + relative);
  }
}
