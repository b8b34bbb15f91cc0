package dev.kiln.worker.assemble;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FileEntry;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.EventCodec;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The image's record of what was installed, at {@value #PATH}: the resolved set's digest, every
 * distribution with its version, file and sha256 (and, for an sdist, the wheel built from it), and
 * the app's local projects. SBOM tools can read it as well as the {@code .dist-info} directories;
 * the {@code dev.kiln.resolved-set} label names the same digest.
 */
final class InstallReport {
  static final String PATH = "/opt/kiln/install-report.json";

  private InstallReport() {}

  /** The report as JSON text, the same bytes for the same layer. */
  static String json(DependencyLayer layer) {
    ObjectNode root = EventCodec.mapper().createObjectNode();
    root.put("format", "kiln-install-report-v1");
    root.put("resolvedSet", layer.resolvedSet() == null ? null : layer.resolvedSet().toString());
    ArrayNode distributions = root.putArray("distributions");
    for (DependencyLayer.Distribution distribution : layer.resolved()) {
      ObjectNode entry = distributions.addObject();
      entry.put("name", distribution.name());
      entry.put("version", distribution.version());
      entry.put("filename", distribution.filename());
      entry.put("sha256", distribution.sha256().hex());
      if (distribution.builtWheel() != null) {
        entry.put("builtWheelSha256", distribution.builtWheel().hex());
      }
    }
    ArrayNode projects = root.putArray("localProjects");
    for (DependencyLayer.LocalProject project : layer.localProjects()) {
      projects.addObject().put("path", project.path()).put("editable", project.editable());
    }
    return root.toPrettyString() + "\n";
  }

  /** A layer with the report, written once per content under {@code directory}. */
  static FileEntriesLayer layer(Path directory, DependencyLayer layer) throws StepFailure {
    byte[] bytes = json(layer).getBytes(StandardCharsets.UTF_8);
    try {
      Files.createDirectories(directory);
      Path file = directory.resolve(Digest.compute(bytes).hex() + ".json");
      if (!Files.isRegularFile(file)) {
        Path temp = Files.createTempFile(directory, ".report-", ".tmp");
        Files.write(temp, bytes);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
      return FileEntriesLayer.builder()
          .setName("install-report")
          .addEntry(
              new FileEntry(
                  file,
                  AbsoluteUnixPath.get(PATH),
                  FilePermissions.fromOctalString("644"),
                  ImageLayers.FIXED_MTIME,
                  "0:0"))
          .build();
    } catch (IOException e) {
      throw new StepFailure(
          AssembleStep.FAILED,
          "Could not write the install report under " + directory + ": " + e.getMessage(),
          e);
    }
  }
}
