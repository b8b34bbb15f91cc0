package dev.kiln.deploy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.events.EventCodec;
import dev.kiln.events.ImageReady;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A listener that appends one JSON line per deployed image to a file: the smallest useful deployer,
 * and the template for one that calls a platform's API.
 */
public final class DeploymentLog implements ImageReadyListener {
  private final Path file;

  public DeploymentLog(Path file) {
    this.file = file;
  }

  @Override
  public synchronized void imageReady(String eventId, ImageReady image) throws IOException {
    ObjectNode line = EventCodec.mapper().createObjectNode();
    line.put("event", eventId);
    line.put("tenant", image.tenant());
    line.put("app", image.app());
    line.put("commit", image.commit());
    line.put("image", image.image());
    line.put("digest", image.digest().toString());
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(
        file,
        line + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }
}
