package dev.kiln.worker.install;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * Makes pip's console scripts runnable in the image. pip writes the interpreter that ran it into
 * each script's shebang (e.g. {@code #!/root/.pyenv/versions/3.11.7/bin/python3.11}); that path
 * does not exist in the runtime image, so every Python shebang becomes {@value #SHEBANG}, which
 * finds the image's interpreter on {@code PATH}.
 */
public final class ConsoleScripts {
  public static final String SHEBANG = "#!/usr/bin/env python3";

  /*
   * For interpreter paths too long for a kernel shebang line, pip (distlib) writes a shell
   * trampoline instead:
   *   #!/bin/sh
   *   '''exec' /long/path/python "$0" "$@"
   *   ' '''
   */
  private static final String TRAMPOLINE_START = "#!/bin/sh\n'''exec' ";
  private static final String TRAMPOLINE_END = "\n' '''\n";

  private ConsoleScripts() {}

  /** Rewrites the scripts in {@code binDir} (if it exists); returns how many were changed. */
  public static int rewriteShebangs(Path binDir) throws IOException {
    if (!Files.isDirectory(binDir, LinkOption.NOFOLLOW_LINKS)) {
      return 0;
    }
    int changed = 0;
    try (Stream<Path> files = Files.list(binDir)) {
      for (Path file : files.sorted().toList()) {
        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && rewrite(file)) {
          changed++;
        }
      }
    }
    return changed;
  }

  private static boolean rewrite(Path script) throws IOException {
    byte[] content = Files.readAllBytes(script);
    if (content.length < 2 || content[0] != '#' || content[1] != '!') {
      return false;
    }
    int bodyStart;
    String head = new String(content, 0, Math.min(content.length, 4096), StandardCharsets.UTF_8);
    if (head.startsWith(TRAMPOLINE_START) && head.indexOf(TRAMPOLINE_END) > 0) {
      bodyStart =
          head.substring(0, head.indexOf(TRAMPOLINE_END) + TRAMPOLINE_END.length())
              .getBytes(StandardCharsets.UTF_8)
              .length;
    } else {
      int newline = indexOf(content, (byte) '\n');
      String firstLine =
          new String(content, 0, newline < 0 ? content.length : newline, StandardCharsets.UTF_8);
      if (!firstLine.contains("python") || firstLine.equals(SHEBANG)) {
        return false;
      }
      bodyStart = newline < 0 ? content.length : newline + 1;
    }
    byte[] shebang = (SHEBANG + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] rewritten = Arrays.copyOf(shebang, shebang.length + content.length - bodyStart);
    System.arraycopy(content, bodyStart, rewritten, shebang.length, content.length - bodyStart);
    // Writing in place keeps the file's mode (the executable bits pip set).
    Files.write(script, rewritten);
    return true;
  }

  private static int indexOf(byte[] content, byte value) {
    for (int i = 0; i < content.length; i++) {
      if (content[i] == value) {
        return i;
      }
    }
    return -1;
  }
}
