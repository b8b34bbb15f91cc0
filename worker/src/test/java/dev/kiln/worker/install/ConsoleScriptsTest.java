package dev.kiln.worker.install;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleScriptsTest {
  @TempDir Path bin;

  @Test
  void pointsPythonShebangsAtEnvPython3AndKeepsTheBodyAndMode() throws Exception {
    Path script = bin.resolve("flask");
    Files.writeString(
        script,
        "#!/root/.pyenv/versions/3.11.7/bin/python3.11\n# -*- coding: utf-8 -*-\nimport sys\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));

    assertThat(ConsoleScripts.rewriteShebangs(bin)).isEqualTo(1);

    assertThat(Files.readString(script))
        .isEqualTo("#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\nimport sys\n");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(script)))
        .isEqualTo("rwxr-xr-x");
  }

  @Test
  void replacesTheShellTrampolinePipWritesForLongInterpreterPaths() throws Exception {
    Path script = bin.resolve("gunicorn");
    Files.writeString(
        script,
        "#!/bin/sh\n'''exec' /a/very/long/path/bin/python3 \"$0\" \"$@\"\n' '''\nimport re\n");

    ConsoleScripts.rewriteShebangs(bin);

    assertThat(Files.readString(script)).isEqualTo("#!/usr/bin/env python3\nimport re\n");
  }

  @Test
  void leavesShellScriptsAndBinariesAlone() throws Exception {
    Files.writeString(bin.resolve("activate"), "#!/bin/bash\necho hi\n");
    Files.write(bin.resolve("native"), new byte[] {0x7f, 'E', 'L', 'F'});

    assertThat(ConsoleScripts.rewriteShebangs(bin)).isZero();
    assertThat(Files.readString(bin.resolve("activate"))).isEqualTo("#!/bin/bash\necho hi\n");
  }
}
