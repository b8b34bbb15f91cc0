package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.cache.TenantDirectory.IndexCredentials;
import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.events.Digest;
import dev.kiln.testkit.WheelBuilder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A tenant's private index behind HTTP Basic auth, proxied by a real cache-service. */
@Timeout(120)
class PrivateIndexProxyTest {
  private static final String PASSWORD = "pr1vate-index-pw";

  @TempDir Path root;
  @TempDir Path wheels;
  @TempDir Path work;
  @TempDir Path emptyUpstream;
  private BasicAuthIndexServer index;
  private RunningCacheService service;
  private final InMemoryTenantDirectory tenants = new InMemoryTenantDirectory();
  private Path wheel;

  @BeforeEach
  void startIndex() throws Exception {
    wheel =
        WheelBuilder.wheel("acme-lib", "2.0")
            .module("acme_lib/__init__.py", "SECRET_SAUCE = True\n")
            .writeTo(wheels);
    index = BasicAuthIndexServer.start(wheels, "deploy", PASSWORD);
    tenants.putIndex("acme", "private", new IndexCredentials(index.indexUrl(), "deploy", PASSWORD));
  }

  @AfterEach
  void stop() throws Exception {
    if (service != null) {
      service.close();
    }
    index.close();
  }

  @Test
  void pagesLinkTheTenantsFilesWhichAreFetchedOnceVerifiedAndStoredForTheTenant() throws Exception {
    start(config -> config);
    Digest sha = Digest.compute(wheel);

    HttpResponse<String> html = service.get("/tenants/acme/indexes/private/simple/acme-lib/");
    HttpResponse<String> json =
        service.get(
            "/tenants/acme/indexes/private/simple/acme-lib/",
            "Accept",
            "application/vnd.pypi.simple.v1+json");
    HttpResponse<String> list = service.get("/tenants/acme/indexes/private/simple/");

    String filePath = "/tenants/acme/files/" + sha.hex() + "/" + wheel.getFileName();
    assertThat(html.statusCode()).isEqualTo(200);
    assertThat(html.body()).contains("href=\"" + filePath + "#sha256=" + sha.hex() + "\"");
    assertThat(json.body()).contains("\"url\":\"" + filePath + "\"");
    assertThat(list.body()).contains("acme-lib/");
    assertThat(service.get("/tenants/acme/indexes/private/simple/Acme_Lib/").statusCode())
        .isEqualTo(301);

    CacheServiceClient client =
        new CacheServiceClient(service.baseUrl(), service.farmToken).forTenant("acme");
    assertThat(client.tenantIndexUrl("private"))
        .isEqualTo(service.baseUrl() + "/tenants/acme/indexes/private/simple/");
    Path first = work.resolve("first.whl");
    Path second = work.resolve("second.whl");
    assertThat(client.getTenantIndexFile(sha, wheel.getFileName().toString(), first)).isPresent();
    assertThat(client.getTenantIndexFile(sha, wheel.getFileName().toString(), second)).isPresent();

    assertThat(Files.readAllBytes(second)).isEqualTo(Files.readAllBytes(wheel));
    assertThat(fileRequests()).isEqualTo(1);
    assertThat(index.requests())
        .allSatisfy(seen -> assertThat(seen.authorization()).startsWith("Basic "));
    assertThat(
            Files.readString(
                root.resolve("readers/v1").resolve(sha.hex().substring(0, 2)).resolve(sha.hex())))
        .isEqualTo("tenant acme\n");

    // After a restart the file is served from the store, still for acme only.
    service.close();
    service = null;
    start(config -> config);
    assertThat(service.getBytes(filePath).body()).isEqualTo(Files.readAllBytes(wheel));
    assertThat(service.forTenant("bob").get("/cas/" + sha.hex()).statusCode()).isEqualTo(404);
    assertThat(fileRequests()).isEqualTo(1);
  }

  @Test
  void aFileWhoseBytesAreNotThePagesHashIsRefusedAndNotStored() throws Exception {
    start(config -> config);
    Digest promised = Digest.compute("other bytes".getBytes(StandardCharsets.UTF_8));
    index.servePage(
        "/simple/acme-lib/",
        ("<a href=\"/files/"
                + wheel.getFileName()
                + "#sha256="
                + promised.hex()
                + "\">"
                + wheel.getFileName()
                + "</a>")
            .getBytes(StandardCharsets.UTF_8));
    service.get("/tenants/acme/indexes/private/simple/acme-lib/");

    HttpResponse<String> file =
        service.get("/tenants/acme/files/" + promised.hex() + "/" + wheel.getFileName());

    assertThat(file.statusCode()).isEqualTo(502);
    assertThat(file.body())
        .contains("but its project page promises " + promised.hex())
        .doesNotContain(Digest.compute(wheel).hex());
    assertNothingStored();
  }

  @Test
  void pagesAndFilesOverTheLimitsAreRefusedWithoutReadingThemWhole() throws Exception {
    start(config -> config.withMaxIndexPageBytes(2048).withMaxBlobBytes(64));
    index.servePage(
        "/simple/huge/", "<a href=\"x\">x</a>\n".repeat(1000).getBytes(StandardCharsets.UTF_8));

    HttpResponse<String> page = service.get("/tenants/acme/indexes/private/simple/huge/");
    service.get("/tenants/acme/indexes/private/simple/acme-lib/");
    HttpResponse<String> file =
        service.get(
            "/tenants/acme/files/" + Digest.compute(wheel).hex() + "/" + wheel.getFileName());

    assertThat(page.statusCode()).isEqualTo(502);
    assertThat(page.body()).contains("more than the 2048 bytes");
    assertThat(file.statusCode()).isEqualTo(502);
    assertThat(file.body()).contains("more than the 64 bytes");
    assertNothingStored();
  }

  @Test
  void anUnknownIndexIs404NamingHowToConfigureIt() {
    start(config -> config);

    HttpResponse<String> page = service.get("/tenants/acme/indexes/other/simple/acme-lib/");

    assertThat(page.statusCode()).isEqualTo(404);
    assertThat(page.body())
        .contains("tenant 'acme' has no package index named 'other'")
        .contains("PUT /v1/tenants/acme/indexes/other");
  }

  private void start(UnaryOperator<CacheServiceConfig> configure) {
    service =
        RunningCacheService.start(
            configure.apply(
                CacheServiceConfig.of(root, emptyUpstream.toUri().toString())
                    .withTenantDirectory(tenants)));
  }

  private long fileRequests() {
    return index.requests().stream().filter(seen -> seen.path().startsWith("/files/")).count();
  }

  private void assertNothingStored() throws Exception {
    try (Stream<Path> entries = Files.list(root.resolve("cas/v1"))) {
      assertThat(entries).extracting(path -> path.getFileName().toString()).containsExactly("tmp");
    }
    try (Stream<Path> temps = Files.list(root.resolve("cas/v1/tmp"))) {
      assertThat(temps).isEmpty();
    }
  }
}
