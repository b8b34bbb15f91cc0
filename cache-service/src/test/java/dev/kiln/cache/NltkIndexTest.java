package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.cache.NltkIndex.NltkPackage;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NltkIndexTest {
  private static final URI HTTP_INDEX =
      URI.create("https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/index.xml");
  private static final String MD5 = "9c6ee3a65ac4d5aa2ba7ae4a3a7f9c3e";

  @TempDir Path dir;

  private static String index(String packages, String collections) {
    return "<?xml version=\"1.0\"?>\n"
        + "<?xml-stylesheet href=\"index.xsl\" type=\"text/xsl\"?>\n"
        + "<nltk_data>\n<packages>\n"
        + packages
        + "</packages>\n<collections>\n"
        + collections
        + "</collections>\n</nltk_data>\n";
  }

  private static String pkg(String id, String subdir, String url) {
    return "<package id=\""
        + id
        + "\" name=\"Stopwords Corpus\" subdir=\""
        + subdir
        + "\" unzip=\"1\" checksum=\""
        + MD5
        + "\" size=\"1234\" unzipped_size=\"5678\" url=\""
        + url
        + "\" languages=\"en\" />\n";
  }

  private static NltkIndex parse(String xml, URI indexUrl) {
    return NltkIndex.parse(xml.getBytes(StandardCharsets.UTF_8), indexUrl);
  }

  @Test
  void packageUrlsAreRewrittenToRootRelativeServicePaths() {
    NltkIndex parsed =
        parse(
            index(
                pkg(
                    "stopwords",
                    "corpora",
                    "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/stopwords.zip"),
                ""),
            HTTP_INDEX);

    assertThat(parsed.find("stopwords"))
        .contains(
            new NltkPackage(
                "stopwords",
                "corpora",
                URI.create(
                    "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/stopwords.zip"),
                MD5,
                1234));
    assertThat(parsed.rewritten())
        .contains("url=\"/nltk/packages/corpora/stopwords.zip\"")
        .doesNotContain("raw.githubusercontent.com");
  }

  @Test
  void relativePackageUrlsResolveAgainstTheIndexUrl() {
    NltkIndex parsed =
        parse(
            index(pkg("punkt", "tokenizers", "packages/tokenizers/punkt.zip"), ""),
            URI.create("http://mirror.example/nltk_data/index.xml"));

    assertThat(parsed.find("punkt").orElseThrow().url())
        .isEqualTo(URI.create("http://mirror.example/nltk_data/packages/tokenizers/punkt.zip"));
  }

  @Test
  void collectionsChecksumsAndOtherAttributesAreKept() {
    NltkIndex parsed =
        parse(
            index(
                pkg("stopwords", "corpora", "packages/corpora/stopwords.zip"),
                "<collection id=\"book\" name=\"Everything used in the NLTK Book\">"
                    + "<item ref=\"stopwords\" /><item ref=\"punkt\" /></collection>\n"),
            HTTP_INDEX);

    assertThat(parsed.collectionCount()).isEqualTo(1);
    assertThat(parsed.rewritten())
        .startsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .contains("<collection id=\"book\" name=\"Everything used in the NLTK Book\">")
        .contains("<item ref=\"stopwords\"/>")
        .contains("<item ref=\"punkt\"/>")
        .contains("checksum=\"" + MD5 + "\"")
        .contains("size=\"1234\"")
        .contains("unzipped_size=\"5678\"")
        .contains("unzip=\"1\"")
        .contains("languages=\"en\"")
        // The upstream's stylesheet is not served here.
        .doesNotContain("index.xsl");
  }

  @Test
  void externalEntityInTheIndexIsRefusedWithoutReadingTheFile() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret.txt"), "TOP-SECRET-TOKEN");
    String xxe =
        "<?xml version=\"1.0\"?>\n"
            + "<!DOCTYPE nltk_data [<!ENTITY leak SYSTEM \""
            + secret.toUri()
            + "\">]>\n"
            + "<nltk_data><packages>"
            + "<package id=\"stopwords\" name=\"&leak;\" subdir=\"corpora\" checksum=\""
            + MD5
            + "\" size=\"1\" url=\"x.zip\"/></packages></nltk_data>";

    assertThatThrownBy(() -> parse(xxe, HTTP_INDEX))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("DOCTYPE")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("TOP-SECRET-TOKEN"));
  }

  @Test
  void entityExpansionBombIsRefused() {
    String lol =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE nltk_data [<!ENTITY a \"aaaaaaaaaa\">"
            + "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
            + "<nltk_data><packages/><collections>&c;</collections></nltk_data>";

    assertThatThrownBy(() -> parse(lol, HTTP_INDEX)).hasMessageContaining("DOCTYPE");
  }

  @Test
  void xincludeInTheIndexIsNotProcessed() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret.txt"), "TOP-SECRET-TOKEN");
    String xinclude =
        index(
            pkg("stopwords", "corpora", "x.zip"),
            "<collection id=\"c\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                + "<xi:include href=\""
                + secret.toUri()
                + "\" parse=\"text\"/></collection>");

    NltkIndex parsed = parse(xinclude, HTTP_INDEX);

    assertThat(parsed.rewritten()).doesNotContain("TOP-SECRET-TOKEN");
  }

  @Test
  void textThatIsNotXmlIsRefusedSayingWhere() {
    assertThatThrownBy(() -> parse("<html><body>rate limited", HTTP_INDEX))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not well-formed XML")
        .hasMessageContaining("line 1");
  }

  @Test
  void otherRootElementIsRefused() {
    assertThatThrownBy(() -> parse("<rss version=\"2.0\"/>", HTTP_INDEX))
        .hasMessageContaining("root element is <rss>, not <nltk_data>");
  }

  @Test
  void indexOverTheSizeBoundIsRefused() {
    byte[] huge = new byte[NltkIndex.MAX_BYTES + 1];

    assertThatThrownBy(() -> NltkIndex.parse(huge, HTTP_INDEX))
        .hasMessageContaining("more than the " + NltkIndex.MAX_BYTES);
  }

  @Test
  void packagesThatCannotBeVerifiedOrAddressedAreLeftOutSayingWhy() {
    String packages =
        "<package id=\"nosum\" subdir=\"corpora\" size=\"1\" url=\"a.zip\"/>\n"
            + "<package id=\"nosize\" subdir=\"corpora\" checksum=\""
            + MD5
            + "\" url=\"a.zip\"/>\n"
            + pkg("..", "corpora", "a.zip")
            + pkg("evil", "../../etc", "a.zip")
            + pkg("local", "corpora", "file:///etc/passwd")
            + pkg("good", "corpora", "good.zip")
            + pkg("good", "other", "second-good.zip");

    NltkIndex parsed = parse(index(packages, ""), HTTP_INDEX);

    assertThat(parsed.packageCount()).isEqualTo(1);
    assertThat(parsed.find("good").orElseThrow().subdir()).isEqualTo("corpora");
    assertThat(parsed.whyLeftOut("nosum")).hasValueSatisfying(w -> assertThat(w).contains("MD5"));
    assertThat(parsed.whyLeftOut("nosize")).hasValueSatisfying(w -> assertThat(w).contains("size"));
    assertThat(parsed.whyLeftOut("..")).hasValueSatisfying(w -> assertThat(w).contains("id"));
    assertThat(parsed.whyLeftOut("evil")).hasValueSatisfying(w -> assertThat(w).contains("subdir"));
    assertThat(parsed.whyLeftOut("local"))
        .hasValueSatisfying(w -> assertThat(w).contains("only a file:// index may name local"));
    assertThat(parsed.rewritten())
        .doesNotContain("nosum")
        .doesNotContain("/etc")
        .doesNotContain("second-good");
  }

  @Test
  void fileIndexMayNameLocalPackages() {
    NltkIndex parsed =
        parse(
            index(pkg("stopwords", "corpora", "packages/corpora/stopwords.zip"), ""),
            URI.create("file:///srv/nltk_data/index.xml"));

    assertThat(parsed.find("stopwords").orElseThrow().url())
        .isEqualTo(URI.create("file:///srv/nltk_data/packages/corpora/stopwords.zip"));
  }

  @Test
  void plainNamesExcludeTraversalSlashesAndControlCharacters() {
    assertThat(NltkIndex.isPlainName("stopwords")).isTrue();
    assertThat(NltkIndex.isPlainName("omw-1.4")).isTrue();
    assertThat(NltkIndex.isPlainName("averaged_perceptron_tagger_eng")).isTrue();
    assertThat(NltkIndex.isPlainName("..")).isFalse();
    assertThat(NltkIndex.isPlainName(".hidden")).isFalse();
    assertThat(NltkIndex.isPlainName("a/b")).isFalse();
    assertThat(NltkIndex.isPlainName("a\\b")).isFalse();
    assertThat(NltkIndex.isPlainName("a\u0000b")).isFalse();
    assertThat(NltkIndex.isPlainName("a\nb")).isFalse();
    assertThat(NltkIndex.isPlainName("")).isFalse();
    assertThat(NltkIndex.isPlainName("x".repeat(129))).isFalse();
  }
}
