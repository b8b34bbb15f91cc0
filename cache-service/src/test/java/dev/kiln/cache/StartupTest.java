package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartupTest {
  @TempDir Path root;

  @Test
  void missingFileUpstreamFailsStartNamingTheDirectory() {
    Path missing = root.resolve("no-such-wheels");

    assertThatThrownBy(
            () ->
                RunningCacheService.start(
                    CacheServiceConfig.of(root.resolve("store"), missing.toUri().toString())))
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("not a directory");
  }

  @Test
  void storeRootThatIsAFileFailsStartSayingSo() throws Exception {
    Path file = Files.writeString(root.resolve("a-file"), "not a directory");

    assertThatThrownBy(
            () -> RunningCacheService.start(CacheServiceConfig.of(file, root.toUri().toString())))
        .hasMessageContaining("cannot open the store under " + file);
  }

  @Test
  void configRejectsUpstreamsItCannotProxy() {
    assertThatThrownBy(() -> CacheServiceConfig.of(root, "ftp://example.org/simple/"))
        .hasMessageContaining("must be http://, https:// or file://");
    assertThatThrownBy(() -> CacheServiceConfig.of(root, "https://pypi.org/simple").withPort(70000))
        .hasMessageContaining("port 70000 is out of range");
  }
}
