package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {
  @TempDir Path root;

  @Test
  void committedBlobLandsInVersionedShardedLayout() throws Exception {
    BlobStore store = new BlobStore(root);
    byte[] content = "hello".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(content);

    boolean created = commit(store, content, digest);

    assertThat(created).isTrue();
    Path expected =
        root.resolve("cas/v1").resolve(digest.hex().substring(0, 2)).resolve(digest.hex());
    assertThat(store.pathOf(digest)).isEqualTo(expected);
    assertThat(Files.readAllBytes(expected)).isEqualTo(content);
    assertThat(store.size(digest)).contains(5L);
  }

  @Test
  void hashMismatchStoresNothingAndLeavesNoTempFile() throws Exception {
    BlobStore store = new BlobStore(root);
    Digest claimed = Digest.compute("what the URL says".getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(() -> commit(store, "other bytes".getBytes(StandardCharsets.UTF_8), claimed))
        .isInstanceOf(CacheError.class)
        .hasMessageContaining("URL names " + claimed.hex())
        .hasMessageContaining("nothing was stored")
        .satisfies(error -> assertThat(((CacheError) error).httpStatus()).isEqualTo(400));
    assertThat(store.contains(claimed)).isFalse();
    assertThat(store.size(claimed)).isEmpty();
    try (var temps = Files.list(store.tempDir())) {
      assertThat(temps).isEmpty();
    }
  }

  @Test
  void committingAnExistingBlobSucceedsWithoutCreating() throws Exception {
    BlobStore store = new BlobStore(root);
    byte[] content = "twice".getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.compute(content);

    assertThat(commit(store, content, digest)).isTrue();
    assertThat(commit(store, content, digest)).isFalse();
    assertThat(Files.readAllBytes(store.pathOf(digest))).isEqualTo(content);
  }

  @Test
  void concurrentIdenticalCommitsCreateTheBlobExactlyOnce() throws Exception {
    BlobStore store = new BlobStore(root);
    byte[] content = new byte[256 * 1024];
    for (int i = 0; i < content.length; i++) {
      content[i] = (byte) (i * 31);
    }
    Digest digest = Digest.compute(content);
    int writers = 8;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      List<Callable<Boolean>> uploads = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        uploads.add(() -> commit(store, content, digest));
      }
      long created = 0;
      for (Future<Boolean> upload : pool.invokeAll(uploads)) {
        created += upload.get() ? 1 : 0;
      }
      assertThat(created).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
    assertThat(Digest.compute(store.pathOf(digest))).isEqualTo(digest);
    try (var temps = Files.list(store.tempDir())) {
      assertThat(temps).isEmpty();
    }
  }

  private static boolean commit(BlobStore store, byte[] content, Digest expected) throws Exception {
    Path temp = store.newTempFile();
    Files.write(temp, content);
    return store.commit(temp, expected, Digest.compute(content));
  }
}
