package dev.kiln.worker.install;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.events.EventCodec;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns the {@code default} section of a {@code Pipfile.lock} into pinned pip requirements, so a
 * Pipenv app installs exactly what {@code pipenv install --deploy} would, with the same pip run as
 * a requirements.txt app (and no Pipenv process). Hashes are kept when every entry has them, which
 * puts pip in hash-checking mode.
 */
public final class PipfileLockRequirements {
  private static final Pattern PINNED = Pattern.compile("==\\s*[A-Za-z0-9._+!-]+");
  private static final Pattern HASH = Pattern.compile("sha256:[0-9a-f]{64}");

  /** The requirements file's lines, and whether every one of them carries hashes. */
  public record Converted(List<String> lines, boolean hashed) {}

  private PipfileLockRequirements() {}

  public static Converted convert(byte[] pipfileLock) throws StepFailure {
    JsonNode lock;
    try {
      lock = EventCodec.mapper().readTree(pipfileLock);
    } catch (IOException e) {
      throw new StepFailure(
          "pipfile-lock::invalid-json",
          "Pipfile.lock is not valid JSON ("
              + e.getMessage()
              + "); run `pipenv lock` and"
              + " commit the new Pipfile.lock");
    }
    JsonNode section = lock == null ? null : lock.get("default");
    if (section == null || !section.isObject()) {
      return new Converted(List.of(), false);
    }
    List<String> lines = new ArrayList<>();
    List<List<String>> hashes = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = section.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String name = entry.getKey();
      JsonNode spec = entry.getValue();
      String version = spec.path("version").asText("");
      if (!PINNED.matcher(version).matches()) {
        throw new StepFailure(
            InstallStep.PACKAGE_MANAGER_UNSUPPORTED,
            "Pipfile.lock pins '"
                + name
                + "' "
                + (version.isEmpty()
                    ? "without a version (a git, path or file dependency)"
                    : "as '" + version + "'")
                + "; Kiln installs Pipenv apps from exact `==` versions of wheels on the package"
                + " index. Publish the package to your index and depend on it by version, or use a"
                + " requirements.txt");
      }
      StringBuilder line = new StringBuilder(name);
      JsonNode extras = spec.path("extras");
      if (extras.isArray() && !extras.isEmpty()) {
        List<String> names = new ArrayList<>();
        extras.forEach(extra -> names.add(extra.asText()));
        line.append('[').append(String.join(",", names)).append(']');
      }
      line.append(version.replace(" ", ""));
      String markers = spec.path("markers").asText("");
      if (!markers.isBlank()) {
        line.append(" ; ").append(markers.strip());
      }
      List<String> entryHashes = new ArrayList<>();
      spec.path("hashes")
          .forEach(
              h -> {
                if (HASH.matcher(h.asText()).matches()) {
                  entryHashes.add(h.asText());
                }
              });
      lines.add(line.toString());
      hashes.add(entryHashes);
    }
    boolean everyEntryHashed = !lines.isEmpty() && hashes.stream().noneMatch(List::isEmpty);
    if (everyEntryHashed) {
      for (int i = 0; i < lines.size(); i++) {
        StringBuilder line = new StringBuilder(lines.get(i));
        for (String hash : hashes.get(i)) {
          line.append(" --hash=").append(hash);
        }
        lines.set(i, line.toString());
      }
    }
    return new Converted(List.copyOf(lines), everyEntryHashed);
  }
}
