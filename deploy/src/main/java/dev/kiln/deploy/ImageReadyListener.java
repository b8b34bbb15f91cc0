package dev.kiln.deploy;

import dev.kiln.events.ImageReady;

/** What a deployer does with a new image: roll it out, record it, notify someone. */
@FunctionalInterface
public interface ImageReadyListener {
  void imageReady(String eventId, ImageReady image) throws Exception;
}
