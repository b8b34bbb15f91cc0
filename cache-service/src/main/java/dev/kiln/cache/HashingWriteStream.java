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
  private long bytesWritten;

  HashingWriteStream(AsyncFile file) {
    this.file = file;
  }

  @Override
  public Future<Void> write(Buffer data) {
    sha256.update(data.getBytes());
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
    return file.writeQueueFull();
  }

  @Override
  public HashingWriteStream drainHandler(Handler<Void> handler) {
    file.drainHandler(handler);
    return this;
  }
}
