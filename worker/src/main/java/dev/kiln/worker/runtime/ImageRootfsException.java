package dev.kiln.worker.runtime;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Unpacking an image into a root file system failed; nothing was left at the target. The message
 * names the archive, and the layer and entry when one is to blame; {@link #code()} is stable for
 * callers that branch on the cause.
 */
public final class ImageRootfsException extends IOException {

  private static final long serialVersionUID = 1L;

  /** Why the image was not unpacked. */
  public enum Code {
    /**
     * An entry would have written outside the target or through a symlink (absolute path, {@code
     * ..}, a symlinked parent, a hard link to something outside or not yet extracted, a whiteout
     * naming {@code ..}). The archive is malformed or malicious.
     */
    UNSAFE_ENTRY,
    /** The image has more entries or bytes than the configured maxima. */
    LIMIT_EXCEEDED,
    /** Not a docker-save tarball of one image, or truncated, corrupted or of an unknown kind. */
    MALFORMED_ARCHIVE,
    /** The target already exists; it is never replaced. */
    TARGET_EXISTS,
    /** Reading the archive or writing the tree failed (disk full, permissions). */
    IO_FAILED,
    /** The thread was interrupted. */
    INTERRUPTED
  }

  private final Code code;
  private final transient Path archive;
  private final String layer;
  private final String entry;

  ImageRootfsException(
      Code code, Path archive, String layer, String entry, String reason, Throwable cause) {
    super(message(archive, layer, entry, reason), cause);
    this.code = code;
    this.archive = archive;
    this.layer = layer;
    this.entry = entry;
  }

  private static String message(Path archive, String layer, String entry, String reason) {
    StringBuilder message = new StringBuilder("Cannot unpack the image ").append(archive);
    if (layer != null) {
      message.append(", ").append(layer);
    }
    if (entry != null) {
      message.append(", entry '").append(entry).append('\'');
    }
    return message.append(": ").append(reason).toString();
  }

  public Code code() {
    return code;
  }

  /** The docker-save tarball being unpacked. */
  public Path archive() {
    return archive;
  }

  /** The layer being unpacked, e.g. {@code layer 2 of 3 (<name in the tarball>)}, if any. */
  public Optional<String> layer() {
    return Optional.ofNullable(layer);
  }

  /** The tar entry's name as stored in the layer (or a mount point's path), if any. */
  public Optional<String> entry() {
    return Optional.ofNullable(entry);
  }
}
