package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.events.Digest;
import dev.kiln.testkit.NltkDataTree;
import dev.kiln.testkit.StaticFileServer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NltkDataHttpTest {
  private static final String STOPWORDS = "/nltk/packages/corpora/stopwords.zip";
  private static final String STOPWORDS_UPSTREAM = "/packages/corpora/stopwords.zip";

  @TempDir Path root;
  @TempDir Path work;
  private NltkDataTree tree;
  private NltkDataTree.Package stopwords;
  private StaticFileServer upstream;
  private final List<RunningCacheService> services = new ArrayList<>();

  @BeforeEach
  void writeUpstream() {
    tree = NltkDataTree.in(work.resolve("nltk_data"));
    stopwords =
        tree.addPackage(
            "corpora", "stopwords", Map.of("english", "a\nan\nthe\n", "README", "Stopwords"));
    tree.addPackage("tokenizers", "punkt", Map.of("README", "Punkt Sentence Tokenizer"));
    tree.addCollection("book", "stopwords", "punkt");
    upstream = StaticFileServer.start(tree.root());
    // Absolute package URLs, as the public index has.
    tree.writeIndex(upstream.url(""));
  }

  @AfterEach
  void stopAll() throws Exception {
    for (RunningCacheService service : services) {
      service.close();
    }
    upstream.close();
  }

  // ---- the index

  @Test
  void indexIsRewrittenToRootRelativePackageUrlsAndKeepsCollections() {
    RunningCacheService service = startHttp();

    HttpResponse<String> index = service.get("/nltk/index.xml");

    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.headers().firstValue("Content-Type"))
        .contains("application/xml; charset=utf-8");
    assertThat(index.body())
        .contains("url=\"/nltk/packages/corpora/stopwords.zip\"")
        .contains("url=\"/nltk/packages/tokenizers/punkt.zip\"")
        .contains("checksum=\"" + stopwords.md5() + "\"")
        .contains("size=\"" + stopwords.size() + "\"")
        .contains("<collection id=\"book\"")
        .contains("<item ref=\"stopwords\"/>")
        .contains("<item ref=\"punkt\"/>")
        .doesNotContain(upstream.baseUrl());
  }

  @Test
  void headOnTheIndexAndAPackageSendsHeadersWithoutABody() {
    RunningCacheService service = startHttp();

    HttpResponse<String> index = service.head("/nltk/index.xml");
    HttpResponse<String> zip = service.head(STOPWORDS);

    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.body()).isEmpty();
    assertThat(zip.statusCode()).isEqualTo(200);
    assertThat(zip.headers().firstValue("Content-Length"))
        .contains(Long.toString(stopwords.size()));
    assertThat(zip.body()).isEmpty();
  }

  @Test
  void indexIsReusedWithinTheTtl() {
    RunningCacheService service = startHttp();

    service.get("/nltk/index.xml");
    service.get("/nltk/index.xml");
    service.getBytes(STOPWORDS);

    assertThat(upstream.requestCount("/index.xml")).isEqualTo(1);
  }

  @Test
  void indexFromAFileUpstreamWithRelativeUrlsIsServed() {
    tree.writeIndex();
    RunningCacheService service = start(config(tree.indexUrl()));

    HttpResponse<String> index = service.get("/nltk/index.xml");
    HttpResponse<byte[]> zip = service.getBytes(STOPWORDS);

    assertThat(index.body())
        .contains("url=\"/nltk/packages/corpora/stopwords.zip\"")
        .contains("<collection id=\"book\"")
        .doesNotContain("file:");
    assertThat(zip.statusCode()).isEqualTo(200);
    assertThat(zip.body()).isEqualTo(bytes(stopwords.zip()));
  }

  @Test
  void fileUpstreamNamedByItsDirectoryMeansItsIndexXml() {
    RunningCacheService service = start(config(tree.root().toUri().toString()));

    assertThat(service.get("/nltk/index.xml").body()).contains("stopwords");
  }

  @Test
  void upstreamDownIs502NamingTheUpstream() {
    String indexUrl = upstream.url("index.xml");
    upstream.close();
    RunningCacheService service = start(config(indexUrl));

    HttpResponse<String> index = service.get("/nltk/index.xml");

    assertThat(index.statusCode()).isEqualTo(502);
    assertThat(index.body()).contains(indexUrl).contains("unreachable");
  }

  @Test
  void storedIndexIsServedWhenTheUpstreamGoesDown() {
    RunningCacheService first = startHttp();
    assertThat(first.get("/nltk/index.xml").statusCode()).isEqualTo(200);
    stop(first);
    upstream.close();

    RunningCacheService restarted = startHttp();
    HttpResponse<String> index = restarted.get("/nltk/index.xml");

    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.body()).contains("url=\"/nltk/packages/corpora/stopwords.zip\"");
  }

  @Test
  void invalidUpstreamIndexIs502SayingWhy() {
    tree.writeIndexText("<html><body>429 Too Many Requests</body></html>");
    RunningCacheService service = startHttp();

    HttpResponse<String> index = service.get("/nltk/index.xml");

    assertThat(index.statusCode()).isEqualTo(502);
    assertThat(index.body())
        .contains("the NLTK data index " + upstream.url("index.xml"))
        .contains("is not a valid NLTK data index")
        .contains("<html>, not <nltk_data>");
  }

  @Test
  void upstreamIndexOverTheSizeBoundIsRefused() throws Exception {
    Path huge = tree.indexFile();
    Files.write(huge, new byte[NltkIndex.MAX_BYTES + 1]);
    RunningCacheService overHttp = startHttp();
    RunningCacheService overFile = start(config(tree.indexUrl()));

    HttpResponse<String> viaHttp = overHttp.get("/nltk/index.xml");
    HttpResponse<String> viaFile = overFile.get("/nltk/index.xml");

    assertThat(viaHttp.statusCode()).isEqualTo(502);
    assertThat(viaHttp.body()).contains("more than the " + NltkIndex.MAX_BYTES + " bytes");
    assertThat(viaFile.statusCode()).isEqualTo(502);
    assertThat(viaFile.body()).contains("more than the " + NltkIndex.MAX_BYTES);
  }

  // ---- packages

  @Test
  void secondRequestForAPackageIsServedFromTheStore() throws Exception {
    RunningCacheService service = startHttp();

    HttpResponse<byte[]> first = service.getBytes(STOPWORDS);
    HttpResponse<byte[]> second = service.getBytes(STOPWORDS);

    byte[] expected = bytes(stopwords.zip());
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(expected);
    assertThat(first.headers().firstValue("Content-Type")).contains("application/zip");
    assertThat(first.headers().firstValue("ETag"))
        .contains("\"" + Digest.compute(expected).hex() + "\"");
    assertThat(second.body()).isEqualTo(expected);
    assertThat(upstream.requestCount(STOPWORDS_UPSTREAM)).isEqualTo(1);
    // The same blob store as everything else.
    assertThat(service.getBytes("/cas/" + Digest.compute(expected).hex()).body())
        .isEqualTo(expected);
  }

  @Test
  void packageIsServedAfterRestartWithoutFetchingTheZipAgain() {
    RunningCacheService first = startHttp();
    assertThat(first.getBytes(STOPWORDS).statusCode()).isEqualTo(200);
    stop(first);

    RunningCacheService restarted = startHttp();
    HttpResponse<byte[]> again = restarted.getBytes(STOPWORDS);

    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(again.body()).isEqualTo(bytes(stopwords.zip()));
    assertThat(upstream.requestCount(STOPWORDS_UPSTREAM)).isEqualTo(1);
  }

  @Test
  void concurrentRequestsForAPackageShareOneUpstreamFetch() throws Exception {
    RunningCacheService service = startHttp();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Integer>> fetches = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        fetches.add(() -> service.getBytes(STOPWORDS).statusCode());
      }
      for (Future<Integer> fetch : pool.invokeAll(fetches)) {
        assertThat(fetch.get()).isEqualTo(200);
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(upstream.requestCount(STOPWORDS_UPSTREAM)).isEqualTo(1);
    assertThat(upstream.requestCount("/index.xml")).isEqualTo(1);
  }

  @Test
  void newUpstreamReleaseOfAPackageIsFetchedAgain() {
    RunningCacheService service =
        start(config(upstream.url("index.xml")).withProjectPageTtl(Duration.ZERO));
    assertThat(service.getBytes(STOPWORDS).statusCode()).isEqualTo(200);

    NltkDataTree.Package updated =
        tree.addPackage("corpora", "stopwords", Map.of("english", "a\nan\nthe\nof\n"));
    tree.writeIndex(upstream.url(""));
    HttpResponse<byte[]> again = service.getBytes(STOPWORDS);

    assertThat(again.body()).isEqualTo(bytes(updated.zip()));
    assertThat(upstream.requestCount(STOPWORDS_UPSTREAM)).isEqualTo(2);
  }

  @Test
  void unknownPackageIs404NamingItAndNltkTxt() {
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get("/nltk/packages/corpora/stopwordz.zip");

    assertThat(zip.statusCode()).isEqualTo(404);
    assertThat(zip.body())
        .contains(
            "NLTK package 'stopwordz' is not in the NLTK data index " + upstream.url("index.xml"))
        .contains("nltk.txt");
  }

  @Test
  void packageRequestedUnderAnotherSubdirIs404NamingTheRightPath() {
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get("/nltk/packages/tokenizers/stopwords.zip");

    assertThat(zip.statusCode()).isEqualTo(404);
    assertThat(zip.body()).contains("request " + STOPWORDS);
  }

  @Test
  void upstreamDownWhileFetchingAPackageIs502NamingItsUrl() {
    // The index is read from disk; the zips it names are on a server that has gone.
    String packageBase = upstream.url("");
    upstream.close();
    tree.writeIndex(packageBase);
    RunningCacheService service = start(config(tree.indexUrl()));

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body())
        .contains("unreachable")
        .contains(packageBase + "packages/corpora/stopwords.zip");
  }

  @Test
  void packageListedAtAMissingUrlIs502() throws Exception {
    Files.delete(stopwords.zip());
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body()).contains("404").contains(upstream.url("packages/corpora/stopwords.zip"));
  }

  // ---- attacks

  @Test
  void externalEntityInTheUpstreamIndexDoesNotLeakALocalFile() throws Exception {
    Path secret = Files.writeString(work.resolve("secret.txt"), "TOP-SECRET-TOKEN");
    tree.writeIndexText(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE nltk_data [<!ENTITY leak SYSTEM \""
            + secret.toUri()
            + "\">]>\n<nltk_data><packages><package id=\"stopwords\" name=\"&leak;\""
            + " subdir=\"corpora\" checksum=\""
            + stopwords.md5()
            + "\" size=\""
            + stopwords.size()
            + "\" url=\"packages/corpora/stopwords.zip\"/></packages>"
            + "<collections><collection id=\"c\" name=\"&leak;\"/></collections></nltk_data>");
    RunningCacheService service = startHttp();

    HttpResponse<String> index = service.get("/nltk/index.xml");
    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(index.statusCode()).isEqualTo(502);
    assertThat(index.body()).contains("DOCTYPE").doesNotContain("TOP-SECRET-TOKEN");
    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body()).doesNotContain("TOP-SECRET-TOKEN");
  }

  @Test
  void xincludeInTheUpstreamIndexDoesNotLeakALocalFile() throws Exception {
    Path secret = Files.writeString(work.resolve("secret.txt"), "TOP-SECRET-TOKEN");
    String hostile =
        tree.indexXml(upstream.url(""))
            .replace(
                "<collections>",
                "<collections><collection id=\"x\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                    + "<xi:include href=\""
                    + secret.toUri()
                    + "\" parse=\"text\"/></collection>");
    tree.writeIndexText(hostile);
    RunningCacheService service = startHttp();

    HttpResponse<String> index = service.get("/nltk/index.xml");

    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.body()).doesNotContain("TOP-SECRET-TOKEN");
  }

  @Test
  void httpIndexNamingALocalFileAsAPackageIsNotServedIt() throws Exception {
    Path secret = Files.writeString(work.resolve("secret.txt"), "TOP-SECRET-TOKEN");
    byte[] secretBytes = bytes(secret);
    tree.writeIndexText(
        tree.indexXml(upstream.url(""))
            .replace(upstream.url(STOPWORDS_UPSTREAM.substring(1)), secret.toUri().toString())
            .replace(stopwords.md5(), NltkDataTree.md5(secretBytes))
            .replace("size=\"" + stopwords.size() + "\"", "size=\"" + secretBytes.length + "\""));
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body())
        .contains("only a file:// index may name local files")
        .doesNotContain("TOP-SECRET-TOKEN");
    assertThat(service.get("/nltk/index.xml").body()).doesNotContain("stopwords.zip");
  }

  @Test
  void zipNotMatchingTheIndexMd5IsRefusedAndNotStored() throws Exception {
    byte[] original = bytes(stopwords.zip());
    byte[] tampered = original.clone();
    tampered[tampered.length / 2] ^= 0x5a;
    Files.write(stopwords.zip(), tampered);
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body())
        .contains("promises " + stopwords.size() + " bytes with md5 " + stopwords.md5())
        .contains("nothing was stored");
    assertOnlyTheIndexIsStored(service);
    assertThat(service.head("/cas/" + Digest.compute(tampered).hex()).statusCode()).isEqualTo(404);
  }

  @Test
  void zipOfAnotherLengthThanTheIndexSaysIsRefusedAndNotStored() throws Exception {
    Files.write(stopwords.zip(), "short".getBytes(StandardCharsets.UTF_8));
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body()).contains("as 5 bytes").contains("nothing was stored");
    assertOnlyTheIndexIsStored(service);
  }

  @Test
  void zipStreamedPastTheIndexedSizeIsCutOffAndNotStored() throws Exception {
    // Chunked: no Content-Length to refuse up front, so the service must stop reading itself.
    upstream.chunked(true);
    Files.write(stopwords.zip(), new byte[4 * 1024 * 1024]);
    RunningCacheService service = startHttp();

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body())
        .contains("sent more than the " + stopwords.size() + " bytes accepted for NLTK package")
        .contains("nothing was stored");
    assertOnlyTheIndexIsStored(service);
  }

  @Test
  void zipOverTheIndexedSizeFromAFileUpstreamIsRefusedAndNotStored() throws Exception {
    tree.writeIndex();
    Files.write(stopwords.zip(), new byte[1024 * 1024]);
    RunningCacheService service = start(config(tree.indexUrl()));

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body()).contains("as more than " + stopwords.size() + " bytes");
    assertOnlyTheIndexIsStored(service);
  }

  @Test
  void packageLargerThanTheLimitIsRefusedBeforeDownloading() {
    RunningCacheService service =
        start(config(upstream.url("index.xml")).withMaxNltkPackageBytes(stopwords.size() - 1));

    HttpResponse<String> zip = service.get(STOPWORDS);

    assertThat(zip.statusCode()).isEqualTo(502);
    assertThat(zip.body())
        .contains("NLTK package 'stopwords' is " + stopwords.size() + " bytes")
        .contains("more than the " + (stopwords.size() - 1) + " bytes")
        .contains("maxNltkPackageBytes");
    assertThat(upstream.requestCount(STOPWORDS_UPSTREAM)).isZero();
  }

  @Test
  void pathTraversalInSubdirOrIdIsRefused() throws Exception {
    Files.writeString(work.resolve("secret.zip"), "TOP-SECRET-TOKEN");
    RunningCacheService service = startHttp();

    List<String> attacks =
        List.of(
            "/nltk/packages/corpora/../../../secret.zip",
            "/nltk/packages/../../cas/" + "0".repeat(64),
            "/nltk/packages/%2e%2e/stopwords.zip",
            "/nltk/packages/corpora/%2E%2E.zip",
            "/nltk/packages/corpora/..%2F..%2Fsecret.zip",
            "/nltk/packages/corpora%2F..%2F..%2Fsecret/x.zip",
            "/nltk/packages/corpora/..%5C..%5Csecret.zip",
            "/nltk/packages/corpora/stop%00words.zip",
            "/nltk/packages/corpora/stop%0Awords.zip",
            "/nltk/packages/.hidden/stopwords.zip",
            "/nltk/packages/corpora/sub/stopwords.zip",
            "/nltk/packages/corpora/stopwords.tar");
    for (String attack : attacks) {
      HttpResponse<String> response = service.get(attack);
      assertThat(response.statusCode()).as(attack).isEqualTo(400);
      assertThat(response.body()).as(attack).doesNotContain("TOP-SECRET-TOKEN");
    }
    assertThat(upstream.requestCounts().keySet()).isSubsetOf("/index.xml");
  }

  @Test
  void otherMethodsAre405ListingTheNltkEndpoints() {
    RunningCacheService service = startHttp();

    HttpResponse<String> put = service.put("/nltk/index.xml", "<nltk_data/>");

    assertThat(put.statusCode()).isEqualTo(405);
    assertThat(put.body())
        .contains("GET|HEAD /nltk/index.xml")
        .contains("GET|HEAD /nltk/packages/{subdir}/{id}.zip");
  }

  @Test
  void healthNamesTheNltkDataIndex() {
    RunningCacheService service = startHttp();

    JsonObject health = new JsonObject(service.get("/health").body());

    assertThat(health.getString("nltkData")).isEqualTo(upstream.url("index.xml"));
  }

  // ---- helpers

  /** The store holds the upstream index (kept for outages) and nothing else. */
  private void assertOnlyTheIndexIsStored(RunningCacheService service) throws Exception {
    Path cas = root.resolve("cas/v1");
    Set<String> blobs;
    try (Stream<Path> files = Files.walk(cas)) {
      blobs =
          files
              .filter(Files::isRegularFile)
              .map(file -> cas.relativize(file).toString())
              .collect(Collectors.toSet());
    }
    Digest index = Digest.compute(bytes(tree.indexFile()));
    assertThat(blobs).containsExactly(index.hex().substring(0, 2) + "/" + index.hex());
  }

  private CacheServiceConfig config(String nltkDataUrl) {
    return CacheServiceConfig.of(root, work.toUri().toString()).withNltkDataUrl(nltkDataUrl);
  }

  private RunningCacheService startHttp() {
    return start(config(upstream.url("index.xml")));
  }

  private RunningCacheService start(CacheServiceConfig config) {
    RunningCacheService service = RunningCacheService.start(config);
    services.add(service);
    return service;
  }

  private void stop(RunningCacheService service) {
    try {
      service.close();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    services.remove(service);
  }

  private static byte[] bytes(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
