package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
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

  @Test
  void configDefaultsToThePublicNltkDataIndexAndKeepsTheFiveArgumentConstructor() {
    CacheServiceConfig config =
        new CacheServiceConfig(root, "https://pypi.org/simple/", "127.0.0.1", 0, null);

    assertThat(config.nltkDataUrl()).isEqualTo(CacheServiceConfig.PUBLIC_NLTK_DATA_INDEX);
    assertThat(config.maxNltkPackageBytes())
        .isEqualTo(CacheServiceConfig.DEFAULT_MAX_NLTK_PACKAGE_BYTES);
    assertThat(config.withPort(8790).withNltkDataUrl("file:///srv/nltk_data/").nltkDataUrl())
        .isEqualTo("file:///srv/nltk_data/index.xml");
    assertThat(config.withMaxNltkPackageBytes(1024).withPort(1).maxNltkPackageBytes())
        .isEqualTo(1024);
  }

  @Test
  void configRejectsNltkDataIndexesItCannotProxy() {
    CacheServiceConfig config = CacheServiceConfig.of(root, "https://pypi.org/simple/");

    assertThatThrownBy(() -> config.withNltkDataUrl("ftp://example.org/index.xml"))
        .hasMessageContaining("NLTK data index URL 'ftp://example.org/index.xml' must be");
    assertThatThrownBy(() -> config.withMaxNltkPackageBytes(-1))
        .hasMessageContaining("maxNltkPackageBytes -1 is negative");
  }
}
