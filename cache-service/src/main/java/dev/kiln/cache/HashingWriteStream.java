package dev.kiln.cache;

import dev.kiln.events.Digest;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.streams.WriteStream;
import java.security.MessageDigest;

/**
 * Writes a stream to a file while hashing it, so a blob is read from the network exactly once.
 * Hashing a chunk is cheap enough for the event loop; the file writes stay asynchronous.
 */
final class HashingWriteStream implements WriteStream<Buffer> {
  private final AsyncFile file;
  private final MessageDigest sha256 = Digest.newSha256();
  private final long maxBytes;
  private final MessageDigest alsoHash;
  private long bytesWritten;
  // Set once a write went past the limit: the pipe then ends (closes) the file at once.
  private boolean overLimit;

  HashingWriteStream(AsyncFile file) {
    this(file, Long.MAX_VALUE, null);
  }

  /**
   * @param maxBytes a write that would take the stream past this many bytes fails with {@link
   *     TooLong} and writes nothing, which stops a pipe into this stream
   * @param alsoHash a second digest fed the same bytes (e.g. the MD5 an upstream promises), or null
   */
  HashingWriteStream(AsyncFile file, long maxBytes, MessageDigest alsoHash) {
    this.file = file;
    this.maxBytes = maxBytes;
    this.alsoHash = alsoHash;
  }

  /** The stream went past its limit. */
  static final class TooLong extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooLong(long maxBytes) {
      super("more than " + maxBytes + " bytes", null, false, false);
    }
  }

  @Override
  public Future<Void> write(Buffer data) {
    if (overLimit || data.length() > maxBytes - bytesWritten) {
      overLimit = true;
      return Future.failedFuture(new TooLong(maxBytes));
    }
    byte[] bytes = data.getBytes();
    sha256.update(bytes);
    if (alsoHash != null) {
      alsoHash.update(bytes);
    }
    bytesWritten += data.length();
    return file.write(data);
  }

  /** Ends the stream by closing the file. */
  @Override
  public Future<Void> end() {
    return file.end();
  }

  /** The digest of everything written; call once, after the stream ended. */
  Digest digest() {
    return Digest.fromSha256(sha256);
  }

  long bytesWritten() {
    return bytesWritten;
  }

  @Override
  public HashingWriteStream exceptionHandler(Handler<Throwable> handler) {
    file.exceptionHandler(handler);
    return this;
  }

  @Override
  public HashingWriteStream setWriteQueueMaxSize(int maxSize) {
    file.setWriteQueueMaxSize(maxSize);
    return this;
  }

  @Override
  public boolean writeQueueFull() {
    // A pipe asks right after a write, even one that failed and had it close the file.
    return !overLimit && file.writeQueueFull();
  }

  @Override
  public HashingWriteStream drainHandler(Handler<Void> handler) {
    file.drainHandler(handler);
    return this;
  }
}
