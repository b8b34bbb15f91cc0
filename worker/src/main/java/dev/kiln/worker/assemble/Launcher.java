package dev.kiln.worker.assemble;

import dev.kiln.events.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The image's entrypoint, {@code /opt/kiln/bin/launch}: a POSIX sh script that sets {@code
 * WEB_CONCURRENCY} from the container's memory and cores when it is not set, then runs the command.
 *
 * <p>Gunicorn and uvicorn read {@code WEB_CONCURRENCY}; the value is min(max(1, MB/256),
 * 2·cores+1), as Heroku's Python buildpack does. Memory comes from the cgroup limit (v2 {@code
 * memory.max}, v1 {@code memory.limit_in_bytes}) or, with no limit, {@code /proc/meminfo}; cores
 * from cgroup v2 {@code cpu.max} or v1 {@code cpu.cfs_quota_us}, else {@code nproc}.
 *
 * <p>With one argument (the image's {@code Cmd}, the app's run command) it runs that through {@code
 * /bin/sh -c}, so {@code $PORT} and friends expand as in a Procfile. With several (e.g. {@code
 * docker run IMAGE python manage.py migrate}) it runs them as they are.
 *
 * <p>{@code KILN_CGROUP_ROOT} and {@code KILN_MEMINFO} point the script at other files; they exist
 * for tests.
 */
final class Launcher {
  static final String SCRIPT =
      """
      #!/bin/sh
      # Kiln launcher: sets WEB_CONCURRENCY from this container's memory and cores, then runs
      # the command. See docs/images.md.
      cgroup="${KILN_CGROUP_ROOT:-/sys/fs/cgroup}"
      meminfo="${KILN_MEMINFO:-/proc/meminfo}"

      is_number() {
        case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac
      }

      memory_mb() {
        total_kb=""
        if [ -r "$meminfo" ]; then
          while read -r key value unit; do
            if [ "$key" = "MemTotal:" ]; then total_kb="$value"; break; fi
          done < "$meminfo"
        fi
        limit=""
        if [ -r "$cgroup/memory.max" ]; then
          read -r limit < "$cgroup/memory.max" || true
        elif [ -r "$cgroup/memory/memory.limit_in_bytes" ]; then
          read -r limit < "$cgroup/memory/memory.limit_in_bytes" || true
        fi
        mb=""
        if is_number "$total_kb"; then mb=$((total_kb / 1024)); fi
        # "max" (v2) or a huge number (v1) mean no limit: the host's memory counts.
        if is_number "$limit" && [ ${#limit} -lt 16 ]; then
          limit_mb=$((limit / 1048576))
          if [ -z "$mb" ] || [ "$limit_mb" -lt "$mb" ]; then mb="$limit_mb"; fi
        fi
        echo "${mb:-512}"
      }

      cores() {
        quota=""
        period=""
        if [ -r "$cgroup/cpu.max" ]; then
          read -r quota period < "$cgroup/cpu.max" || true
        elif [ -r "$cgroup/cpu/cpu.cfs_quota_us" ] && [ -r "$cgroup/cpu/cpu.cfs_period_us" ]; then
          read -r quota < "$cgroup/cpu/cpu.cfs_quota_us" || true
          read -r period < "$cgroup/cpu/cpu.cfs_period_us" || true
        fi
        if is_number "$quota" && is_number "$period" && [ "$period" -gt 0 ]; then
          n=$(((quota + period - 1) / period))
        else
          n=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
        fi
        if ! is_number "$n" || [ "$n" -lt 1 ]; then n=1; fi
        echo "$n"
      }

      if [ -z "${WEB_CONCURRENCY:-}" ]; then
        by_memory=$(($(memory_mb) / 256))
        if [ "$by_memory" -lt 1 ]; then by_memory=1; fi
        by_cores=$((2 * $(cores) + 1))
        if [ "$by_memory" -lt "$by_cores" ]; then
          WEB_CONCURRENCY="$by_memory"
        else
          WEB_CONCURRENCY="$by_cores"
        fi
        export WEB_CONCURRENCY
      fi

      case $# in
        0)
          echo "kiln launch: no command to run; the image's Cmd is the app's run command" >&2
          exit 64
          ;;
        1) exec /bin/sh -c "$1" ;;
        *) exec "$@" ;;
      esac
      """;

  private Launcher() {}

  /**
   * Writes the script once under {@code directory}, named by its content, with the fixed mtime; a
   * stable path and mtime keep jib's layer cache warm across builds.
   */
  static Path materialize(Path directory) throws IOException {
    byte[] content = SCRIPT.getBytes(StandardCharsets.UTF_8);
    Path script =
        directory.resolve(Digest.compute(content).hex().substring(0, 16)).resolve("launch");
    if (Files.isRegularFile(script, LinkOption.NOFOLLOW_LINKS)) {
      return script;
    }
    Files.createDirectories(script.getParent());
    Path temporary = Files.createTempFile(script.getParent(), ".launch.", ".tmp");
    try {
      Files.write(temporary, content);
      Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setLastModifiedTime(temporary, FileTime.from(ImageLayers.FIXED_MTIME));
      Files.move(temporary, script, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException e) {
      // Written by a concurrent build; same name, same bytes.
    } finally {
      Files.deleteIfExists(temporary);
    }
    return script;
  }
}
