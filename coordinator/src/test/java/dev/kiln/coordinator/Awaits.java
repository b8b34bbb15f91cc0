package dev.kiln.coordinator;

import io.vertx.core.Future;
import java.util.concurrent.TimeUnit;

/** Bounded waits on Vert.x futures from a test thread. */
final class Awaits {
  static final long SECONDS = 90;

  private Awaits() {}

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (Exception e) {
      throw new AssertionError("future did not succeed within " + SECONDS + " s: " + e, e);
    }
  }
}
